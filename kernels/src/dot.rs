//! GEMV rows: `R` row dot products with one pass over `x`, weights widened in registers.

use half::{bf16, f16};

use crate::gemv::WeightData;
use crate::simd::Simd;
use crate::vector_math::activate_slice;
use crate::{Activation, MatRef};

/// A stored weight element type.
pub(crate) trait Elem: Copy {
    /// The element that widens to 0.0 (tail padding).
    const ZERO: Self;
    /// `LANES` elements from `p` as f32.
    ///
    /// # Safety
    /// As [`Simd::load`]: path supported, `LANES` elements readable at `p`.
    unsafe fn load<S: Simd>(s: S, p: *const Self) -> S::V;
}

impl Elem for f32 {
    const ZERO: Self = 0.0;
    #[inline(always)]
    unsafe fn load<S: Simd>(s: S, p: *const Self) -> S::V {
        // SAFETY: forwarded contract.
        unsafe { s.load(p) }
    }
}
impl Elem for f16 {
    const ZERO: Self = f16::ZERO;
    #[inline(always)]
    unsafe fn load<S: Simd>(s: S, p: *const Self) -> S::V {
        // SAFETY: forwarded contract.
        unsafe { s.load_f16(p) }
    }
}
impl Elem for bf16 {
    const ZERO: Self = bf16::ZERO;
    #[inline(always)]
    unsafe fn load<S: Simd>(s: S, p: *const Self) -> S::V {
        // SAFETY: forwarded contract.
        unsafe { s.load_bf16(p) }
    }
}
impl Elem for i8 {
    const ZERO: Self = 0;
    #[inline(always)]
    unsafe fn load<S: Simd>(s: S, p: *const Self) -> S::V {
        // SAFETY: forwarded contract.
        unsafe { s.load_i8(p) }
    }
}

/// Dot products of rows `r0..r0 + R` of `w` (`[rows, cols]`) with `x` (`[cols]`), each row
/// with `U` partial sums (so `R * U` independent FMA chains), tail through padded stack
/// vectors.
///
/// # Safety
/// Path of `s` supported; `w.len() >= (r0 + R) * cols`, `x.len() == cols`; `x_tail` from
/// [`x_tail`].
#[inline(always)]
unsafe fn rows<S: Simd, E: Elem, const R: usize, const U: usize>(
    s: S,
    w: &[E],
    cols: usize,
    r0: usize,
    x: &[f32],
    x_tail: &[f32; crate::MAX_TILE],
) -> [f32; R] {
    let l = S::LANES;
    debug_assert!(w.len() >= (r0 + R) * cols && x.len() == cols);
    let wp = w.as_ptr();
    let xp = x.as_ptr();
    // SAFETY: every load below reads LANES elements inside the row / `x` (c + LANES <= cols)
    // or inside the stack buffers.
    unsafe {
        let mut acc = [[s.splat(0.0); U]; R];
        // One pointer per row, indexed by the column: no per-step address arithmetic.
        let wr: [*const E; R] = core::array::from_fn(|r| wp.add((r0 + r) * cols));
        let mut c = 0;
        while c + U * l <= cols {
            for u in 0..U {
                let xv = s.load(xp.add(c + u * l));
                for r in 0..R {
                    acc[r][u] = s.fma(E::load(s, wr[r].add(c + u * l)), xv, acc[r][u]);
                }
            }
            c += U * l;
        }
        while c + l <= cols {
            let xv = s.load(xp.add(c));
            for r in 0..R {
                acc[r][0] = s.fma(E::load(s, wr[r].add(c)), xv, acc[r][0]);
            }
            c += l;
        }
        if c < cols {
            if cols >= l {
                // Tail: the row's last full vector (ends exactly at the row end), against `x`'s
                // last vector with the lanes already summed set to zero (`x_tail`).
                let xv = s.load(x_tail.as_ptr());
                for r in 0..R {
                    acc[r][0] = s.fma(E::load(s, wr[r].add(cols - l)), xv, acc[r][0]);
                }
            } else {
                // Rows shorter than one vector: zero-padded stack copies.
                let t = cols - c;
                let mut xb = [0.0f32; crate::MAX_TILE];
                xb[..t].copy_from_slice(&x[c..]);
                let xv = s.load(xb.as_ptr());
                for r in 0..R {
                    let mut wb = [E::ZERO; crate::MAX_TILE];
                    let row = (r0 + r) * cols;
                    wb[..t].copy_from_slice(&w[row + c..row + cols]);
                    acc[r][0] = s.fma(E::load(s, wb.as_ptr()), xv, acc[r][0]);
                }
            }
        }
        let mut out = [0.0f32; R];
        for r in 0..R {
            let mut v = acc[r][0];
            for u in 1..U {
                v = s.add(v, acc[r][u]);
            }
            out[r] = s.reduce_add(v);
        }
        out
    }
}

/// The last `lanes` elements of `x` with the first `lanes - cols % lanes` set to zero (only
/// used when `cols >= lanes` and `cols % lanes != 0`).
fn x_tail(x: &[f32], lanes: usize) -> [f32; crate::MAX_TILE] {
    let mut b = [0.0f32; crate::MAX_TILE];
    let cols = x.len();
    let t = cols % lanes;
    if cols >= lanes && t != 0 {
        b[lanes - t..lanes].copy_from_slice(&x[cols - t..]);
    }
    b
}

/// `y[r] = dot(w[r], x) * scale[r]` for all rows (scale 1 without `scales`).
#[inline(always)]
#[allow(clippy::int_plus_one)] // `r + R <= rows` reads as "R more rows fit"
unsafe fn gemv_raw<S: Simd, E: Elem>(
    s: S,
    w: &[E],
    scales: Option<&[f32]>,
    cols: usize,
    x: &[f32],
    y: &mut [f32],
) {
    let rows_n = y.len();
    let xt = x_tail(x, S::LANES);
    let mut r = 0;
    macro_rules! block {
        ($R:literal, $U:literal) => {
            while r + $R <= rows_n {
                // SAFETY: rows r..r+R exist; the path is supported (caller).
                let d = unsafe { rows::<S, E, $R, $U>(s, w, cols, r, x, &xt) };
                for k in 0..$R {
                    y[r + k] = d[k] * scales.map_or(1.0, |sc| sc[r + k]);
                }
                r += $R;
            }
        };
    }
    block!(8, 1);
    block!(4, 2);
    block!(2, 4);
    block!(1, 8);
}

/// Dot products of rows `r0..r0 + R` of `w` with `B` vectors `xs` at once: each weight vector
/// is loaded once and feeds `B` FMAs (`R * B` independent chains), so a block of vectors costs
/// one pass over these rows. Same tails as [`rows`].
///
/// # Safety
/// As [`rows`], for every `xs[b]` / `x_tails[b]`.
#[inline(always)]
unsafe fn rows_multi<S: Simd, E: Elem, const R: usize, const B: usize>(
    s: S,
    w: &[E],
    cols: usize,
    r0: usize,
    xs: [&[f32]; B],
    x_tails: &[[f32; crate::MAX_TILE]; B],
) -> [[f32; R]; B] {
    let l = S::LANES;
    debug_assert!(w.len() >= (r0 + R) * cols && xs.iter().all(|x| x.len() == cols));
    let wp = w.as_ptr();
    let xp: [*const f32; B] = core::array::from_fn(|b| xs[b].as_ptr());
    // SAFETY: as in `rows`: every load reads LANES elements inside a row, an `x`, or a stack
    // buffer.
    unsafe {
        let mut acc = [[s.splat(0.0); B]; R];
        let wr: [*const E; R] = core::array::from_fn(|r| wp.add((r0 + r) * cols));
        let mut c = 0;
        while c + l <= cols {
            let xv: [S::V; B] = core::array::from_fn(|b| s.load(xp[b].add(c)));
            for r in 0..R {
                let wv = E::load(s, wr[r].add(c));
                for b in 0..B {
                    acc[r][b] = s.fma(wv, xv[b], acc[r][b]);
                }
            }
            c += l;
        }
        if c < cols {
            if cols >= l {
                let xv: [S::V; B] = core::array::from_fn(|b| s.load(x_tails[b].as_ptr()));
                for r in 0..R {
                    let wv = E::load(s, wr[r].add(cols - l));
                    for b in 0..B {
                        acc[r][b] = s.fma(wv, xv[b], acc[r][b]);
                    }
                }
            } else {
                let t = cols - c;
                let xv: [S::V; B] = core::array::from_fn(|b| {
                    let mut xb = [0.0f32; crate::MAX_TILE];
                    xb[..t].copy_from_slice(&xs[b][c..]);
                    s.load(xb.as_ptr())
                });
                for r in 0..R {
                    let mut wb = [E::ZERO; crate::MAX_TILE];
                    let row = (r0 + r) * cols;
                    wb[..t].copy_from_slice(&w[row + c..row + cols]);
                    let wv = E::load(s, wb.as_ptr());
                    for b in 0..B {
                        acc[r][b] = s.fma(wv, xv[b], acc[r][b]);
                    }
                }
            }
        }
        core::array::from_fn(|b| core::array::from_fn(|r| s.reduce_add(acc[r][b])))
    }
}

/// `Y[b][r] = dot(w[r], X[b]) * scale[r]` for `B` vectors, each row read once for all of them.
#[inline(always)]
#[allow(clippy::int_plus_one)]
unsafe fn gemv_raw_multi<S: Simd, E: Elem, const B: usize>(
    s: S,
    w: &[E],
    scales: Option<&[f32]>,
    cols: usize,
    xs: [&[f32]; B],
    ys: &mut [&mut [f32]; B],
) {
    let rows_n = ys[0].len();
    let xt: [[f32; crate::MAX_TILE]; B] = core::array::from_fn(|b| x_tail(xs[b], S::LANES));
    let mut r = 0;
    macro_rules! block {
        ($R:literal) => {
            while r + $R <= rows_n {
                // SAFETY: rows r..r+R exist; the path is supported (caller).
                let d = unsafe { rows_multi::<S, E, $R, B>(s, w, cols, r, xs, &xt) };
                for b in 0..B {
                    for k in 0..$R {
                        ys[b][r + k] = d[b][k] * scales.map_or(1.0, |sc| sc[r + k]);
                    }
                }
                r += $R;
            }
        };
    }
    // R * B accumulators: 16 of the 32 zmm registers, 8 of the 16 ymm.
    if S::REGISTERS >= 32 {
        block!(4);
    }
    block!(2);
    block!(1);
}

/// Vectors per pass over W in [`gemv_batch`].
const BATCH_BLOCK: usize = 4;

/// `Y[b] = act(W X[b] + bias)`: blocks of [`BATCH_BLOCK`] vectors share one pass over W, the
/// remaining vectors go one at a time.
///
/// # Safety
/// Path of `s` supported; lengths validated by `gemv::validate_gemv`.
#[inline(always)]
pub(crate) unsafe fn gemv_batch<S: Simd>(
    s: S,
    w: &MatRef<'_>,
    x: &[f32],
    batch: usize,
    bias: Option<&[f32]>,
    act: Activation,
    y: &mut [f32],
) {
    let (rows_n, cols) = (w.rows, w.cols);
    let mut b = 0;
    while b + BATCH_BLOCK <= batch {
        let xs: [&[f32]; BATCH_BLOCK] =
            core::array::from_fn(|k| &x[(b + k) * cols..(b + k + 1) * cols]);
        let yblock = &mut y[b * rows_n..(b + BATCH_BLOCK) * rows_n];
        // rows_n > 0 (gemv_batch_on returns early otherwise).
        let mut it = yblock.chunks_exact_mut(rows_n);
        let mut ys: [&mut [f32]; BATCH_BLOCK] =
            core::array::from_fn(|_| it.next().expect("BATCH_BLOCK rows of y"));
        // SAFETY: forwarded contract.
        unsafe {
            match w.data {
                WeightData::F32(d) => gemv_raw_multi(s, d, None, cols, xs, &mut ys),
                WeightData::F16(d) => gemv_raw_multi(s, d, None, cols, xs, &mut ys),
                WeightData::Bf16(d) => gemv_raw_multi(s, d, None, cols, xs, &mut ys),
                WeightData::I8 { values, scales } => {
                    gemv_raw_multi(s, values, Some(scales), cols, xs, &mut ys)
                }
            }
        }
        b += BATCH_BLOCK;
    }
    while b < batch {
        let xb = &x[b * cols..(b + 1) * cols];
        let yb = &mut y[b * rows_n..(b + 1) * rows_n];
        // SAFETY: forwarded contract.
        unsafe {
            match w.data {
                WeightData::F32(d) => gemv_raw(s, d, None, cols, xb, yb),
                WeightData::F16(d) => gemv_raw(s, d, None, cols, xb, yb),
                WeightData::Bf16(d) => gemv_raw(s, d, None, cols, xb, yb),
                WeightData::I8 { values, scales } => {
                    gemv_raw(s, values, Some(scales), cols, xb, yb)
                }
            }
        }
        b += 1;
    }
    for yb in y[..batch * rows_n].chunks_exact_mut(rows_n) {
        if let Some(bi) = bias {
            for (v, b) in yb.iter_mut().zip(bi) {
                *v += b;
            }
        }
        // SAFETY: forwarded contract.
        unsafe { activate_slice(s, act, yb) };
    }
}
