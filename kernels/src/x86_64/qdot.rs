//! x86-64 integer row sums for the int8 W8A16 GEMV (`qgemv.rs`), summed exactly in i32 lanes,
//! then 16 (zmm) or 8 (ymm) row accumulators reduced together by a transpose-and-add tree:
//!
//! - [`ZmmBytes`] (AVX512-VNNI + VBMI, one vector at a time): the int8 weights as stored,
//!   against the two byte planes of the i16 input (`vpdpbusd`); the default on this CPU family.
//! - [`Zmm`] (AVX512-BW, and blocks of 4 vectors): weights widened to i16 in registers
//!   (`vpmovsxbw`), multiplied by the i16 input (`vpdpwssd` with VNNI, `vpmaddwd` + `vpaddd`
//!   otherwise).
//! - [`Ymm`] (AVX2): as `Zmm` on 8 lanes.
//!
//! and on the blocked layout (`qblock.rs`, 16 rows x 4 columns per 64 bytes, no reduction per row):
//! [`ZmmBlocks`] (AVX512-VNNI + VBMI, `vpdpbusd` on byte planes) and [`YmmBlocks`] (AVX2,
//! `vpmovsxbw` + `vpmaddwd`).
//!
//! Every function here is a small `unsafe` wrapper over intrinsics; the contract is
//! [`QRows::rows`]: the CPU supports the token's features, the rows exist, and
//! `cols <= QMAX_COLS` (the quantized vector buffers are `QBUF` i16, zero from `cols` to the
//! next multiple of 64, so full-width loads of `x_q` or its planes at the row tail stay inside
//! them and read zeros). Weight loads never leave `values`: the zmm kernels mask the row tail
//! (fault-suppressing loads), except that [`ZmmBytes`] lets a full 64-byte tail load run on
//! into the next rows when they exist (their bytes meet zeros); the ymm kernels do the same
//! with 16-byte tail loads and fall back to a zero-padded stack copy for the matrix's last
//! rows.

use core::arch::x86_64::*;

use crate::dot::row_ptrs;
use crate::qblock::{PortableBlocks, QBlocks, BLOCKS_AT_ONCE};
use crate::qgemv::{Int8Layout, QMat, QRows, QVec, QBUF};
use crate::vector_math::activate_slice;
use crate::Activation;

use super::avx2::Avx2;
use super::avx512::Avx512;

/// AVX-512BW/VL row sums; `VNNI` selects `vpdpwssd` over `vpmaddwd` + `vpaddd`.
#[derive(Clone, Copy)]
pub(crate) struct Zmm<const VNNI: bool>;

/// AVX2 row sums (`vpmaddwd` + `vpaddd`).
#[derive(Clone, Copy)]
pub(crate) struct Ymm;

/// AVX512-VNNI row sums on bytes (`vpdpbusd`, 64 multiply-adds per instruction) for one
/// vector at a time, with the int8 weights used as stored: no widening, one 64-byte load per
/// row step. Blocks of 4 vectors go to [`Zmm`] (its widened weights are shared by the 4
/// vectors; the byte planes of 4 vectors would not fit the registers).
///
/// `vpdpbusd` multiplies unsigned by signed bytes, so each i16 `x_q` is split into its bytes
/// once per vector ([`QRows::prepare`]), `x_q = 256 h + l` with `h = x_q >> 8` (arithmetic,
/// in [-128, 127]) and `l = x_q & 255` (in [0, 255]). Each weight load feeds two
/// accumulators, one per plane; per row, in wrapping i32 arithmetic (exact: the true sum
/// fits in i32, see [`crate::qgemv::q_range`], so a wrapped intermediate comes back to it):
///
/// ```text
/// every x_q >= 0:  s = (sum_i h_i w_i << 8) + sum_i l_i w_i           (h as unsigned bytes)
/// otherwise:       s = (sum_i (w_i ^ 0x80) h_i << 8) - (sum_i h_i << 15) + sum_i l_i w_i
/// ```
///
/// (`w ^ 0x80 = w + 128` as an unsigned byte, so the first sum over-counts `128 sum h`.) A
/// block's 16 rows run as two halves of 8 (16 accumulators each); the first half's combined
/// sums wait in 8 registers for the reduction. Against [`Zmm`] on one vector (same run,
/// 100-column rows): ~11 % less time for workload S's int8 generate, ~23 % for L's.
#[derive(Clone, Copy)]
pub(crate) struct ZmmBytes;

/// Half a block: `out[k] = s` (above) for the 8 rows `wr[k]`.
///
/// # Safety
/// AVX512-BW/VNNI; `wr[..8]` point at rows with `cols` readable bytes, and 64 readable bytes
/// at every step start `c < cols` when `full_tail`; the planes of `x` prepared for `cols`.
#[inline(always)]
unsafe fn byte_half<const XOR: bool>(
    wr: &[*const i8],
    cols: usize,
    full_tail: bool,
    x: &QVec,
    out: &mut [__m512i],
) {
    // SAFETY: loads as the caller guarantees; plane reads end at cols rounded up to 64,
    // inside the QBUF-long planes.
    unsafe {
        let mut hi = [_mm512_setzero_si512(); 8];
        let mut lo = [_mm512_setzero_si512(); 8];
        let mut c = 0;
        while c + 64 <= cols {
            byte_step::<XOR>(wr, c, !0, x, &mut hi, &mut lo);
            c += 64;
        }
        if c < cols {
            let mask = if full_tail {
                !0
            } else {
                (1u64 << (cols - c)) - 1
            };
            byte_step::<XOR>(wr, c, mask, x, &mut hi, &mut lo);
        }
        // The correction goes into lane 0 only: the reduction sums the 16 lanes.
        let corr = _mm512_set1_epi32(x.hsum.wrapping_shl(15));
        for k in 0..8 {
            let s = _mm512_add_epi32(_mm512_slli_epi32::<8>(hi[k]), lo[k]);
            out[k] = if XOR {
                _mm512_mask_sub_epi32(s, 1, s, corr)
            } else {
                s
            };
        }
    }
}

/// One 64-column step of [`byte_half`] (a function, not a closure: a closure may stay out of
/// line without the target features, turning every intrinsic into a call).
///
/// # Safety
/// As [`byte_half`], for the bytes `mask` selects at `c`.
#[inline(always)]
unsafe fn byte_step<const XOR: bool>(
    wr: &[*const i8],
    c: usize,
    mask: __mmask64,
    x: &QVec,
    hi: &mut [__m512i; 8],
    lo: &mut [__m512i; 8],
) {
    // SAFETY: the caller's contract.
    unsafe {
        let ph = _mm512_loadu_si512(x.hi.as_ptr().add(c).cast());
        let pl = _mm512_loadu_si512(x.lo.as_ptr().add(c).cast());
        for k in 0..8 {
            let w = if mask == !0 {
                _mm512_loadu_si512(wr[k].add(c).cast())
            } else {
                _mm512_maskz_loadu_epi8(mask, wr[k].add(c))
            };
            hi[k] = if XOR {
                _mm512_dpbusd_epi32(hi[k], _mm512_xor_si512(w, _mm512_set1_epi8(-128)), ph)
            } else {
                _mm512_dpbusd_epi32(hi[k], ph, w)
            };
            lo[k] = _mm512_dpbusd_epi32(lo[k], pl, w);
        }
    }
}

/// The byte planes of `x_q[..cols rounded up to 64]` (zero past `cols`) into `qv.lo` /
/// `qv.hi`, the high plane XORed with `hi_xor` (0, or -128 to offset it by 128): one
/// `vpermt2b` per plane and 64 columns. Called inside AVX512-VBMI entries only.
#[inline(always)]
fn split_planes(qv: &mut QVec, cols: usize, hi_xor: i8) {
    let n = crate::qgemv::q_read_len(cols);
    // SAFETY: AVX512-VBMI (the entry's features); reads of `q` and writes of the planes at
    // c + 64 <= n <= QBUF.
    unsafe {
        let lo_idx = _mm512_loadu_si512(PLANE_INDEX[0].as_ptr().cast());
        let hi_idx = _mm512_loadu_si512(PLANE_INDEX[1].as_ptr().cast());
        let flip = _mm512_set1_epi8(hi_xor);
        let mut c = 0;
        while c < n {
            let a = _mm512_loadu_si512(qv.q.as_ptr().add(c).cast());
            let b = _mm512_loadu_si512(qv.q.as_ptr().add(c + 32).cast());
            let lo = _mm512_permutex2var_epi8(a, lo_idx, b);
            let hi = _mm512_xor_si512(_mm512_permutex2var_epi8(a, hi_idx, b), flip);
            _mm512_storeu_si512(qv.lo.as_mut_ptr().add(c).cast(), lo);
            _mm512_storeu_si512(qv.hi.as_mut_ptr().add(c).cast(), hi);
            c += 64;
        }
    }
}

/// `vpermt2b` indices gathering the low (`[0]`) and high (`[1]`) bytes of 64 i16 held in two
/// registers, in column order.
const PLANE_INDEX: [[u8; 64]; 2] = {
    let mut t = [[0u8; 64]; 2];
    let mut j = 0;
    while j < 64 {
        t[0][j] = (2 * j) as u8;
        t[1][j] = (2 * j + 1) as u8;
        j += 1;
    }
    t
};

impl QRows for ZmmBytes {
    const BLOCK4: bool = true;

    #[inline(always)]
    fn prepare(self, qv: &mut QVec, cols: usize) {
        split_planes(qv, cols, 0);
    }

    /// 16 rows of one vector in two halves of 8, 64 columns per step; `B = 4` goes to
    /// [`Zmm`].
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
        if B != 1 {
            // SAFETY: forwarded contract (the VNNI kernel needs a subset of the features).
            return unsafe { Zmm::<true>.rows::<B>(values, cols, r0, n, xs, sums) };
        }
        debug_assert!(n <= 16 && cols <= QBUF);
        debug_assert!(values.len() >= (r0 + n) * cols);
        let (wp, x) = (values.as_ptr(), xs[0]);
        // SAFETY: row pointers point at existing rows (rows past `n` repeat the last real one;
        // their sums are discarded). A step's 64-byte load starts inside its row; it reads on
        // into the next rows (whose bytes meet zero planes past `cols`) only when the block's
        // last row still has 64 bytes from its last step start inside `values`
        // (`full_tail`), and is masked to the row's last `cols - c` bytes otherwise.
        unsafe {
            let last = r0 + n - 1;
            let full_tail = last * cols + cols.next_multiple_of(64) <= values.len();
            let wr: [*const i8; 16] = row_ptrs(wp, r0, n, 16, cols);
            let mut acc = [_mm512_setzero_si512(); 16];
            let (first, second) = acc.split_at_mut(8);
            // A short last block of at most 8 rows skips the second half (its sums stay 0 and
            // are not copied out).
            if x.nonneg {
                byte_half::<false>(&wr[..8], cols, full_tail, x, first);
                if n > 8 {
                    byte_half::<false>(&wr[8..], cols, full_tail, x, second);
                }
            } else {
                byte_half::<true>(&wr[..8], cols, full_tail, x, first);
                if n > 8 {
                    byte_half::<true>(&wr[8..], cols, full_tail, x, second);
                }
            }
            let mut out = [0i32; 16];
            _mm512_storeu_si512(out.as_mut_ptr().cast(), reduce16(&acc));
            sums[0][..n].copy_from_slice(&out[..n]);
        }
    }
}

/// `acc + sum over pairs of w * x` (i16 pairs into i32 lanes, exact).
#[inline(always)]
unsafe fn dp512<const VNNI: bool>(acc: __m512i, w: __m512i, x: __m512i) -> __m512i {
    // SAFETY: the caller's CPU has AVX-512BW (and VNNI when VNNI).
    unsafe {
        if VNNI {
            _mm512_dpwssd_epi32(acc, w, x)
        } else {
            _mm512_add_epi32(acc, _mm512_madd_epi16(w, x))
        }
    }
}

/// 16 vectors of 16 i32 lanes to one vector whose lane `j` is the sum of `v[j]`'s lanes:
/// 15 add and 30 shuffle instructions instead of 16 horizontal reductions.
#[inline(always)]
unsafe fn reduce16(v: &[__m512i; 16]) -> __m512i {
    // SAFETY: AVX-512F.
    unsafe {
        // Per 128-bit lane: [a0+a2, b0+b2, a1+a3, b1+b3].
        let mut t = [_mm512_setzero_si512(); 8];
        for (i, o) in t.iter_mut().enumerate() {
            *o = {
                let (a, b) = (v[2 * i], v[2 * i + 1]);
                _mm512_add_epi32(_mm512_unpacklo_epi32(a, b), _mm512_unpackhi_epi32(a, b))
            };
        }
        // Per 128-bit lane: the partial sums of rows 4i..4i+4, in order.
        let mut u = [_mm512_setzero_si512(); 4];
        for (i, o) in u.iter_mut().enumerate() {
            *o = {
                let (c, d) = (t[2 * i], t[2 * i + 1]);
                _mm512_add_epi32(_mm512_unpacklo_epi64(c, d), _mm512_unpackhi_epi64(c, d))
            };
        }
        /// Sums 128-bit blocks pairwise: `[a0+a1, a2+a3, b0+b1, b2+b3]`.
        #[inline(always)]
        unsafe fn half(a: __m512i, b: __m512i) -> __m512i {
            // SAFETY: AVX-512F (the caller's contract).
            unsafe {
                _mm512_add_epi32(
                    _mm512_shuffle_i32x4::<0b10_00_10_00>(a, b),
                    _mm512_shuffle_i32x4::<0b11_01_11_01>(a, b),
                )
            }
        }
        half(half(u[0], u[1]), half(u[2], u[3]))
    }
}

impl<const VNNI: bool> QRows for Zmm<VNNI> {
    const BLOCK4: bool = true;

    /// `16 / B` rows by `B` vectors = 16 accumulators; 32 columns per step.
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
        let r_blk = 16 / B;
        debug_assert!(r_blk * B == 16 && n <= 16 && cols <= QBUF);
        debug_assert!(values.len() >= (r0 + n) * cols);
        let wp = values.as_ptr();
        // SAFETY: row pointers point at existing rows (rows past `n` repeat the last real one;
        // their sums are discarded); weight loads are full 32-byte loads inside a row
        // (c + 32 <= cols) or masked to the row's last `cols - c` bytes; `x_q` loads read
        // 32 i16 at c < cols <= QBUF, c a multiple of 32, inside the buffer.
        unsafe {
            let mut sub = 0;
            while sub < n {
                let m = (n - sub).min(r_blk);
                let wr: [*const i8; 16] = row_ptrs(wp, r0 + sub, m, r_blk, cols);
                let mut acc = [_mm512_setzero_si512(); 16];
                let mut c = 0;
                while c + 32 <= cols {
                    let mut xv = [_mm512_setzero_si512(); B];
                    for b in 0..B {
                        xv[b] = _mm512_loadu_si512(xs[b].q.as_ptr().add(c).cast());
                    }
                    for k in 0..r_blk {
                        let w = _mm512_cvtepi8_epi16(_mm256_loadu_si256(wr[k].add(c).cast()));
                        for b in 0..B {
                            acc[k * B + b] = dp512::<VNNI>(acc[k * B + b], w, xv[b]);
                        }
                    }
                    c += 32;
                }
                if c < cols {
                    let mask: __mmask32 = (1u32 << (cols - c)) - 1;
                    let mut xv = [_mm512_setzero_si512(); B];
                    for b in 0..B {
                        xv[b] = _mm512_loadu_si512(xs[b].q.as_ptr().add(c).cast());
                    }
                    for k in 0..r_blk {
                        let w = _mm512_cvtepi8_epi16(_mm256_maskz_loadu_epi8(mask, wr[k].add(c)));
                        for b in 0..B {
                            acc[k * B + b] = dp512::<VNNI>(acc[k * B + b], w, xv[b]);
                        }
                    }
                }
                let mut out = [0i32; 16];
                _mm512_storeu_si512(out.as_mut_ptr().cast(), reduce16(&acc));
                for k in 0..m {
                    for b in 0..B {
                        sums[b][sub + k] = out[k * B + b];
                    }
                }
                sub += r_blk;
            }
        }
    }
}

/// 8 vectors of 8 i32 lanes to one vector whose lane `j` is the sum of `v[j]`'s lanes.
#[inline(always)]
unsafe fn reduce8(v: &[__m256i; 8]) -> __m256i {
    // SAFETY: AVX2.
    unsafe {
        let h0 = _mm256_hadd_epi32(v[0], v[1]);
        let h1 = _mm256_hadd_epi32(v[2], v[3]);
        let h2 = _mm256_hadd_epi32(v[4], v[5]);
        let h3 = _mm256_hadd_epi32(v[6], v[7]);
        // Per 128-bit lane: partial sums of rows 0..4 (g0) and 4..8 (g1).
        let g0 = _mm256_hadd_epi32(h0, h1);
        let g1 = _mm256_hadd_epi32(h2, h3);
        _mm256_add_epi32(
            _mm256_permute2x128_si256::<0x20>(g0, g1),
            _mm256_permute2x128_si256::<0x31>(g0, g1),
        )
    }
}

/// The row tail of [`Ymm`]'s `8 / B` rows, `t < 16` columns from `c`: one 16-column step
/// (the loads run on into the next row, whose bytes meet zero `x_q`), or 8 columns on 128-bit
/// registers when `t <= 8` (S's 100-column rows end in 4: half the work of a full step).
///
/// # Safety
/// AVX2; 16 bytes readable at `wr[k] + c` for every `k < 8 / B`; `xs[b].q` zero from `cols`.
#[inline(always)]
unsafe fn ymm_tail<const B: usize>(
    wr: &[*const i8; 8],
    c: usize,
    t: usize,
    xs: [&QVec; B],
    acc: &mut [__m256i; 8],
) {
    let r_blk = 8 / B;
    // SAFETY: the caller's contract; the x reads of at most 16 i16 at `c` (a multiple of 16
    // below `cols`) end within `q_read_len(cols)`.
    unsafe {
        if t <= 8 {
            for k in 0..r_blk {
                let w = _mm_cvtepi8_epi16(_mm_loadl_epi64(wr[k].add(c).cast()));
                for b in 0..B {
                    let x = _mm_loadu_si128(xs[b].q.as_ptr().add(c).cast());
                    let p = _mm256_zextsi128_si256(_mm_madd_epi16(w, x));
                    acc[k * B + b] = _mm256_add_epi32(acc[k * B + b], p);
                }
            }
        } else {
            for k in 0..r_blk {
                let w = _mm256_cvtepi8_epi16(_mm_loadu_si128(wr[k].add(c).cast()));
                for b in 0..B {
                    let x = _mm256_loadu_si256(xs[b].q.as_ptr().add(c).cast());
                    acc[k * B + b] = _mm256_add_epi32(acc[k * B + b], _mm256_madd_epi16(w, x));
                }
            }
        }
    }
}

impl QRows for Ymm {
    const BLOCK4: bool = true;

    /// `8 / B` rows by `B` vectors (B = 4: 2 rows) = 8 accumulators; 16 columns per step.
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
        let r_blk = 8 / B;
        debug_assert!(r_blk * B == 8 && n <= 16 && cols <= QBUF);
        debug_assert!(values.len() >= (r0 + n) * cols);
        let wp = values.as_ptr();
        // SAFETY: as for `Zmm`, except the row tail: a full 16-byte load runs on into the next
        // rows (whose bytes meet zero x_q past `cols`) when the block's last row has 16 bytes
        // from the tail start inside `values`, else (the matrix's last rows) a zero-padded
        // stack copy.
        unsafe {
            let mut sub = 0;
            while sub < n {
                let m = (n - sub).min(r_blk);
                let wr: [*const i8; 8] = row_ptrs(wp, r0 + sub, m, r_blk, cols);
                let mut acc = [_mm256_setzero_si256(); 8];
                // The next block's `r_blk * cols` bytes (contiguous) are fetched into L1 while
                // this one runs, 128 bytes per 16-column step (`r_blk * 16`). A hint only, so it
                // may point past `values` (wrapping pointer arithmetic, never dereferenced).
                let next = wp.wrapping_add((r0 + sub + r_blk) * cols);
                let mut c = 0;
                while c + 16 <= cols {
                    _mm_prefetch::<_MM_HINT_T0>(next.wrapping_add(c * r_blk));
                    _mm_prefetch::<_MM_HINT_T0>(next.wrapping_add(c * r_blk + 64));
                    let mut xv = [_mm256_setzero_si256(); B];
                    for b in 0..B {
                        xv[b] = _mm256_loadu_si256(xs[b].q.as_ptr().add(c).cast());
                    }
                    for k in 0..r_blk {
                        let w = _mm256_cvtepi8_epi16(_mm_loadu_si128(wr[k].add(c).cast()));
                        for b in 0..B {
                            acc[k * B + b] =
                                _mm256_add_epi32(acc[k * B + b], _mm256_madd_epi16(w, xv[b]));
                        }
                    }
                    c += 16;
                }
                if c < cols {
                    let t = cols - c;
                    if (r0 + sub + m - 1) * cols + c + 16 <= values.len() {
                        ymm_tail(&wr, c, t, xs, &mut acc);
                    } else {
                        // The matrix's last rows: their 16-byte loads would leave `values`.
                        // Scalar sums into lane 0 (the reduction adds every lane); a copy
                        // into a zeroed buffer instead (a `memcpy` call) made the compiler
                        // keep the accumulators on the stack around it in every block.
                        for k in 0..r_blk {
                            for b in 0..B {
                                let mut s = 0i32;
                                for j in 0..t {
                                    s += i32::from(*wr[k].add(c + j)) * i32::from(xs[b].q[c + j]);
                                }
                                acc[k * B + b] = _mm256_add_epi32(
                                    acc[k * B + b],
                                    _mm256_setr_epi32(s, 0, 0, 0, 0, 0, 0, 0),
                                );
                            }
                        }
                    }
                }
                // All `r_blk` rows' sums are written, `m` or not (`sub + r_blk <= 16`; the
                // caller reads the first `n`): a copy of `m` entries became a `vpmaskmovd`
                // store, microcoded on AMD, and the epilogue's load of it then waited for the
                // store to retire (11 % of S's int8 generate on Zen 3).
                let sum = reduce8(&acc);
                if B == 1 {
                    _mm256_storeu_si256(sums[0].as_mut_ptr().add(sub).cast(), sum);
                } else {
                    let mut out = [0i32; 8];
                    _mm256_storeu_si256(out.as_mut_ptr().cast(), sum);
                    for k in 0..r_blk {
                        for b in 0..B {
                            sums[b][sub + k] = out[k * B + b];
                        }
                    }
                }
                sub += r_blk;
            }
        }
    }
}

/// AVX512-VNNI row sums on the blocked layout (`qblock.rs`): a lane is a row, so each
/// `vpdpbusd` adds 4 columns of 16 rows with no reduction afterwards. The input's byte planes
/// (as for [`ZmmBytes`], `x_q = 256 h + l`) are broadcast 4 bytes at a time as the unsigned
/// operand and the stored weights are the signed one, per lane in wrapping i32 (exact, as the
/// true sum fits):
///
/// ```text
/// every x_q >= 0:  s = (sum_i h_i w_i << 8) + sum_i l_i w_i
/// otherwise:       s = (sum_i (h_i ^ 0x80) w_i << 8) - (sum_i w_i << 15) + sum_i l_i w_i
/// ```
///
/// (`h ^ 0x80 = h + 128` as an unsigned byte; the row sums `sum_i w_i` come from a third
/// `vpdpbusd` against bytes of 1.) [`BLOCKS_AT_ONCE`] blocks (64 rows) share each broadcast.
#[derive(Clone, Copy)]
pub(crate) struct ZmmBlocks;

/// [`ZmmBlocks`] on `NB` row blocks: `out[k]` = the 16 row sums of block `k`.
///
/// # Safety
/// AVX512-BW/VNNI; `blocks[k]` points at `groups * 64` readable bytes; the planes of `x` hold
/// `4 * groups` prepared bytes.
#[inline(always)]
unsafe fn block_sums<const NB: usize, const SIGNED: bool>(
    blocks: [*const i8; NB],
    groups: usize,
    x: &QVec,
    out: &mut [__m512i; BLOCKS_AT_ONCE],
) {
    // SAFETY: the caller's contract; plane reads at 4 g + 4 <= 4 groups.
    unsafe {
        let mut lo = [_mm512_setzero_si512(); NB];
        let mut hi = [_mm512_setzero_si512(); NB];
        let mut rs = [_mm512_setzero_si512(); NB];
        let ones = _mm512_set1_epi8(1);
        let (lp, hp) = (x.lo.as_ptr().cast::<i32>(), x.hi.as_ptr().cast::<i32>());
        for g in 0..groups {
            let bl = _mm512_set1_epi32(lp.add(g).read_unaligned());
            let bh = _mm512_set1_epi32(hp.add(g).read_unaligned());
            for k in 0..NB {
                let w = _mm512_loadu_si512(blocks[k].add(g * 64).cast());
                lo[k] = _mm512_dpbusd_epi32(lo[k], bl, w);
                hi[k] = _mm512_dpbusd_epi32(hi[k], bh, w);
                if SIGNED {
                    rs[k] = _mm512_dpbusd_epi32(rs[k], ones, w);
                }
            }
        }
        for k in 0..NB {
            let s = _mm512_add_epi32(lo[k], _mm512_slli_epi32::<8>(hi[k]));
            out[k] = if SIGNED {
                _mm512_sub_epi32(s, _mm512_slli_epi32::<15>(rs[k]))
            } else {
                s
            };
        }
    }
}

impl QBlocks for ZmmBlocks {
    /// The byte planes of `x_q[..cols rounded up to 64]` (zero past `cols`), the high plane
    /// offset by 128 when some `x_q < 0`.
    #[inline(always)]
    fn prepare(self, qv: &mut QVec, cols: usize) {
        split_planes(qv, cols, if qv.nonneg { 0 } else { -128 });
    }

    #[inline(always)]
    unsafe fn sums(
        self,
        values: &[i8],
        groups: usize,
        rb0: usize,
        nb: usize,
        qv: &QVec,
        sums: &mut [i32; BLOCKS_AT_ONCE * 16],
    ) {
        let p = |k: usize| values.as_ptr().wrapping_add((rb0 + k) * groups * 64);
        // SAFETY: blocks rb0..rb0 + nb exist (caller); prepare ran on qv.
        unsafe {
            let mut out = [_mm512_setzero_si512(); BLOCKS_AT_ONCE];
            match (nb, qv.nonneg) {
                (1, true) => block_sums::<1, false>([p(0)], groups, qv, &mut out),
                (2, true) => block_sums::<2, false>([p(0), p(1)], groups, qv, &mut out),
                (3, true) => block_sums::<3, false>([p(0), p(1), p(2)], groups, qv, &mut out),
                (_, true) => block_sums::<4, false>([p(0), p(1), p(2), p(3)], groups, qv, &mut out),
                (1, false) => block_sums::<1, true>([p(0)], groups, qv, &mut out),
                (2, false) => block_sums::<2, true>([p(0), p(1)], groups, qv, &mut out),
                (3, false) => block_sums::<3, true>([p(0), p(1), p(2)], groups, qv, &mut out),
                (_, false) => block_sums::<4, true>([p(0), p(1), p(2), p(3)], groups, qv, &mut out),
            }
            for (k, o) in out.iter().enumerate().take(nb) {
                _mm512_storeu_si512(sums.as_mut_ptr().add(16 * k).cast(), *o);
            }
        }
    }
}

/// AVX2 row sums on the blocked layout (`qblock.rs`), for CPUs without an 8-bit dot product
/// instruction: each 16-byte quarter of a 16 x 4 tile (4 rows x 4 columns, byte `4 r + c`) is
/// widened to i16 (`vpmovsxbw`, one load) and multiplied by the tile's 4 `x_q` broadcast 4
/// times (`vpmaddwd`), which leaves each row's two column pairs in two adjacent i32 lanes:
///
/// ```text
/// acc[q] lanes (q = 0..4, rows 4q..4q+4 of the block):
///   [r0 c0+c1, r0 c2+c3, r1 c0+c1, r1 c2+c3 | r2 c0+c1, r2 c2+c3, r3 c0+c1, r3 c2+c3]
/// ```
///
/// so a block ends in two `vphaddd` and two `vpermq`, once per 16 rows (row-major rows end in a
/// full 8-to-1 reduction per 8 rows, and in a partial step when `cols` is not a multiple of 16).
/// Exact: `x_q`
/// is i16 and the weights fit i16, so `vpmaddwd` is exact, and the i32 sums are bounded by
/// [`crate::qgemv::q_range`]. Two blocks (8 accumulators) share each broadcast.
#[derive(Clone, Copy)]
pub(crate) struct YmmBlocks;

/// [`YmmBlocks`] on `NB` row blocks (1 or 2): `out[16 k + r]` = the sum of row `r` of block `k`.
///
/// # Safety
/// AVX2; `blocks[k]` points at `groups * 64` readable bytes; `qv.q` holds `4 * groups` entries
/// (zero past `cols`); `out` holds `16 * NB` entries.
#[inline(always)]
unsafe fn ymm_block_sums<const NB: usize>(
    blocks: [*const i8; NB],
    groups: usize,
    qv: &QVec,
    out: &mut [i32],
) {
    debug_assert!(out.len() >= 16 * NB);
    // SAFETY: the caller's contract; x reads of 8 bytes at 4 g <= 4 (groups - 1).
    unsafe {
        let mut acc = [[_mm256_setzero_si256(); 4]; NB];
        let xp = qv.q.as_ptr();
        for g in 0..groups {
            // x_q[4g..4g+4] (8 bytes) in every 64-bit lane.
            let xb = _mm256_set1_epi64x(xp.add(4 * g).cast::<i64>().read_unaligned());
            for k in 0..NB {
                let tile = blocks[k].add(g * 64);
                for q in 0..4 {
                    let w = _mm256_cvtepi8_epi16(_mm_loadu_si128(tile.add(16 * q).cast()));
                    acc[k][q] = _mm256_add_epi32(acc[k][q], _mm256_madd_epi16(w, xb));
                }
            }
        }
        for k in 0..NB {
            // Per 128-bit lane: [r0, r1, r4, r5 | r2, r3, r6, r7] (then rows 8..16 alike);
            // vpermq puts the 64-bit pairs in row order.
            let a = _mm256_hadd_epi32(acc[k][0], acc[k][1]);
            let b = _mm256_hadd_epi32(acc[k][2], acc[k][3]);
            let a = _mm256_permute4x64_epi64::<0b11_01_10_00>(a);
            let b = _mm256_permute4x64_epi64::<0b11_01_10_00>(b);
            let o = out.as_mut_ptr().add(16 * k);
            _mm256_storeu_si256(o.cast(), a);
            _mm256_storeu_si256(o.add(8).cast(), b);
        }
    }
}

impl QBlocks for YmmBlocks {
    #[inline(always)]
    unsafe fn sums(
        self,
        values: &[i8],
        groups: usize,
        rb0: usize,
        nb: usize,
        qv: &QVec,
        sums: &mut [i32; BLOCKS_AT_ONCE * 16],
    ) {
        let p = |k: usize| values.as_ptr().wrapping_add((rb0 + k) * groups * 64);
        // SAFETY: blocks rb0..rb0 + nb exist (caller).
        unsafe {
            let mut k = 0;
            while k + 2 <= nb {
                ymm_block_sums::<2>([p(k), p(k + 1)], groups, qv, &mut sums[16 * k..]);
                k += 2;
            }
            if k < nb {
                ymm_block_sums::<1>([p(k)], groups, qv, &mut sums[16 * k..]);
            }
        }
    }
}

/// An int8 GEMV entry compiled with `$features`: `$driver` (row-major `gemv_batch_with` or
/// blocked `gemv_batch_blocked_with`) with the row-sum token `$rows`, then the activation on
/// the path `$token`.
macro_rules! q_entry {
    ($name:ident, $features:literal, $rows:expr, $token:expr) => {
        q_entry!(
            $name,
            $features,
            crate::qgemv::gemv_batch_with,
            $rows,
            $token
        );
    };
    ($name:ident, $features:literal, $driver:path, $rows:expr, $token:expr) => {
        /// # Safety
        /// The CPU supports the features; lengths validated by `gemv::validate_gemv`;
        /// `cols <= QMAX_COLS`.
        #[allow(clippy::too_many_arguments)]
        #[target_feature(enable = $features)]
        unsafe fn $name(
            values: &[i8],
            scales: &[f32],
            rows: usize,
            cols: usize,
            x: &[f32],
            batch: usize,
            bias: Option<&[f32]>,
            act: Activation,
            y: &mut [f32],
        ) {
            let y = &mut y[..batch * rows];
            // SAFETY: forwarded contract.
            unsafe {
                $driver($rows, values, scales, rows, cols, x, batch, bias, y);
                activate_slice($token, act, y);
            }
        }
    };
}

q_entry!(
    entry_blocked_vnni,
    "avx512f,avx512dq,avx512bw,avx512vl,avx512vnni,avx512vbmi",
    crate::qblock::gemv_batch_blocked_with,
    ZmmBlocks,
    Avx512
);
q_entry!(
    entry_blocked_avx2_on512,
    "avx512f,avx512dq,avx2,fma,f16c",
    crate::qblock::gemv_batch_blocked_with,
    YmmBlocks,
    Avx512
);
q_entry!(
    entry_blocked_on512,
    "avx512f,avx512dq",
    crate::qblock::gemv_batch_blocked_with,
    PortableBlocks,
    Avx512
);
q_entry!(
    entry_blocked_avx2,
    "avx2,fma,f16c",
    crate::qblock::gemv_batch_blocked_with,
    YmmBlocks,
    Avx2
);

q_entry!(
    entry_vnni,
    "avx512f,avx512dq,avx512bw,avx512vl,avx512vnni",
    Zmm::<true>,
    Avx512
);
q_entry!(
    entry_bytes,
    "avx512f,avx512dq,avx512bw,avx512vl,avx512vnni,avx512vbmi",
    ZmmBytes,
    Avx512
);
q_entry!(
    entry_bw,
    "avx512f,avx512dq,avx512bw,avx512vl",
    Zmm::<false>,
    Avx512
);
q_entry!(
    entry_avx2_on512,
    "avx512f,avx512dq,avx2,fma,f16c",
    Ymm,
    Avx512
);
q_entry!(entry_avx2, "avx2,fma,f16c", Ymm, Avx2);

#[cfg(feature = "std")]
fn has(f: &str) -> bool {
    match f {
        "avx512bw" => std::is_x86_feature_detected!("avx512bw"),
        "avx512vl" => std::is_x86_feature_detected!("avx512vl"),
        "avx512vnni" => std::is_x86_feature_detected!("avx512vnni"),
        "avx512vbmi" => std::is_x86_feature_detected!("avx512vbmi"),
        "avx2" => std::is_x86_feature_detected!("avx2"),
        _ => false,
    }
}
#[cfg(not(feature = "std"))]
fn has(f: &str) -> bool {
    match f {
        "avx512bw" => cfg!(target_feature = "avx512bw"),
        "avx512vl" => cfg!(target_feature = "avx512vl"),
        "avx512vnni" => cfg!(target_feature = "avx512vnni"),
        "avx512vbmi" => cfg!(target_feature = "avx512vbmi"),
        "avx2" => cfg!(target_feature = "avx2"),
        _ => false,
    }
}

/// The integer kernel of the AVX-512 path on this CPU.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum IntKernel {
    /// [`ZmmBytes`]: AVX512-VNNI + VBMI.
    Bytes,
    /// [`Zmm`] with `vpdpwssd`: AVX512-VNNI.
    Vnni,
    /// [`Zmm`] with `vpmaddwd`: AVX512-BW.
    Bw,
    /// [`Ymm`]: AVX-512F without BW, with AVX2.
    Avx2,
    /// The portable row sums.
    Portable,
}

impl IntKernel {
    /// The name [`crate::int8_kernel`] reports.
    pub(crate) fn name(self) -> &'static str {
        match self {
            IntKernel::Bytes => "avx512vnni-bytes",
            IntKernel::Vnni => "avx512vnni",
            IntKernel::Bw => "avx512bw",
            IntKernel::Avx2 => "avx2",
            IntKernel::Portable => "portable",
        }
    }
}

/// Which integer kernel the AVX-512 path uses on this CPU (the feature checks are cached by
/// `is_x86_feature_detected!`).
pub(crate) fn avx512_int_kernel() -> IntKernel {
    if has("avx512bw") && has("avx512vl") {
        if has("avx512vnni") && has("avx512vbmi") {
            IntKernel::Bytes
        } else if has("avx512vnni") {
            IntKernel::Vnni
        } else {
            IntKernel::Bw
        }
    } else if has("avx2") {
        IntKernel::Avx2
    } else {
        IntKernel::Portable
    }
}

/// The AVX-512 path's blocked-int8 entry on this CPU and its name for reports
/// ([`crate::int8_blocked_kernel`]): `vpdpbusd` with VNNI + VBMI, else the AVX2 kernel, else
/// the portable loop.
fn avx512_blocked_entry() -> (&'static str, Entry) {
    if avx512_int_kernel() == IntKernel::Bytes {
        ("avx512vnni-blocked", entry_blocked_vnni)
    } else if crate::Path::Avx2.is_supported() {
        ("avx2", entry_blocked_avx2_on512)
    } else {
        ("avx512-portable", entry_blocked_on512)
    }
}

/// The name of [`avx512_blocked_entry`]'s kernel.
pub(crate) fn avx512_blocked_kernel() -> &'static str {
    avx512_blocked_entry().0
}

/// The AVX-512 path's int8 GEMV (activation included), row-major or blocked (`layout`): the
/// best integer kernel this CPU has for that layout. The caller checked
/// `Path::Avx512.is_supported()`, validated the lengths and `cols <= QMAX_COLS`.
pub(crate) fn avx512_qgemv_batch(
    m: QMat<'_>,
    x: &[f32],
    batch: usize,
    bias: Option<&[f32]>,
    act: Activation,
    y: &mut [f32],
) {
    debug_assert!(crate::Path::Avx512.is_supported() && m.cols <= QBUF);
    // SAFETY: each entry is called only when its features were detected (the AVX-512F/DQ part
    // by the caller); the rest of the contract is the caller's.
    unsafe {
        let entry: Entry = match (m.layout, avx512_int_kernel()) {
            (Int8Layout::Rows, IntKernel::Bytes) => entry_bytes,
            (Int8Layout::Rows, IntKernel::Vnni) => entry_vnni,
            (Int8Layout::Rows, IntKernel::Bw) => entry_bw,
            (Int8Layout::Rows, IntKernel::Avx2) => entry_avx2_on512,
            (Int8Layout::Blocked, _) => avx512_blocked_entry().1,
            (Int8Layout::Rows, IntKernel::Portable) => {
                let y = &mut y[..batch * m.rows];
                crate::qgemv::gemv_batch_portable(m, x, batch, bias, y);
                return crate::x86_64::avx512_activate_slice(act, y);
            }
        };
        entry(m.values, m.scales, m.rows, m.cols, x, batch, bias, act, y)
    }
}

/// The AVX2 path's int8 GEMV (activation included), row-major or blocked. The caller checked
/// `Path::Avx2.is_supported()`, validated the lengths and `cols <= QMAX_COLS`.
pub(crate) fn avx2_qgemv_batch(
    m: QMat<'_>,
    x: &[f32],
    batch: usize,
    bias: Option<&[f32]>,
    act: Activation,
    y: &mut [f32],
) {
    debug_assert!(crate::Path::Avx2.is_supported() && m.cols <= QBUF);
    let entry: Entry = match m.layout {
        Int8Layout::Rows => entry_avx2,
        Int8Layout::Blocked => entry_blocked_avx2,
    };
    // SAFETY: AVX2 + FMA + F16C were detected by the caller; the rest is the caller's.
    unsafe { entry(m.values, m.scales, m.rows, m.cols, x, batch, bias, act, y) }
}

/// The signature of every `q_entry!` function.
type Entry =
    unsafe fn(&[i8], &[f32], usize, usize, &[f32], usize, Option<&[f32]>, Activation, &mut [f32]);

#[cfg(test)]
mod tests {
    extern crate std;
    use std::{vec, vec::Vec};

    use super::*;
    use crate::qgemv::{gemv_batch_generic, QMAX_COLS};
    use crate::Path;

    /// A xorshift64 stream from `seed`.
    fn xorshift(mut seed: u64) -> impl FnMut() -> u64 {
        move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        }
    }

    /// Every x86 integer kernel this CPU can run, not only the one dispatch picks, equals the
    /// scalar reference bit for bit (identity activation).
    #[test]
    fn every_int_kernel_matches_reference() {
        let mut next = xorshift(0x9e37_79b9_7f4a_7c15u64);
        let avx512 = has("avx512bw") && has("avx512vl") && Path::Avx512.is_supported();
        let mut entries: Vec<(&str, Entry)> = Vec::new();
        if avx512 && has("avx512vnni") && has("avx512vbmi") {
            entries.push(("bytes", entry_bytes));
        }
        if avx512 && has("avx512vnni") {
            entries.push(("vnni", entry_vnni));
        }
        if avx512 {
            entries.push(("bw", entry_bw));
        }
        if Path::Avx512.is_supported() && Path::Avx2.is_supported() {
            entries.push(("avx2_on512", entry_avx2_on512));
        }
        if Path::Avx2.is_supported() {
            entries.push(("avx2", entry_avx2));
        }
        let shapes = [
            (1, 1),
            (16, 32),
            (17, 33),
            (5, 15),
            (40, 100),
            (33, 64),
            (31, 65),
            (18, 127),
            (7, 25),
            (12, 40),
            (3, 1000),
            (2, QMAX_COLS),
            (19, QMAX_COLS),
        ];
        for (rows, cols) in shapes {
            for batch in [1, 3, 4, 9] {
                let values: Vec<i8> = (0..rows * cols).map(|_| next() as i8).collect();
                let scales: Vec<f32> = (0..rows).map(|r| 0.01 + r as f32 * 1e-3).collect();
                // Signed (the XOR variant of the byte kernel), non-negative (ReLU outputs, its
                // cheaper variant), and extremes (x_q = +-Q: high bytes -128 and 127, low bytes
                // 0 and 255) in turn.
                let kind = (rows + cols + batch) % 3;
                let x: Vec<f32> = (0..batch * cols)
                    .map(|i| {
                        let v = (next() % 20001) as f32 / 10000.0 - 1.0;
                        match kind {
                            0 => v,
                            1 => v.abs(),
                            _ => {
                                [1.0, -1.0, 0.0, -0.5, 1.0 / 128.0][(i + (next() % 2) as usize) % 5]
                            }
                        }
                    })
                    .collect();
                let bias: Vec<f32> = (0..rows).map(|r| r as f32 * 0.1).collect();
                let mut want = vec![0.0f32; batch * rows];
                let a = Activation::Identity;
                let args = (rows, cols, batch);
                let m = QMat {
                    layout: Int8Layout::Rows,
                    values: &values,
                    scales: &scales,
                    rows,
                    cols,
                };
                gemv_batch_generic(Path::Scalar, m, &x, batch, Some(&bias), a, &mut want);
                for (name, e) in &entries {
                    let mut y = vec![f32::NAN; batch * rows];
                    // SAFETY: the entry's features were detected above; lengths match.
                    unsafe {
                        e(
                            &values,
                            &scales,
                            rows,
                            cols,
                            &x,
                            batch,
                            Some(&bias),
                            a,
                            &mut y,
                        )
                    };
                    assert_eq!(y, want, "{name} {args:?} kind {kind}");
                }
            }
        }
    }

    /// Every x86 blocked-int8 entry this CPU can run, not only the one dispatch picks, equals
    /// the scalar row-major reference bit for bit (identity activation): signed, non-negative
    /// and extreme inputs, 1-4 row blocks at once and partial blocks.
    #[test]
    fn every_blocked_kernel_matches_row_major_reference() {
        let mut next = xorshift(0x2545_f491_4f6c_dd1du64);
        let mut entries: Vec<(&str, Entry)> = Vec::new();
        if Path::Avx512.is_supported() && avx512_int_kernel() == IntKernel::Bytes {
            entries.push(("vnni", entry_blocked_vnni));
        }
        if Path::Avx512.is_supported() {
            entries.push(("on512", entry_blocked_on512));
            if Path::Avx2.is_supported() {
                entries.push(("avx2_on512", entry_blocked_avx2_on512));
            }
        }
        if Path::Avx2.is_supported() {
            entries.push(("avx2", entry_blocked_avx2));
        }
        for (rows, cols) in [
            (1, 1),
            (16, 4),
            (17, 5),
            (48, 33),
            (64, 100),
            (65, 3),
            (130, 64),
        ] {
            let values: Vec<i8> = (0..rows * cols).map(|_| next() as i8).collect();
            let mut blocked = vec![0i8; crate::i8_blocked_len(rows, cols).unwrap()];
            crate::pack_i8_blocked(&values, rows, cols, &mut blocked).unwrap();
            let scales: Vec<f32> = (0..rows).map(|r| 0.01 + r as f32 * 1e-3).collect();
            let bias: Vec<f32> = (0..rows).map(|r| r as f32 * 0.1).collect();
            for kind in 0..3 {
                let batch = 1 + kind;
                let x: Vec<f32> = (0..batch * cols)
                    .map(|i| {
                        let v = (next() % 20001) as f32 / 10000.0 - 1.0;
                        [v, v.abs(), [1.0, -1.0, 0.0][i % 3]][kind]
                    })
                    .collect();
                let a = Activation::Identity;
                let mut want = vec![0.0f32; batch * rows];
                let m = QMat {
                    layout: Int8Layout::Rows,
                    values: &values,
                    scales: &scales,
                    rows,
                    cols,
                };
                gemv_batch_generic(Path::Scalar, m, &x, batch, Some(&bias), a, &mut want);
                for (name, e) in &entries {
                    let mut y = vec![f32::NAN; batch * rows];
                    // SAFETY: the entry's features were detected above; lengths match.
                    unsafe {
                        e(
                            &blocked,
                            &scales,
                            rows,
                            cols,
                            &x,
                            batch,
                            Some(&bias),
                            a,
                            &mut y,
                        );
                    }
                    assert_eq!(y, want, "{name} {rows}x{cols} kind {kind}");
                }
            }
        }
    }
}
