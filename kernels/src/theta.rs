//! Theta layouts: the paper's parameter order and the kernel's (layout id 1).

use crate::{Activation, KernelError};

/// `c = -2 log2(e)`: a folded layer computes `c` times its tanh layer's pre-activation, so
/// that `2 / (1 + 2^(c a)) = 1 + tanh(a)` ([`Activation::TanhFolded`]).
pub const TANH_FOLD_SCALE: f32 = -2.0 * core::f32::consts::LOG2_E;

/// Rewrites one layer block (kernel layout, `[n_out, n_in + 1]`, bias first in each row) of a
/// tanh MLP for [`Activation::TanhFolded`], in place. The network computes the same function
/// after every layer is rewritten with [`fold_tanh_acts`]' flags:
///
/// - `input_folded` (the previous layer is folded, so this layer reads `h' = 1 + h`): `W h + b
///   = W h' + (b - sum_i W[o, i])`, so each bias becomes `b - sum_i W[o, i]` (summed in f64,
///   rounded once);
/// - `output_folded` (this layer's tanh becomes [`Activation::TanhFolded`]): the whole row is
///   multiplied by [`TANH_FOLD_SCALE`].
///
/// The outputs then differ from the unfolded network's by rounding: the rescaled weights and
/// the shifted biases are each rounded once more, and an activation `h'` in [0, 2] carries the
/// rounding of `1 + h`.
///
/// # Errors
/// [`KernelError::Length`] if `params.len() != n_out * (n_in + 1)` for some `n_out`.
pub fn fold_tanh(
    params: &mut [f32],
    n_in: usize,
    input_folded: bool,
    output_folded: bool,
) -> Result<(), KernelError> {
    let row = n_in + 1;
    if !params.len().is_multiple_of(row) {
        return Err(KernelError::Length {
            what: "params",
            expected: params.len() / row * row,
            found: params.len(),
        });
    }
    fold_rows(params, row, input_folded, output_folded);
    Ok(())
}

/// [`fold_tanh`]'s work on validated arguments (`params.len()` a multiple of `row = n_in +
/// 1`). Plain safe Rust, inlined: the x86 entries compile it for their instruction set (one
/// column of [`fold_tanh_lanes`]), where the four f64 partial sums are one register.
#[inline(always)]
fn fold_rows(params: &mut [f32], row: usize, input_folded: bool, output_folded: bool) {
    if input_folded {
        shift_biases(params, row);
    }
    // The scale in a second pass over the whole block: whole vectors, instead of a short
    // loop per row that re-read the bias just stored as a scalar (a failed store-to-load
    // forward each row).
    if output_folded {
        for v in params.iter_mut() {
            *v *= TANH_FOLD_SCALE;
        }
    }
}

/// `b_o -= sum_i W[o, i]` for every row of a block (`[n_out, row]`, bias first). Groups of
/// [`FOLD_ROWS`] rows: their sums are independent chains, interleaved here so they overlap
/// (row by row, each row's chain of dependent adds ran alone).
#[inline(always)]
fn shift_biases(params: &mut [f32], row: usize) {
    let mut groups = params.chunks_exact_mut(row * FOLD_ROWS);
    for g in &mut groups {
        let mut part = [[0.0f64; 4]; FOLD_ROWS];
        let quads = (row - 1) / 4;
        for q in 0..quads {
            for (j, p) in part.iter_mut().enumerate() {
                *p = add_quad(*p, &g[j * row + 1 + 4 * q..][..4]);
            }
        }
        for (j, p) in part.iter_mut().enumerate() {
            *p = add_quad(*p, &tail_quad(&g[j * row + 1 + 4 * quads..(j + 1) * row]));
        }
        for (r, p) in g.chunks_exact_mut(row).zip(&part) {
            shift_bias(r, p);
        }
    }
    for r in groups.into_remainder().chunks_exact_mut(row) {
        let mut part = [0.0f64; 4];
        let mut quads = r[1..].chunks_exact(4);
        for q in &mut quads {
            part = add_quad(part, q);
        }
        part = add_quad(part, &tail_quad(quads.remainder()));
        shift_bias(r, &part);
    }
}

/// Rows [`fold_rows`] sums at once.
const FOLD_ROWS: usize = 4;

/// The last, partial quad of a row's weights (fewer than 4), zero-padded: adding it is
/// adding the rest, as `p + 0.0 == p` exactly for a sum that starts at +0.0 (never -0.0).
#[inline(always)]
fn tail_quad(rest: &[f32]) -> [f32; 4] {
    let mut q = [0.0; 4];
    for (q, &r) in q.iter_mut().zip(rest) {
        *q = r;
    }
    q
}

/// Shifts row `r`'s bias by the sum of its weights (`part`: the four partial sums over
/// inputs `i mod 4`, added in a fixed order so every path gets the same bits).
#[inline(always)]
fn shift_bias(r: &mut [f32], part: &[f64; 4]) {
    let sum = (part[0] + part[1]) + (part[2] + part[3]);
    r[0] = (f64::from(r[0]) - sum) as f32;
}

/// `part + q` lane by lane in f64 (`q` has 4 entries): written as one array expression so the
/// compiler emits one widening convert and one vector add (an indexed loop left the four sums
/// on the stack in the AVX-512 entry, 2x slower than the baseline build).
#[inline(always)]
fn add_quad(part: [f64; 4], q: &[f32]) -> [f64; 4] {
    let q: &[f32; 4] = q.try_into().expect("a quad");
    [
        part[0] + f64::from(q[0]),
        part[1] + f64::from(q[1]),
        part[2] + f64::from(q[2]),
        part[3] + f64::from(q[3]),
    ]
}

/// [`fold_tanh`] on `n` layer blocks stored as columns: `params` is `[n_out * (n_in + 1), n]`
/// row-major (element `e` of block `j` at `params[e * n + j]`, as [`crate::gemm`] writes a
/// batch of thetas). Every column gets exactly [`fold_tanh`]'s operations in its order (the
/// four f64 partial sums over `i mod 4`), so the result is the same bits as [`fold_tanh`] on
/// each block; the work runs across columns in SIMD lanes (on the [`crate::active_path`]).
///
/// # Errors
/// [`KernelError::Length`] if `params.len()` is not a multiple of `(n_in + 1) * n`.
pub fn fold_tanh_lanes(
    params: &mut [f32],
    n_in: usize,
    n: usize,
    input_folded: bool,
    output_folded: bool,
) -> Result<(), KernelError> {
    let row = (n_in + 1).checked_mul(n).ok_or(KernelError::Overflow)?;
    if row == 0 || !params.len().is_multiple_of(row) {
        return Err(KernelError::Length {
            what: "params",
            expected: params.len() / row.max(1) * row,
            found: params.len(),
        });
    }
    let f = FoldLanes {
        n,
        input_folded,
        output_folded,
    };
    match crate::active_path() {
        crate::Path::Scalar | crate::Path::Portable => fold_lanes_impl(&f, params, row),
        #[cfg(target_arch = "x86_64")]
        crate::Path::Avx2 => crate::x86_64::avx2_fold_tanh_lanes(&f, params, row),
        #[cfg(target_arch = "x86_64")]
        crate::Path::Avx512 => crate::x86_64::avx512_fold_tanh_lanes(&f, params, row),
        #[cfg(not(target_arch = "x86_64"))]
        crate::Path::Avx2 | crate::Path::Avx512 => unreachable!("is_supported is false off x86-64"),
    }
    Ok(())
}

/// The flags of a validated [`fold_tanh_lanes`] call.
pub(crate) struct FoldLanes {
    pub(crate) n: usize,
    pub(crate) input_folded: bool,
    pub(crate) output_folded: bool,
}

/// Columns summed at once: the four partial sums of 16 columns are 8 f64 registers on
/// AVX-512 (16 on AVX2), kept in registers over the whole row.
const FOLD_COLS: usize = 16;

/// [`fold_tanh_lanes`] on validated arguments (`params.len()` a multiple of `row =
/// (n_in + 1) * n`). Plain safe Rust: the x86 entries compile it for their instruction set.
#[inline(always)]
pub(crate) fn fold_lanes_impl(f: &FoldLanes, params: &mut [f32], row: usize) {
    let n = f.n;
    if n == 1 {
        // One column is the plain layout: fold_tanh's loop (the same operations; on x86 in
        // the path's instruction set, ~2x faster than the baseline build's).
        return fold_rows(params, row, f.input_folded, f.output_folded);
    }
    for r in params.chunks_exact_mut(row) {
        let (b, w) = r.split_at_mut(n);
        if f.input_folded {
            for c0 in (0..n).step_by(FOLD_COLS) {
                let c = (n - c0).min(FOLD_COLS);
                // part[k] sums inputs i = k, k + 4, ... in order, as in `fold_tanh`.
                let mut part = [[0.0f64; FOLD_COLS]; 4];
                let mut quads = w.chunks_exact(4 * n);
                if c == FOLD_COLS {
                    part = full_chunk_sums(&mut quads, n, c0);
                } else {
                    for q in &mut quads {
                        for (k, pk) in part.iter_mut().enumerate() {
                            let src = &q[k * n + c0..][..c];
                            for (p, &v) in pk.iter_mut().zip(src) {
                                *p += f64::from(v);
                            }
                        }
                    }
                }
                for (k, wi) in quads.remainder().chunks_exact(n).enumerate() {
                    for (p, &v) in part[k].iter_mut().zip(&wi[c0..c0 + c]) {
                        *p += f64::from(v);
                    }
                }
                for (j, bv) in b[c0..c0 + c].iter_mut().enumerate() {
                    let sum = (part[0][j] + part[1][j]) + (part[2][j] + part[3][j]);
                    *bv = (f64::from(*bv) - sum) as f32;
                }
            }
        }
        // Row by row here, unlike `fold_rows`' one pass over the block: a layer block of 64
        // columns (107 KB for workload S) does not stay in L1, a row (5 KB) does; and the
        // biases were stored as whole vectors, which forward to the loads below.
        if f.output_folded {
            for v in r.iter_mut() {
                *v *= TANH_FOLD_SCALE;
            }
        }
    }
}

/// The four partial sums of [`fold_lanes_impl`] for the full chunk of columns `c0..c0 +
/// FOLD_COLS`, over every whole quad of inputs `quads` yields (`[4, n]` each; the remainder
/// is the caller's). Four named arrays with fixed trip counts, so the 64 sums stay in
/// registers: indexed `part[k]` in the general loop kept them on the stack, each add waiting
/// on the previous store (the fold was 12 % of workload B's batched generate).
#[inline(always)]
fn full_chunk_sums(
    quads: &mut core::slice::ChunksExact<'_, f32>,
    n: usize,
    c0: usize,
) -> [[f64; FOLD_COLS]; 4] {
    let (mut p0, mut p1, mut p2, mut p3) = (
        [0.0f64; FOLD_COLS],
        [0.0; FOLD_COLS],
        [0.0; FOLD_COLS],
        [0.0; FOLD_COLS],
    );
    let cols = |q: &[f32], k: usize| -> [f32; FOLD_COLS] {
        let src: &[f32; FOLD_COLS] = q[k * n + c0..][..FOLD_COLS]
            .try_into()
            .expect("a full chunk of columns");
        *src
    };
    for q in quads {
        let (a, b, c, d) = (cols(q, 0), cols(q, 1), cols(q, 2), cols(q, 3));
        for j in 0..FOLD_COLS {
            p0[j] += f64::from(a[j]);
            p1[j] += f64::from(b[j]);
            p2[j] += f64::from(c[j]);
            p3[j] += f64::from(d[j]);
        }
    }
    [p0, p1, p2, p3]
}

/// Which layers of a chain [`fold_tanh`] folds: every [`Activation::Tanh`] layer but the last
/// (the network's output stays `tanh`, only hidden activations change meaning). Writes the
/// activations the folded chain runs with into `acts` and returns whether any layer folds.
pub fn fold_tanh_acts(acts: &mut [Activation]) -> bool {
    let n = acts.len();
    let mut any = false;
    for a in acts.iter_mut().take(n.saturating_sub(1)) {
        if *a == Activation::Tanh {
            *a = Activation::TanhFolded;
            any = true;
        }
    }
    any
}

/// Parameter count of an MLP with layer sizes `[d_y, n_1, ..., d_out]`:
/// `sum over layers of n_out * (n_in + 1)`. 0 for fewer than two sizes; saturates at
/// `usize::MAX` on overflow (then [`theta_permutation`] reports [`KernelError::Overflow`]).
pub fn theta_len(layer_sizes: &[usize]) -> usize {
    checked_theta_len(layer_sizes).unwrap_or(usize::MAX)
}

fn checked_theta_len(layer_sizes: &[usize]) -> Option<usize> {
    layer_sizes.windows(2).try_fold(0usize, |acc, w| {
        let block = w[1].checked_mul(w[0].checked_add(1)?)?;
        acc.checked_add(block)
    })
}

/// Fills `perm` (length [`theta_len`]) so that `kernel[k] = paper[perm[k]]`.
///
/// Paper layout: layer by layer, weight `[out, in]` row-major, then bias `[out]`. Kernel
/// layout: layer by layer, for each output row `o`: `[b_o, W[o, 0], ..., W[o, in - 1]]`.
/// Each layer's block starts at the same offset in both layouts, so the permutation never
/// crosses layers.
///
/// # Errors
/// [`KernelError::NoLayers`] for fewer than two sizes, [`KernelError::Width`] for a zero size,
/// [`KernelError::Length`] if `perm` has the wrong length, [`KernelError::Overflow`] if the
/// count does not fit `u32`.
pub fn theta_permutation(layer_sizes: &[usize], perm: &mut [u32]) -> Result<(), KernelError> {
    if layer_sizes.len() < 2 {
        return Err(KernelError::NoLayers);
    }
    for (k, &s) in layer_sizes.iter().enumerate() {
        if s == 0 {
            let what = if k == 0 { "n_in" } else { "n_out" };
            return Err(KernelError::Width {
                layer: k.saturating_sub(1),
                what,
                found: 0,
                max: usize::MAX,
            });
        }
    }
    let total = checked_theta_len(layer_sizes).ok_or(KernelError::Overflow)?;
    if u32::try_from(total).is_err() {
        return Err(KernelError::Overflow);
    }
    if perm.len() != total {
        return Err(KernelError::Length {
            what: "perm",
            expected: total,
            found: perm.len(),
        });
    }
    let mut off = 0usize;
    for w in layer_sizes.windows(2) {
        let (n_in, n_out) = (w[0], w[1]);
        for o in 0..n_out {
            let row = off + o * (n_in + 1);
            perm[row] = (off + n_out * n_in + o) as u32;
            for i in 0..n_in {
                perm[row + 1 + i] = (off + o * n_in + i) as u32;
            }
        }
        off += n_out * (n_in + 1);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn theta_len_matches_hand_count() {
        // 2-20-20-20-1: 20*3 + 20*21 + 20*21 + 1*21
        assert_eq!(theta_len(&[2, 20, 20, 20, 1]), 60 + 420 + 420 + 21);
        assert_eq!(theta_len(&[3]), 0);
        assert_eq!(theta_len(&[]), 0);
        assert_eq!(theta_len(&[usize::MAX, 2]), usize::MAX);
    }

    #[test]
    fn permutation_small_example() {
        // sizes [2, 2, 1]: paper = W1(2x2) b1(2) W2(1x2) b2(1)
        //   paper idx: W1 00=0 01=1 10=2 11=3, b1 0=4 1=5, W2 00=6 01=7, b2=8
        // kernel: [b1_0, W1_00, W1_01, b1_1, W1_10, W1_11, b2, W2_00, W2_01]
        let mut p = [0u32; 9];
        theta_permutation(&[2, 2, 1], &mut p).unwrap();
        assert_eq!(p, [4, 0, 1, 5, 2, 3, 8, 6, 7]);
    }

    #[test]
    fn permutation_is_a_bijection_within_layers() {
        let sizes = [3, 7, 5, 1];
        let n = theta_len(&sizes);
        let mut p = [0u32; 128];
        theta_permutation(&sizes, &mut p[..n]).unwrap();
        let mut seen = [false; 128];
        for &v in &p[..n] {
            assert!(!seen[v as usize]);
            seen[v as usize] = true;
        }
        // Layer 1 occupies 0..28 in both layouts.
        assert!(p[..28].iter().all(|&v| v < 28));
    }

    #[test]
    fn permutation_errors() {
        let mut p = [0u32; 4];
        assert_eq!(theta_permutation(&[1], &mut p), Err(KernelError::NoLayers));
        assert!(matches!(
            theta_permutation(&[1, 0], &mut p),
            Err(KernelError::Width { .. })
        ));
        assert_eq!(
            theta_permutation(&[1, 1], &mut p),
            Err(KernelError::Length {
                what: "perm",
                expected: 2,
                found: 4
            })
        );
        assert_eq!(
            theta_permutation(&[1 << 20, 1 << 20], &mut p),
            Err(KernelError::Overflow)
        );
    }
}
