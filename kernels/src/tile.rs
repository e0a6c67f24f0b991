//! Target-MLP evaluation with points in SIMD lanes (see the crate docs, "Points in lanes").
//!
//! A tile is `T = 2 * S::LANES` points (two registers per row: 32 points on AVX-512, 16 on
//! AVX2 and portable). Its activations live in two scratch buffers `[width, T]` (row `i` =
//! input `i` of every point of the tile); each layer reads one and writes the other, `R`
//! output rows at a time (`2 R` independent accumulators hide the FMA latency; each broadcast
//! weight feeds two FMAs), with bias and activation applied before the store (tanh on two
//! rows = four registers at a time, step by step: `vector_math::tanh_n`, or `tanh_folded_n`
//! for [`Activation::TanhFolded`]). `R` is 8 on AVX-512 (4 on AVX2 and portable); widths
//! above 8 that are not a multiple of 8 are split into blocks of 4-8 rows of nearly equal
//! size instead.

use crate::simd::Simd;
use crate::vector_math::{activate, tanh_folded_n, tanh_n};
use crate::{Activation, Layer, MAX_TILE};

/// Registers per tile row.
const NV: usize = 2;

/// `K`: how [`rows_k`] applies the activation, fixed at compile time so each variant's
/// register allocation stays that of one activation (a run-time choice between the two tanh
/// forms inside one function made every tanh layer ~1.4x slower).
const OTHER: u8 = 0;
const TANH: u8 = 1;
const TANH_FOLDED: u8 = 2;

/// `tanh_n` (`K = TANH`) or `tanh_folded_n` (`K = TANH_FOLDED`) of `N` registers.
///
/// # Safety
/// The path of `s` is supported.
#[inline(always)]
unsafe fn tanh_k<S: Simd, const N: usize, const K: u8>(s: S, x: &mut [S::V; N]) {
    // SAFETY: forwarded contract.
    unsafe {
        if K == TANH {
            tanh_n(s, x);
        } else {
            tanh_folded_n(s, x);
        }
    }
}

/// [`rows_k`] with `K` chosen from `act`.
///
/// # Safety
/// As [`rows_k`].
#[inline(always)]
unsafe fn rows<S: Simd, const R: usize>(
    s: S,
    params: *const f32,
    n_in: usize,
    act: Activation,
    hin: *const f32,
    hout: *mut f32,
) {
    // SAFETY: forwarded contract.
    unsafe {
        match act {
            Activation::Tanh => rows_k::<S, R, TANH>(s, params, n_in, act, hin, hout),
            Activation::TanhFolded => rows_k::<S, R, TANH_FOLDED>(s, params, n_in, act, hin, hout),
            _ => rows_k::<S, R, OTHER>(s, params, n_in, act, hin, hout),
        }
    }
}

/// `R` output rows of one layer for one tile; `act` is applied as `K` says (`OTHER`: the
/// generic per-register [`activate`]).
///
/// # Safety
/// The path of `s` is supported. `params` points at row 0 of the block (`R` rows of
/// `n_in + 1` f32 each readable); `hin` holds `n_in * T` readable f32, `hout` `R * T`
/// writable f32 (`T = NV * LANES`).
#[inline(always)]
unsafe fn rows_k<S: Simd, const R: usize, const K: u8>(
    s: S,
    params: *const f32,
    n_in: usize,
    act: Activation,
    hin: *const f32,
    hout: *mut f32,
) {
    let l = S::LANES;
    let t = NV * l;
    let stride = n_in + 1;
    // SAFETY: offsets stay within the ranges the caller guarantees.
    unsafe {
        let mut acc = [[s.splat(0.0); NV]; R];
        for r in 0..R {
            let b = s.splat(*params.add(r * stride));
            acc[r] = [b; NV];
        }
        // One pointer per row, indexed by i: `[w_r + 4 i]` addressing, no per-step arithmetic.
        let w: [*const f32; R] = core::array::from_fn(|r| params.add(r * stride + 1));
        for i in 0..n_in {
            let h = hin.add(i * t);
            let hv: [S::V; NV] = core::array::from_fn(|v| s.load(h.add(v * l)));
            for r in 0..R {
                // acc = W[o, i] * h_i + acc: the reference's order, one rounding per step.
                let wv = s.splat(*w[r].add(i));
                for v in 0..NV {
                    acc[r][v] = s.fma(wv, hv[v], acc[r][v]);
                }
            }
        }
        if K != OTHER {
            for r in (0..R - 1).step_by(2) {
                let mut x = [acc[r][0], acc[r][1], acc[r + 1][0], acc[r + 1][1]];
                tanh_k::<S, 4, K>(s, &mut x);
                for (k, xv) in x.into_iter().enumerate() {
                    s.store(hout.add((r + k / NV) * t + (k % NV) * l), xv);
                }
            }
            if R % 2 == 1 {
                let mut x = acc[R - 1];
                tanh_k::<S, NV, K>(s, &mut x);
                for (v, xv) in x.into_iter().enumerate() {
                    s.store(hout.add((R - 1) * t + v * l), xv);
                }
            }
        } else {
            for r in 0..R {
                for v in 0..NV {
                    s.store(hout.add(r * t + v * l), activate(s, act, acc[r][v]));
                }
            }
        }
    }
}

/// One layer over one tile: `hout[o] = act(b_o + sum_i W[o, i] hin[i])`.
///
/// # Safety
/// The path of `s` is supported; `layer` is validated (params length); `hin.len() >=
/// n_in * T`, `hout.len() >= n_out * T`.
#[inline(always)]
unsafe fn layer_tile<S: Simd>(s: S, layer: &Layer<'_>, hin: &[f32], hout: &mut [f32]) {
    let t = NV * S::LANES;
    let (n_in, n_out) = (layer.n_in, layer.n_out);
    debug_assert!(hin.len() >= n_in * t && hout.len() >= n_out * t);
    debug_assert_eq!(layer.params.len(), n_out * (n_in + 1));
    let p = layer.params.as_ptr();
    let (hi, ho) = (hin.as_ptr(), hout.as_mut_ptr());
    let act = layer.act;
    let mut o = 0;
    // SAFETY: rows o..o+R exist (o + R <= n_out) and the buffers are long enough (above).
    unsafe {
        // 8 rows = 16 accumulators fit the 32 zmm registers; AVX2's 16 ymm take 4 rows.
        if S::REGISTERS >= 32 && n_out > 8 && !n_out.is_multiple_of(8) {
            // Blocks of 8 would leave 1-7 rows whose few accumulators barely hide the FMA
            // latency: spread the rows evenly over ceil(n_out / 8) blocks of 4-8 instead
            // (33 = 7+7+7+6+6, 20 = 7+7+6: 1-2 % faster than 8+8+4 at width 20 with the
            // folded tanh). Each row is still computed by the same steps, so the results are
            // the same bits.
            let blocks = n_out.div_ceil(8);
            for k in 0..blocks {
                let r = n_out / blocks + usize::from(k < n_out % blocks);
                let (pr, hr) = (p.add(o * (n_in + 1)), ho.add(o * t));
                match r {
                    4 => rows::<S, 4>(s, pr, n_in, act, hi, hr),
                    5 => rows::<S, 5>(s, pr, n_in, act, hi, hr),
                    6 => rows::<S, 6>(s, pr, n_in, act, hi, hr),
                    7 => rows::<S, 7>(s, pr, n_in, act, hi, hr),
                    _ => rows::<S, 8>(s, pr, n_in, act, hi, hr),
                }
                o += r;
            }
            debug_assert_eq!(o, n_out);
            return;
        }
        if S::REGISTERS >= 32 {
            while o + 8 <= n_out {
                rows::<S, 8>(s, p.add(o * (n_in + 1)), n_in, act, hi, ho.add(o * t));
                o += 8;
            }
        }
        while o + 4 <= n_out {
            rows::<S, 4>(s, p.add(o * (n_in + 1)), n_in, act, hi, ho.add(o * t));
            o += 4;
        }
        let (pr, hr) = (p.add(o * (n_in + 1)), ho.add(o * t));
        match n_out - o {
            0 => {}
            1 => rows::<S, 1>(s, pr, n_in, act, hi, hr),
            2 => rows::<S, 2>(s, pr, n_in, act, hi, hr),
            _ => rows::<S, 3>(s, pr, n_in, act, hi, hr),
        }
    }
}

/// Widest point dimension whose tiles are transposed one tile ahead into a stack buffer.
const SMALL_IN: usize = 4;

/// Transposes one tile's points `[m, d_in]` into rows `[d_in, t]` of `dst` (structure of
/// arrays), zero-padding lanes `m..t`.
#[inline(always)]
fn transpose_in(pts: &[f32], d_in: usize, t: usize, dst: &mut [f32]) {
    if pts.len() < d_in * t {
        dst[..d_in * t].fill(0.0);
    }
    for (lane, p) in pts.chunks_exact(d_in).enumerate() {
        for (i, &v) in p.iter().enumerate() {
            dst[i * t + lane] = v;
        }
    }
}

/// Layers `1..` of one tile (layer 0 already wrote `b`), then the `m` real outputs to `y`.
///
/// # Safety
/// As [`mlp_eval`]; `a` and `b` hold `widest * T` f32.
#[inline(always)]
unsafe fn finish_tile<S: Simd>(
    s: S,
    layers: &[Layer<'_>],
    a: &mut [f32],
    b: &mut [f32],
    y: &mut [f32],
) {
    let l = NV * S::LANES;
    let d_out = layers[layers.len() - 1].n_out;
    let m = y.len() / d_out;
    let (mut hin, mut hout) = (b, a);
    for layer in &layers[1..] {
        // SAFETY: both buffers hold widest * T f32; layers validated by the caller.
        unsafe { layer_tile(s, layer, hin, hout) };
        core::mem::swap(&mut hin, &mut hout);
    }
    // Transpose back; with one output the tile row is the output block itself.
    if d_out == 1 {
        y.copy_from_slice(&hin[..m]);
    } else {
        for (lane, yp) in y.chunks_exact_mut(d_out).enumerate() {
            for (o, v) in yp.iter_mut().enumerate() {
                *v = hin[o * l + lane];
            }
        }
    }
}

/// Evaluates the MLP for all points, tile by tile.
///
/// With `d_in <= SMALL_IN` (every d_y of the families), tile `j + 1` is transposed into a
/// stack buffer before tile `j` is evaluated: the vector loads of the first layer then never
/// wait for the scalar stores of the transposition to retire (a store-forwarding stall that
/// would otherwise serialize consecutive tiles).
///
/// # Safety
/// The path of `s` is supported and the arguments passed `mlp::validate_mlp` (chain, params
/// lengths, `points.len() = n * d_in`, `out.len() = n * d_out`,
/// `scratch.len() >= mlp_scratch_len(layers)`).
#[inline(always)]
pub(crate) unsafe fn mlp_eval<S: Simd>(
    s: S,
    layers: &[Layer<'_>],
    points: &[f32],
    out: &mut [f32],
    scratch: &mut [f32],
) {
    let l = NV * S::LANES;
    let d_in = layers[0].n_in;
    let d_out = layers[layers.len() - 1].n_out;
    let widest = layers
        .iter()
        .map(|k| k.n_in.max(k.n_out))
        .max()
        .unwrap_or(0);
    // Scratch holds MAX_TILE >= T points per row plus 16 f32: align the buffers to 64 bytes.
    let skip = scratch.as_ptr().align_offset(64).min(16);
    let (a, b) = scratch[skip..].split_at_mut(l * widest);
    let b = &mut b[..l * widest];
    let tiles = points.chunks(l * d_in).zip(out.chunks_mut(l * d_out));
    if d_in <= SMALL_IN {
        let mut x = [[0.0f32; SMALL_IN * MAX_TILE]; 2];
        transpose_in(&points[..(l * d_in).min(points.len())], d_in, l, &mut x[0]);
        for (j, (_, y)) in tiles.enumerate() {
            let (cur, next) = x.split_at_mut(1);
            let (cur, next) = if j % 2 == 0 {
                (&mut cur[0], &mut next[0])
            } else {
                (&mut next[0], &mut cur[0])
            };
            let start = (j + 1) * l * d_in;
            if start < points.len() {
                let end = (start + l * d_in).min(points.len());
                transpose_in(&points[start..end], d_in, l, next);
            }
            // SAFETY: `cur` holds d_in * T f32, `b` widest * T; layers validated by the caller.
            unsafe {
                layer_tile(s, &layers[0], cur, b);
                finish_tile(s, layers, a, b, y);
            }
        }
    } else {
        for (pts, y) in tiles {
            transpose_in(pts, d_in, l, a);
            // SAFETY: both buffers hold widest * T f32; layers validated by the caller.
            unsafe {
                layer_tile(s, &layers[0], a, b);
                finish_tile(s, layers, a, b, y);
            }
        }
    }
}
