//! int8 GEMV with 16-bit activations (W8A16): exact integer dot products.
//!
//! For an int8 matrix with `cols <= `[`QMAX_COLS`], each input vector `x` is quantized once per
//! call (dynamic, symmetric, per vector; [`quantize`]):
//!
//! ```text
//! Q       = min(32767, floor((2^31 - 1) / (128 * cols)))    (so no i32 sum can overflow)
//! x_scale = max|x| / Q,   x_q[i] = round_ties_even(x[i] / x_scale) in [-Q, Q]   (i16)
//! s_o     = sum_i values[o, i] * x_q[i]                     (exact, in i32)
//! y[o]    = act(f32(s_o) * (scales[o] * x_scale) + bias[o]) (f32 multiply, then f32 add)
//! ```
//!
//! Because `s_o` is exact and the final expression is the same sequence of f32 operations on
//! every path (scalar reference, portable, AVX2, AVX-512 with or without VNNI), the
//! pre-activation is bit-identical across paths and across batch positions; only the
//! activation itself is path-specific (exact for identity/relu/prelu). The activation
//! quantization error is at most `x_scale / 2 = max|x| / (2 Q)` per element (`max|x| / 65534`
//! for `cols <= 512`), about 250 times below the int8 weight rounding (`max|w| / 254`).
//!
//! Special inputs: `x` all zeros gives `y[o] = act(bias[o])`; a NaN or infinity anywhere in
//! `x` makes every pre-activation of that vector NaN (so NaN in, NaN out). `max|x|` below
//! 2^-100 is pre-multiplied by 2^100 (exact) so `1 / x_scale` cannot overflow.
//!
//! Wider matrices (`cols > QMAX_COLS`) keep the f32 path (weights converted to f32 in
//! registers, `x` in f32), see `dot.rs`.

#[cfg(target_arch = "x86_64")]
use core::mem::MaybeUninit;

use crate::vector_math::activate_slice;
use crate::{Activation, Path};

/// Widest int8 matrix (columns) that takes the integer W8A16 path; the quantized input vector
/// lives in a stack buffer of this many i16 (plus padding).
pub const QMAX_COLS: usize = 1024;

/// Quantized-`x` buffer length: [`QMAX_COLS`] (a multiple of the widest integer step, 64
/// columns). The kernels read `x_q` in whole steps up to `cols` rounded up to 32 (i16 lanes)
/// or 64 (byte lanes); [`quantize`] zeroes those entries past `cols`, so whatever weight
/// bytes they meet (masked zeros, or the next row's bytes) add nothing.
pub(crate) const QBUF: usize = QMAX_COLS;

/// `x_q` entries a kernel may read for `cols` columns: `cols` rounded up to 64.
pub(crate) fn q_read_len(cols: usize) -> usize {
    cols.next_multiple_of(64).min(QBUF)
}

/// The integer kernel that int8 GEMVs with `cols <= `[`QMAX_COLS`] (W8A16) run on `path`, for
/// reports (`hdon bench`): `"scalar"`, `"portable"`, `"avx2"`, or on the AVX-512 path
/// `"avx512vnni-bytes"` (AVX512-VNNI + VBMI: the stored int8 weights against the byte planes
/// of the input, `vpdpbusd`), `"avx512vnni"` (weights widened to i16, `vpdpwssd`),
/// `"avx512bw"` (`vpmaddwd`), or `"avx2"` / `"portable"` on AVX-512F CPUs without BW. Blocks of
/// 4 vectors (`gemv_batch`) use the widening kernel of the same CPU.
pub fn int8_kernel(path: Path) -> &'static str {
    match path {
        Path::Scalar => "scalar",
        Path::Portable => "portable",
        #[cfg(target_arch = "x86_64")]
        Path::Avx2 => "avx2",
        #[cfg(target_arch = "x86_64")]
        Path::Avx512 => crate::x86_64::avx512_int_kernel().name(),
        #[cfg(not(target_arch = "x86_64"))]
        Path::Avx2 | Path::Avx512 => "unsupported",
    }
}

/// The activation range `Q` for `cols` columns: the largest value `<= 32767` with
/// `128 * cols * Q <= i32::MAX`, so `sum_i |values[o, i] * x_q[i]|` fits in i32 (int8 values
/// are in [-128, 127]). 32767 up to 512 columns, 16383 at 1024.
pub fn q_range(cols: usize) -> i32 {
    let bound = (i32::MAX as usize) / (128 * cols.max(1));
    bound.min(32767) as i32
}

/// One input vector quantized to i16 (see the module docs).
#[derive(Clone)]
pub(crate) struct QVec {
    /// `x_q`, zero from `cols` to [`q_read_len`]`(cols)` (and beyond, in a fresh buffer).
    pub q: [i16; QBUF],
    /// `x ~= x_scale * x_q`; 0 for an all-zero `x`, NaN if `x` has a NaN or infinity.
    pub scale: f32,
    /// Every `x_q[i] >= 0` (ReLU outputs): the byte kernel's cheaper variant applies.
    pub nonneg: bool,
    /// `sum_i (x_q[i] >> 8)` (arithmetic shift): the byte kernel's correction term.
    pub hsum: i32,
    /// The low bytes of `x_q` (`x_q & 255`), written by [`QRows::prepare`] for the kernels on
    /// bytes up to [`q_read_len`]`(cols)` and only read there, through raw pointers (left
    /// uninitialized: zeroing 2 KiB per vector showed up in batched generate). x86-64 only:
    /// no other target has a kernel on bytes, and firmware stacks are small.
    #[cfg(target_arch = "x86_64")]
    pub lo: [MaybeUninit<u8>; QBUF],
    /// The high bytes of `x_q` (`x_q >> 8`, two's complement), as `lo`.
    #[cfg(target_arch = "x86_64")]
    pub hi: [MaybeUninit<u8>; QBUF],
}

impl QVec {
    /// An all-zero vector (the state [`quantize`] expects of a fresh buffer). Inlined so the
    /// 4 KiB value is built in place rather than copied out of a call.
    #[inline(always)]
    pub(crate) fn new() -> Self {
        QVec {
            q: [0; QBUF],
            scale: 0.0,
            nonneg: true,
            hsum: 0,
            #[cfg(target_arch = "x86_64")]
            lo: [MaybeUninit::uninit(); QBUF],
            #[cfg(target_arch = "x86_64")]
            hi: [MaybeUninit::uninit(); QBUF],
        }
    }
}

/// 2^100 and 2^-100 (exact).
const TINY_UP: f32 = 1.267_650_6e30;
const TINY_DOWN: f32 = 7.888_609e-31;
/// `|x|` below this (2^-100) is scaled by [`TINY_UP`] before quantizing.
const TINY: f32 = TINY_DOWN;

/// Quantizes `x` (`cols = x.len() <= QMAX_COLS`) into `out`. Plain scalar code shared by every
/// path (it is instantiated inside each path's `#[target_feature]` entry and vectorized by the
/// compiler, but only with IEEE f32 multiplies and integer operations, so the result is the
/// same everywhere).
#[inline(always)]
pub(crate) fn quantize(x: &[f32], out: &mut QVec) {
    let cols = x.len();
    debug_assert!(cols <= QMAX_COLS);
    // max |x| on the bit patterns: integer order of non-negative floats is their value
    // order, and NaN / infinity are the patterns >= 0x7f80_0000 (no NaN-swallowing max).
    let amax_bits = x
        .iter()
        .map(|v| v.to_bits() & 0x7fff_ffff)
        .fold(0u32, u32::max);
    let q = &mut out.q;
    // The sign summary and high-byte sum for the byte kernels, in the same pass.
    let (mut min, mut hsum) = (0i16, 0i32);
    if amax_bits >= 0x7f80_0000 || amax_bits == 0 {
        q[..cols].fill(0);
        out.scale = if amax_bits == 0 { 0.0 } else { f32::NAN };
    } else {
        let amax = f32::from_bits(amax_bits);
        let (pre, post) = if amax < TINY {
            (TINY_UP, TINY_DOWN)
        } else {
            (1.0, 1.0)
        };
        let range = q_range(cols) as f32;
        let inv = range / (amax * pre);
        for (d, &v) in q[..cols].iter_mut().zip(x) {
            // |v * pre * inv| <= range (1 + 2^-22) < 2^22: adding 1.5 * 2^23 rounds to an
            // integer (ties to even) held in the low mantissa bits.
            let t = (v * pre) * inv + 12_582_912.0;
            let qi = (t.to_bits() as i32 - 0x4b40_0000) as i16;
            *d = qi;
            min = min.min(qi);
            hsum += i32::from(qi >> 8);
        }
        out.scale = (amax * pre) / range * post;
    }
    // Only the part a kernel reads: zeroing all of QBUF (2 KiB) per call cost more than
    // quantizing a 100-wide vector.
    q[cols..q_read_len(cols)].fill(0);
    out.nonneg = min >= 0;
    out.hsum = hsum;
}

/// The integer row sums `s_o` of one block of rows for `B` quantized vectors (`B` = 1 or 4),
/// one implementation per path (a zero-sized token). All implementations are exact, so they
/// agree bit for bit.
pub(crate) trait QRows: Copy {
    /// Whether [`gemv_batch_with`] runs blocks of 4 vectors through `rows::<4>` (one pass
    /// over W per block) or every vector alone (one quantized vector on the stack).
    const BLOCK4: bool;

    /// Called once per quantized vector before its `rows::<1>` calls (the byte kernel splits
    /// `x_q` into its byte planes here; blocks of 4 vectors do not call it); nothing by
    /// default.
    #[inline(always)]
    fn prepare(self, _qv: &mut QVec, _cols: usize) {}

    /// `sums[b][k]` = row `r0 + k` of `values` (`[rows, cols]`) dotted with `xs[b].q`, for
    /// `k < n <= 16`.
    ///
    /// # Safety
    /// The CPU supports the implementation's instruction set; rows `r0..r0 + n` exist;
    /// `cols <= QMAX_COLS`.
    unsafe fn rows<const B: usize>(
        self,
        values: &[i8],
        cols: usize,
        r0: usize,
        n: usize,
        xs: [&QVec; B],
        sums: &mut [[i32; 16]; B],
    );
}

/// The reference integer dot product of one row with `x_q` (in i64; the i32 bound of
/// [`q_range`] makes the cast exact).
pub(crate) fn dot_ref(row: &[i8], xq: &[i16]) -> i32 {
    let s: i64 = row
        .iter()
        .zip(xq)
        .map(|(&a, &b)| i64::from(a) * i64::from(b))
        .sum();
    s as i32
}

/// The scalar path's row sums: [`dot_ref`], one row at a time.
#[derive(Clone, Copy)]
pub(crate) struct ScalarRows;

impl QRows for ScalarRows {
    const BLOCK4: bool = false;
    #[inline(always)]
    unsafe fn rows<const B: usize>(
        self,
        values: &[i8],
        cols: usize,
        r0: usize,
        n: usize,
        xs: [&QVec; B],
        sums: &mut [[i32; 16]; B],
    ) {
        for k in 0..n {
            let row = &values[(r0 + k) * cols..(r0 + k + 1) * cols];
            for b in 0..B {
                sums[b][k] = dot_ref(row, &xs[b].q[..cols]);
            }
        }
    }
}

/// The portable path's row sums: eight i32 chains per row, which the compiler vectorizes
/// for the target (NEON on aarch64, SSE2 on x86-64, scalar on thumbv7em).
#[derive(Clone, Copy)]
pub(crate) struct PortableRows;

impl QRows for PortableRows {
    const BLOCK4: bool = false;
    #[inline(always)]
    unsafe fn rows<const B: usize>(
        self,
        values: &[i8],
        cols: usize,
        r0: usize,
        n: usize,
        xs: [&QVec; B],
        sums: &mut [[i32; 16]; B],
    ) {
        for k in 0..n {
            let row = &values[(r0 + k) * cols..(r0 + k + 1) * cols];
            for b in 0..B {
                let xq = &xs[b].q[..cols];
                let mut acc = [0i32; 8];
                let mut rc = row.chunks_exact(8);
                let mut xc = xq.chunks_exact(8);
                for (w8, x8) in (&mut rc).zip(&mut xc) {
                    for j in 0..8 {
                        acc[j] += i32::from(w8[j]) * i32::from(x8[j]);
                    }
                }
                let mut s: i32 = acc.iter().sum();
                for (&a, &c) in rc.remainder().iter().zip(xc.remainder()) {
                    s += i32::from(a) * i32::from(c);
                }
                sums[b][k] = s;
            }
        }
    }
}

/// `y = W x + bias` (no activation) for `batch` vectors of an int8 matrix with
/// `cols <= QMAX_COLS`, the integer row sums from `k`, 16 rows at a time.
///
/// # Safety
/// As [`QRows::rows`] for `k`; lengths validated by `gemv::validate_gemv`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) unsafe fn gemv_batch_with<K: QRows>(
    k: K,
    values: &[i8],
    scales: &[f32],
    rows: usize,
    cols: usize,
    x: &[f32],
    batch: usize,
    bias: Option<&[f32]>,
    y: &mut [f32],
) {
    let mut b = 0;
    // The four buffers of a block (8 KiB to zero) only when there is a block: a single
    // vector (every generate of one function) uses one buffer below.
    if K::BLOCK4 && batch >= 4 {
        let mut qs = [QVec::new(), QVec::new(), QVec::new(), QVec::new()];
        while b + 4 <= batch {
            for (j, qv) in qs.iter_mut().enumerate() {
                quantize(&x[(b + j) * cols..(b + j + 1) * cols], qv);
            }
            let xs = [&qs[0], &qs[1], &qs[2], &qs[3]];
            let mut r = 0;
            while r < rows {
                let n = (rows - r).min(16);
                let mut sums = [[0i32; 16]; 4];
                // SAFETY: forwarded contract; rows r..r + n exist.
                unsafe { k.rows::<4>(values, cols, r, n, xs, &mut sums) };
                for (j, s) in sums.iter().enumerate() {
                    let yj = &mut y[(b + j) * rows + r..(b + j) * rows + r + n];
                    epilogue(&s[..n], &scales[r..r + n], xs[j].scale, yj);
                }
                r += n;
            }
            b += 4;
        }
    }
    if b == batch {
        return add_bias(bias, rows, batch, y);
    }
    let mut qv = QVec::new();
    while b < batch {
        quantize(&x[b * cols..(b + 1) * cols], &mut qv);
        k.prepare(&mut qv, cols);
        let mut r = 0;
        while r < rows {
            let n = (rows - r).min(16);
            let mut sums = [[0i32; 16]; 1];
            // SAFETY: forwarded contract; rows r..r + n exist.
            unsafe { k.rows::<1>(values, cols, r, n, [&qv], &mut sums) };
            let yb = &mut y[b * rows + r..b * rows + r + n];
            epilogue(&sums[0][..n], &scales[r..r + n], qv.scale, yb);
            r += n;
        }
        b += 1;
    }
    add_bias(bias, rows, batch, y);
}

/// `y[b] += bias` for every vector `b`.
#[inline(always)]
pub(crate) fn add_bias(bias: Option<&[f32]>, rows: usize, batch: usize, y: &mut [f32]) {
    if let Some(bi) = bias {
        for yb in y[..batch * rows].chunks_exact_mut(rows) {
            for (v, b) in yb.iter_mut().zip(bi) {
                *v += b;
            }
        }
    }
}

/// `y[k] = f32(sums[k]) * (scales[k] * x_scale)`: the same two f32 roundings on every path.
#[inline(always)]
pub(crate) fn epilogue(sums: &[i32], scales: &[f32], x_scale: f32, y: &mut [f32]) {
    for ((d, &s), &sc) in y.iter_mut().zip(sums).zip(scales) {
        *d = s as f32 * (sc * x_scale);
    }
}

/// How an int8 matrix stores its values: [`WeightData::I8`](crate::WeightData) (row-major)
/// or [`WeightData::I8Blocked`](crate::WeightData) (`qblock.rs`). Same numerics either way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Int8Layout {
    /// `[rows, cols]` row-major.
    Rows,
    /// 16 rows x 4 columns per 64 bytes.
    Blocked,
}

/// An int8 matrix that runs W8A16 ([`crate::MatRef::int8_w8a16`]): its layout, values,
/// per-row scales and shape, lengths validated. What the int8 dispatch passes around.
#[derive(Clone, Copy, Debug)]
pub(crate) struct QMat<'a> {
    pub layout: Int8Layout,
    pub values: &'a [i8],
    pub scales: &'a [f32],
    pub rows: usize,
    pub cols: usize,
}

/// `y = W x + bias` (no activation) with the plain-Rust integer row sums of `m.layout`:
/// [`ScalarRows`] / [`ScalarBlocks`](crate::qblock::ScalarBlocks) when `scalar`, else the
/// portable ones. Lengths validated by the caller.
#[inline(always)]
fn gemv_batch_plain(
    scalar: bool,
    m: QMat<'_>,
    x: &[f32],
    batch: usize,
    bias: Option<&[f32]>,
    y: &mut [f32],
) {
    use crate::qblock::{gemv_batch_blocked_with, PortableBlocks, ScalarBlocks};
    let QMat {
        layout,
        values: v,
        scales: s,
        rows: r,
        cols: c,
    } = m;
    // SAFETY: plain Rust, runs everywhere; lengths validated by the caller.
    unsafe {
        match (layout, scalar) {
            (Int8Layout::Rows, true) => gemv_batch_with(ScalarRows, v, s, r, c, x, batch, bias, y),
            (Int8Layout::Rows, false) => {
                gemv_batch_with(PortableRows, v, s, r, c, x, batch, bias, y)
            }
            (Int8Layout::Blocked, true) => {
                gemv_batch_blocked_with(ScalarBlocks, v, s, r, c, x, batch, bias, y)
            }
            (Int8Layout::Blocked, false) => {
                gemv_batch_blocked_with(PortableBlocks, v, s, r, c, x, batch, bias, y)
            }
        }
    }
}

/// [`gemv_batch_plain`] with the portable row sums: the fallback of the x86 paths on CPUs
/// without the integer extensions they use (no activation).
#[cfg(target_arch = "x86_64")]
pub(crate) fn gemv_batch_portable(
    m: QMat<'_>,
    x: &[f32],
    batch: usize,
    bias: Option<&[f32]>,
    y: &mut [f32],
) {
    gemv_batch_plain(false, m, x, batch, bias, y);
}

/// Scalar-path and portable-path int8 GEMV (`path` is `Scalar` or `Portable`), either layout,
/// activation included. Lengths validated by the caller.
pub(crate) fn gemv_batch_generic(
    path: Path,
    m: QMat<'_>,
    x: &[f32],
    batch: usize,
    bias: Option<&[f32]>,
    act: Activation,
    y: &mut [f32],
) {
    let y = &mut y[..batch * m.rows];
    let scalar = path == Path::Scalar;
    gemv_batch_plain(scalar, m, x, batch, bias, y);
    if scalar {
        crate::reference::activate_slice(act, y);
    } else {
        // SAFETY: the portable path runs everywhere.
        unsafe { activate_slice(crate::portable::Portable, act, y) };
    }
}

#[cfg(test)]
// Scalar test data: no vector operation in these closures (see clippy.toml).
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::*;

    #[test]
    fn quantize_zeroes_what_the_kernels_read_past_cols() {
        // A reused buffer: a wide vector first, then narrower ones; every entry a kernel reads
        // past `cols` (up to the next multiple of 64) must be zero again.
        let mut qv = QVec::new();
        let wide: [f32; 200] = core::array::from_fn(|i| 1.0 + i as f32);
        quantize(&wide, &mut qv);
        assert!(qv.q[..200].iter().all(|&v| v != 0));
        for cols in [1usize, 31, 32, 33, 100, 150] {
            quantize(&wide[..cols], &mut qv);
            let end = q_read_len(cols);
            assert_eq!(end % 64, 0);
            assert!(end >= cols && end - cols < 64, "cols {cols}");
            assert!(qv.q[..cols].iter().all(|&v| v != 0), "cols {cols}");
            assert!(qv.q[cols..end].iter().all(|&v| v == 0), "cols {cols}");
        }
        assert_eq!(q_read_len(QMAX_COLS), QBUF);
    }

    #[test]
    fn quantize_reports_sign_and_high_byte_sum() {
        let mut qv = QVec::new();
        let x: [f32; 70] = core::array::from_fn(|i| (i as f32 - 20.0) / 7.0);
        quantize(&x, &mut qv);
        assert!(!qv.nonneg);
        let want: i32 = qv.q[..70].iter().map(|&v| i32::from(v >> 8)).sum();
        assert_eq!(qv.hsum, want);
        let relu: [f32; 70] = x.map(|v| v.max(0.0));
        quantize(&relu, &mut qv);
        assert!(qv.nonneg);
        assert_eq!(
            qv.hsum,
            qv.q[..70].iter().map(|&v| i32::from(v >> 8)).sum::<i32>()
        );
        quantize(&[0.0; 5], &mut qv);
        assert!(qv.nonneg && qv.hsum == 0);
    }
}
