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

/// Reduces row accumulators together: lane `j` of the result is the sum of the lanes of
/// `acc[j]`, for `j < LANES` (the rest of `acc` is ignored). Each accumulator's lanes are
/// added in the same fixed tree whatever its index and whatever the other accumulators hold,
/// so a row's sum does not depend on which rows or vectors share the block (this makes
/// `gemv_batch` bit-identical to `gemv` for every vector). The default is one
/// [`Simd::reduce_add`] per accumulator; the x86 paths override it with a transpose-and-add
/// tree (`x86_64/rowsum.rs`): 15 adds and 30 shuffles for 16 rows instead of 16 horizontal
/// reductions.
pub(crate) trait RowSums: Simd {
    /// # Safety
    /// As [`Simd`]: the path is supported.
    #[inline(always)]
    unsafe fn row_sums(self, acc: &[Self::V; 16]) -> [f32; 16] {
        let mut out = [0.0f32; 16];
        for (o, a) in out.iter_mut().zip(acc).take(Self::LANES) {
            // SAFETY: forwarded contract.
            *o = unsafe { self.reduce_add(*a) };
        }
        out
    }

    /// The first 8 of [`RowSums::row_sums`] stored at `out[..8]` (the same bits).
    ///
    /// # Safety
    /// As [`Simd`]; 8 f32 writable at `out`.
    #[inline(always)]
    unsafe fn row_sums8_to(self, acc: &[Self::V; 16], out: *mut f32) {
        // SAFETY: forwarded contract.
        unsafe {
            let d = self.row_sums(acc);
            for (k, v) in d.iter().take(8).enumerate() {
                *out.add(k) = *v;
            }
        }
    }
}

impl RowSums for crate::portable::Portable {}

/// Pointers to rows `r0 + min(k, n - 1)` of a matrix at `base` with rows `stride` elements
/// apart, for `k < m`
/// (entries `m..N` repeat the last). A full block (`n >= m`) takes one pointer add per row;
/// the per-row clamp and multiply are only paid by a short last block (they cost as much as
/// the dot products of a 100-column block).
///
/// # Safety
/// Rows `r0..r0 + min(n, m)` exist; `1 <= n`, `m <= N`.
#[inline(always)]
pub(crate) unsafe fn row_ptrs<T, const N: usize>(
    base: *const T,
    r0: usize,
    n: usize,
    m: usize,
    stride: usize,
) -> [*const T; N] {
    debug_assert!(n >= 1 && m <= N);
    // SAFETY: every pointer is the start of an existing row (the caller's contract).
    unsafe {
        let mut p = base.add(r0 * stride);
        let mut wr = [p; N];
        if n >= m {
            for (k, q) in wr.iter_mut().enumerate().take(m) {
                *q = p;
                if k + 1 < m {
                    p = p.add(stride);
                }
            }
        } else {
            for (k, q) in wr.iter_mut().enumerate().take(m) {
                *q = base.add((r0 + k.min(n - 1)) * stride);
            }
        }
        wr
    }
}

/// Dot products of rows `r0 + min(k, n - 1)`, `k < R`, of `w` (`[rows, cols]`, rows `lda`
/// elements apart, `lda >= cols`) with `B` vectors `xs` (`[cols]` each): one accumulator per
/// (row, vector) at index `k * B + b` (`R * B <= LANES`), one FMA chain each over the columns
/// in order, the column tail through
/// `x_tails` (see [`x_tail`]) or zero-padded stack copies. Returns the accumulators; the
/// callers finish with [`RowSums::row_sums`] (`sums[k * B + b]`) or
/// [`RowSums::row_sums8_to`], the same tree for every accumulator. The order of operations for
/// one (row, vector) is therefore the same for any `R`, `B` and position in the block, and for
/// any `lda` (columns past `cols` are never read).
///
/// # Safety
/// Path of `s` supported; `1 <= n`, rows `r0..r0 + n` exist in `w`; every `xs[b].len() ==
/// cols`.
#[inline(always)]
unsafe fn block<S: RowSums, E: Elem, const R: usize, const B: usize>(
    s: S,
    w: &[E],
    (cols, lda): (usize, usize),
    r0: usize,
    n: usize,
    xs: [&[f32]; B],
    x_tails: &[[f32; crate::MAX_TILE]; B],
) -> [S::V; 16] {
    let l = S::LANES;
    debug_assert!(R * B <= l && n >= 1 && lda >= cols && w.len() >= (r0 + n - 1) * lda + cols);
    debug_assert!(xs.iter().all(|x| x.len() == cols));
    let wp = w.as_ptr();
    // Explicit loops, not `core::array::from_fn`: its closure may stay out of line, compiled
    // without the path's target features, which turns every vector load into a call.
    let mut xp = [core::ptr::null::<f32>(); B];
    for b in 0..B {
        xp[b] = xs[b].as_ptr();
    }
    // SAFETY: row pointers point at existing rows (rows past `n` repeat the last real one);
    // every load reads LANES elements inside a row (c + LANES <= cols), an `x`, or a stack
    // buffer.
    unsafe {
        let mut acc = [s.splat(0.0); 16];
        let wr: [*const E; R] = row_ptrs(wp, r0, n, R, lda);
        let mut xv = [s.splat(0.0); B];
        let mut c = 0;
        while c + l <= cols {
            for b in 0..B {
                xv[b] = s.load(xp[b].add(c));
            }
            for k in 0..R {
                let wv = E::load(s, wr[k].add(c));
                for b in 0..B {
                    acc[k * B + b] = s.fma(wv, xv[b], acc[k * B + b]);
                }
            }
            c += l;
        }
        if c < cols {
            if cols >= l {
                // The row's last full vector (ends exactly at the row end), against `x`'s last
                // vector with the lanes already summed set to zero.
                for b in 0..B {
                    xv[b] = s.load(x_tails[b].as_ptr());
                }
                for k in 0..R {
                    let wv = E::load(s, wr[k].add(cols - l));
                    for b in 0..B {
                        acc[k * B + b] = s.fma(wv, xv[b], acc[k * B + b]);
                    }
                }
            } else {
                // Rows shorter than one vector: zero-padded stack copies.
                let t = cols - c;
                for b in 0..B {
                    let mut xb = [0.0f32; crate::MAX_TILE];
                    xb[..t].copy_from_slice(&xs[b][c..]);
                    xv[b] = s.load(xb.as_ptr());
                }
                for k in 0..R {
                    let mut wb = [E::ZERO; crate::MAX_TILE];
                    let row = (r0 + k.min(n - 1)) * lda;
                    wb[..t].copy_from_slice(&w[row + c..row + cols]);
                    let wv = E::load(s, wb.as_ptr());
                    for b in 0..B {
                        acc[k * B + b] = s.fma(wv, xv[b], acc[k * B + b]);
                    }
                }
            }
        }
        acc
    }
}

/// The last `lanes` elements of `x` with the first `lanes - cols % lanes` set to zero (only
/// used when `cols >= lanes` and `cols % lanes != 0`).
fn x_tail(x: &[f32], lanes: usize) -> [f32; crate::MAX_TILE] {
    let mut b = [0.0f32; crate::MAX_TILE];
    let cols = x.len();
    let t = cols % lanes;
    if cols >= lanes && t != 0 {
        // A fixed-length select over x's last `lanes` values, not a copy of `t` of them: the
        // variable-length copy was a `memcpy` call per GEMV.
        let last = &x[cols - lanes..];
        for (k, v) in b.iter_mut().enumerate().take(lanes) {
            *v = if k >= lanes - t { last[k] } else { 0.0 };
        }
    }
    b
}

/// `y[r] = dot(w[r], x) * scale[r]` for all rows (scale 1 without `scales`): 8 rows per
/// block (8 independent FMA chains sharing each load of `x`, enough to cover the FMA latency on
/// two ports), 4 for a short last block. Not 16 on AVX-512: 16 row streams at once read the
/// L2-resident hypernetwork matrices 15-21 % slower than 8 (921x100, 100x921, 70x3466, same
/// process A/B against the AVX2 kernel); the results are the same bits either way (see
/// [`block`]).
#[inline(always)]
unsafe fn gemv_raw<S: RowSums, E: Elem>(
    s: S,
    w: &[E],
    scales: Option<&[f32]>,
    (cols, lda): (usize, usize),
    x: &[f32],
    y: &mut [f32],
) {
    let rows_n = y.len();
    let xt = [x_tail(x, S::LANES)];
    let mut r = 0;
    while r < rows_n {
        let n = (rows_n - r).min(8);
        if n == 8 {
            // A full block stores its 8 sums straight into `y` (`RowSums::row_sums8_to`: one
            // vector store on AVX2), then applies int8 scales in place (the same product as
            // below). Through `row_sums`' `[f32; 16]` and a copy, S's 921x100 f32 GEMV took
            // 5.2-5.7 us against 4.5-4.6, and its 100x100 layers 0.61 against 0.43 (Zen 3,
            // alternated); the same bits.
            // SAFETY: rows r..r + 8 exist; the path is supported (caller); y[r..r + 8] exists.
            unsafe {
                let acc = block::<S, E, 8, 1>(s, w, (cols, lda), r, 8, [x], &xt);
                s.row_sums8_to(&acc, y.as_mut_ptr().add(r));
            }
            if let Some(sc) = scales {
                // Fixed lengths: a variable-length loop here could become a `memcpy` call.
                let yr: &mut [f32; 8] = (&mut y[r..r + 8]).try_into().expect("8 rows");
                let sr: &[f32; 8] = sc[r..r + 8].try_into().expect("8 scales");
                for k in 0..8 {
                    yr[k] *= sr[k];
                }
            }
        } else {
            // SAFETY: rows r..r + n exist; the path is supported (caller).
            let d = unsafe {
                if n <= 4 {
                    s.row_sums(&block::<S, E, 4, 1>(s, w, (cols, lda), r, n, [x], &xt))
                } else {
                    s.row_sums(&block::<S, E, 8, 1>(s, w, (cols, lda), r, n, [x], &xt))
                }
            };
            for k in 0..n {
                y[r + k] = d[k] * scales.map_or(1.0, |sc| sc[r + k]);
            }
        }
        r += n;
    }
}

/// `Y[b][r] = dot(w[r], X[b]) * scale[r]` for `B` = 4 vectors, each row read once for all of
/// them: LANES / 4 rows per block (LANES accumulators). Bit-identical to [`gemv_raw`] per
/// vector (see [`block`]).
#[inline(always)]
unsafe fn gemv_raw_multi<S: RowSums, E: Elem, const B: usize>(
    s: S,
    w: &[E],
    scales: Option<&[f32]>,
    (cols, lda): (usize, usize),
    xs: [&[f32]; B],
    ys: &mut [&mut [f32]; B],
) {
    let rows_n = ys[0].len();
    let mut xt = [[0.0f32; crate::MAX_TILE]; B];
    for b in 0..B {
        xt[b] = x_tail(xs[b], S::LANES);
    }
    let rb = S::LANES / B;
    let mut r = 0;
    while r < rows_n {
        let n = (rows_n - r).min(rb);
        // SAFETY: rows r..r + n exist; the path is supported (caller); R * B <= LANES.
        let d = unsafe {
            if rb >= 4 {
                s.row_sums(&block::<S, E, 4, B>(s, w, (cols, lda), r, n, xs, &xt))
            } else {
                s.row_sums(&block::<S, E, 2, B>(s, w, (cols, lda), r, n, xs, &xt))
            }
        };
        for b in 0..B {
            for k in 0..n {
                ys[b][r + k] = d[k * B + b] * scales.map_or(1.0, |sc| sc[r + k]);
            }
        }
        r += n;
    }
}

/// `$call` with `$d` bound to the weight slice of `$data` (each element type instantiates
/// `$call` once; strided f32 shares the f32 instance), `$sc` to its int8 row scales (`None`
/// for the float types) and `$lda` to its row stride (`$cols` unless strided). Blocked int8
/// never gets here: `gemv_batch_on` sends it to `qblock` before any of these paths.
macro_rules! by_elem {
    ($data:expr, $cols:expr, |$d:ident, $sc:ident, $lda:ident| $call:expr) => {
        match $data {
            WeightData::F32($d) => {
                let ($sc, $lda) = (None, $cols);
                $call
            }
            WeightData::F32Strided { values: $d, lda } => {
                let ($sc, $lda) = (None, lda);
                $call
            }
            WeightData::F16($d) => {
                let ($sc, $lda) = (None, $cols);
                $call
            }
            WeightData::Bf16($d) => {
                let ($sc, $lda) = (None, $cols);
                $call
            }
            WeightData::I8 { values: $d, scales } => {
                let ($sc, $lda) = (Some(scales), $cols);
                $call
            }
            WeightData::I8Blocked { .. } => unreachable!("blocked int8 takes qblock"),
        }
    };
}

/// Vectors per pass over W in [`gemv_batch`] after the wide blocks.
const BATCH_BLOCK: usize = 4;

/// Vectors per wide block ([`gemv_wide`], 32-register paths).
const WIDE: usize = 16;

/// Fewest rows a wide block takes: its copy of x costs about two rows' work, and at 16 rows
/// of 512 it was 3-19 % slower than blocks of 4 (same-process A/B).
const WIDE_MIN_ROWS: usize = 32;

/// Longest row a wide block takes: its copy of x is `WIDE * PACK_COLS` f32 (32 KB) of stack.
const PACK_COLS: usize = 512;

/// A 64-byte aligned buffer: a 512-bit load from it never splits a cache line.
#[repr(align(64))]
struct Aligned64<T>(T);

/// `Y[b][r] = dot(w[r], X[b]) * scale[r]` for [`WIDE`] = 16 vectors, one row at a time (16
/// accumulators), each row read once for all 16.
///
/// The vectors are first copied into one 64-byte aligned stack buffer, `[chunk, vector,
/// LANES]` with the column tail as in [`x_tail`]: a chunk's 16 loads are then one pointer plus
/// constant offsets and never split a cache line (with 16 separate, unaligned vectors the
/// compiler rebuilds 16 addresses per chunk; for 64 vectors this block is 1.24-1.32x faster
/// than blocks of 4 on 921x100, 100x100 and 64x256 (rows x columns) in a same-process A/B,
/// where blocks of 4 read W four times as often). Each (row, vector) takes the FMA chain of [`block`] and the same
/// [`RowSums::row_sums`] tree, so the results are the bits of [`gemv_raw`].
///
/// # Safety
/// Path of `s` supported with `LANES = 16`; `LANES <= cols <= PACK_COLS`; `w` holds `rows_n`
/// rows of `cols` elements, `lda >= cols` apart; `x`: `[WIDE, cols]`, `y`: `[WIDE, rows_n]`.
#[inline(always)]
unsafe fn gemv_wide<S: RowSums, E: Elem>(
    s: S,
    w: &[E],
    scales: Option<&[f32]>,
    rows_n: usize,
    (cols, lda): (usize, usize),
    x: &[f32],
    y: &mut [f32],
) {
    let l = S::LANES;
    debug_assert!(l == WIDE && l <= cols && cols <= PACK_COLS && lda >= cols);
    debug_assert!(x.len() == WIDE * cols && y.len() == WIDE * rows_n);
    debug_assert!(rows_n == 0 || w.len() >= (rows_n - 1) * lda + cols);
    let full = cols / l;
    // Uninitialized: only the `cols.div_ceil(LANES) * WIDE * LANES` f32 written below are read
    // (zeroing all 32 KB per call cost as much as the copy).
    let mut buf = core::mem::MaybeUninit::<Aligned64<[f32; WIDE * PACK_COLS]>>::uninit();
    let xp = buf.as_mut_ptr().cast::<f32>();
    for (b, xb) in x.chunks_exact(cols).enumerate() {
        // SAFETY: chunk c of vector b goes to f32 (c * WIDE + b) * LANES.. + LANES, inside the
        // buffer (c < cols.div_ceil(LANES) <= PACK_COLS / LANES, b < WIDE); sources are
        // LANES f32 inside `xb` or the tail copy.
        unsafe {
            for c in 0..full {
                core::ptr::copy_nonoverlapping(
                    xb.as_ptr().add(c * l),
                    xp.add((c * WIDE + b) * l),
                    l,
                );
            }
            if full * l < cols {
                let t = x_tail(xb, l);
                core::ptr::copy_nonoverlapping(t.as_ptr(), xp.add((full * WIDE + b) * l), l);
            }
        }
    }
    let xp = xp.cast_const();
    for r in 0..rows_n {
        // SAFETY: row r exists; weight loads stay inside it (c + LANES <= cols; the tail load
        // ends at the row end); x loads read the chunks written above.
        let d = unsafe {
            let wr = w.as_ptr().add(r * lda);
            let mut acc = [s.splat(0.0); 16];
            for c in 0..full {
                let (wv, xc) = (E::load(s, wr.add(c * l)), xp.add(c * WIDE * l));
                for (b, a) in acc.iter_mut().enumerate() {
                    *a = s.fma(wv, s.load(xc.add(b * l)), *a);
                }
            }
            if full * l < cols {
                let (wv, xc) = (E::load(s, wr.add(cols - l)), xp.add(full * WIDE * l));
                for (b, a) in acc.iter_mut().enumerate() {
                    *a = s.fma(wv, s.load(xc.add(b * l)), *a);
                }
            }
            s.row_sums(&acc)
        };
        let scale = scales.map_or(1.0, |sc| sc[r]);
        for (b, v) in d.iter().enumerate() {
            y[b * rows_n + r] = v * scale;
        }
    }
}

/// `Y[b] = act(W X[b] + bias)`: on AVX-512 blocks of [`WIDE`] vectors share one pass over W
/// ([`gemv_wide`]; at least [`WIDE_MIN_ROWS`] rows of at most [`PACK_COLS`]), then blocks of
/// [`BATCH_BLOCK`]; the remaining vectors go one at a time.
///
/// # Safety
/// Path of `s` supported; lengths validated by `gemv::validate_gemv`.
#[inline(always)]
pub(crate) unsafe fn gemv_batch<S: RowSums>(
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
    // `const { .. }`: the 16-vector kernel is instantiated only where it runs.
    if const { S::LANES == WIDE && S::REGISTERS >= 32 }
        && rows_n >= WIDE_MIN_ROWS
        && S::LANES <= cols
        && cols <= PACK_COLS
    {
        while b + WIDE <= batch {
            let xb = &x[b * cols..(b + WIDE) * cols];
            let yb = &mut y[b * rows_n..(b + WIDE) * rows_n];
            // SAFETY: forwarded contract; LANES = 16 and cols checked above.
            unsafe {
                by_elem!(w.data, cols, |d, sc, lda| gemv_wide(
                    s,
                    d,
                    sc,
                    rows_n,
                    (cols, lda),
                    xb,
                    yb
                ))
            }
            b += WIDE;
        }
    }
    while b + BATCH_BLOCK <= batch {
        // Slices only, no vector operation in the closures (see clippy.toml).
        #[allow(clippy::disallowed_methods)]
        let xs: [&[f32]; BATCH_BLOCK] =
            core::array::from_fn(|k| &x[(b + k) * cols..(b + k + 1) * cols]);
        let yblock = &mut y[b * rows_n..(b + BATCH_BLOCK) * rows_n];
        // rows_n > 0 (gemv_batch_on returns early otherwise).
        let mut it = yblock.chunks_exact_mut(rows_n);
        #[allow(clippy::disallowed_methods)]
        let mut ys: [&mut [f32]; BATCH_BLOCK] =
            core::array::from_fn(|_| it.next().expect("BATCH_BLOCK rows of y"));
        // SAFETY: forwarded contract.
        unsafe {
            by_elem!(w.data, cols, |d, sc, lda| gemv_raw_multi(
                s,
                d,
                sc,
                (cols, lda),
                xs,
                &mut ys
            ))
        }
        b += BATCH_BLOCK;
    }
    while b < batch {
        let xb = &x[b * cols..(b + 1) * cols];
        let yb = &mut y[b * rows_n..(b + 1) * rows_n];
        // SAFETY: forwarded contract.
        unsafe {
            by_elem!(w.data, cols, |d, sc, lda| gemv_raw(
                s,
                d,
                sc,
                (cols, lda),
                xb,
                yb
            ))
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
