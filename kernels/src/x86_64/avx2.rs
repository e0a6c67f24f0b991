//! AVX2 + FMA (+ F16C) kernels: 8 f32 lanes in `ymm` registers.
//!
//! Every method is a thin `unsafe` wrapper over `core::arch` intrinsics; the contract is the
//! one of [`Simd`]: AVX2, FMA and F16C present, pointers valid for 8 elements.

use core::arch::x86_64::*;

use half::{bf16, f16};

use crate::simd::{Simd, POW2I_BIAS, POW2I_SCALE};

/// Token for the AVX2 + FMA instruction set.
#[derive(Clone, Copy)]
pub(crate) struct Avx2;

impl Simd for Avx2 {
    const REGISTERS: usize = 16;
    const LANES: usize = 8;
    const INLINE_BLOCKS: bool = true;
    // Zen 3, `tile_ab`, 3 rounds alternated (2026-12-07): the folded 2-w-w-w-1 nets at w20
    // 349 -> 333 us, w64 2,190 -> 2,125 us, w100 4,825 -> 4,750-4,814 us (w33, split into
    // blocks of 5, keeps the tanh in the block: 736 against 745-756 us with the pass).
    const TANH_PASS: bool = true;
    type V = __m256;

    #[inline(always)]
    unsafe fn splat(self, x: f32) -> __m256 {
        unsafe { _mm256_set1_ps(x) }
    }
    #[inline(always)]
    unsafe fn load(self, p: *const f32) -> __m256 {
        unsafe { _mm256_loadu_ps(p) }
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f32, v: __m256) {
        unsafe { _mm256_storeu_ps(p, v) }
    }
    #[inline(always)]
    unsafe fn load_f16(self, p: *const f16) -> __m256 {
        unsafe { _mm256_cvtph_ps(_mm_loadu_si128(p.cast())) }
    }
    #[inline(always)]
    unsafe fn load_bf16(self, p: *const bf16) -> __m256 {
        unsafe {
            let h = _mm256_cvtepu16_epi32(_mm_loadu_si128(p.cast()));
            _mm256_castsi256_ps(_mm256_slli_epi32::<16>(h))
        }
    }
    #[inline(always)]
    unsafe fn load_i8(self, p: *const i8) -> __m256 {
        unsafe { _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(p.cast()))) }
    }
    #[inline(always)]
    unsafe fn add(self, a: __m256, b: __m256) -> __m256 {
        unsafe { _mm256_add_ps(a, b) }
    }
    #[inline(always)]
    unsafe fn sub(self, a: __m256, b: __m256) -> __m256 {
        unsafe { _mm256_sub_ps(a, b) }
    }
    #[inline(always)]
    unsafe fn mul(self, a: __m256, b: __m256) -> __m256 {
        unsafe { _mm256_mul_ps(a, b) }
    }
    #[inline(always)]
    unsafe fn fma(self, a: __m256, b: __m256, c: __m256) -> __m256 {
        unsafe { _mm256_fmadd_ps(a, b, c) }
    }
    #[inline(always)]
    unsafe fn fnma(self, a: __m256, b: __m256, c: __m256) -> __m256 {
        unsafe { _mm256_fnmadd_ps(a, b, c) }
    }
    #[inline(always)]
    unsafe fn min(self, a: __m256, b: __m256) -> __m256 {
        unsafe { _mm256_min_ps(a, b) }
    }
    #[inline(always)]
    unsafe fn max(self, a: __m256, b: __m256) -> __m256 {
        unsafe { _mm256_max_ps(a, b) }
    }
    #[inline(always)]
    unsafe fn abs(self, a: __m256) -> __m256 {
        unsafe { _mm256_andnot_ps(_mm256_set1_ps(-0.0), a) }
    }
    #[inline(always)]
    unsafe fn round(self, a: __m256) -> __m256 {
        unsafe { _mm256_round_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(a) }
    }
    #[inline(always)]
    unsafe fn scale2(self, p: __m256, n: __m256) -> __m256 {
        // 2^n built in the exponent field: (n + 127) << 23; n in [-126, 127] keeps it normal.
        unsafe {
            let e = _mm256_slli_epi32::<23>(_mm256_add_epi32(
                _mm256_cvtps_epi32(n),
                _mm256_set1_epi32(127),
            ));
            _mm256_mul_ps(p, _mm256_castsi256_ps(e))
        }
    }
    #[inline(always)]
    unsafe fn recip(self, d: __m256) -> __m256 {
        // 12-bit estimate, two Newton steps.
        unsafe {
            let one = _mm256_set1_ps(1.0);
            let r = _mm256_rcp_ps(d);
            let r = _mm256_fmadd_ps(r, _mm256_fnmadd_ps(d, r, one), r);
            _mm256_fmadd_ps(r, _mm256_fnmadd_ps(d, r, one), r)
        }
    }
    #[inline(always)]
    unsafe fn div(self, a: __m256, b: __m256) -> __m256 {
        unsafe { _mm256_div_ps(a, b) }
    }
    #[inline(always)]
    unsafe fn pow2i(self, n: __m256) -> __m256 {
        unsafe {
            let biased =
                _mm256_fmadd_ps(n, _mm256_set1_ps(POW2I_SCALE), _mm256_set1_ps(POW2I_BIAS));
            _mm256_castsi256_ps(_mm256_cvtps_epi32(biased))
        }
    }
    #[inline(always)]
    unsafe fn reduce_add(self, v: __m256) -> f32 {
        unsafe {
            let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
            let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
            let s = _mm_add_ss(s, _mm_movehdup_ps(s));
            _mm_cvtss_f32(s)
        }
    }
    #[inline(always)]
    unsafe fn mul_err(self, a: __m256, b: __m256, p: __m256) -> __m256 {
        unsafe { _mm256_fmsub_ps(a, b, p) }
    }
}

/// Transposes one 8 x 8 block of f32: row `r` of the source (`src + r * n`, 8 values) becomes
/// column `r` of the destination (`dst + c * stride`, 8 values per row `c`). 8 loads, 24
/// shuffles in three stages (32-bit pairs, 64-bit pairs, 128-bit lanes), 8 stores.
///
/// # Safety
/// AVX present (the caller's `#[target_feature]`); `src + r * n` readable and `dst + c *
/// stride` writable for 8 f32 each, `r, c < 8`.
#[inline(always)]
unsafe fn transpose8(src: *const f32, n: usize, dst: *mut f32, stride: usize) {
    // SAFETY: forwarded contract; the shuffles have no memory operands.
    unsafe {
        let mut r = [_mm256_setzero_ps(); 8];
        for (i, v) in r.iter_mut().enumerate() {
            *v = _mm256_loadu_ps(src.add(i * n));
        }
        // t[2i], t[2i+1]: in each 128-bit lane, rows 2i and 2i+1 interleaved (columns 0, 1
        // and 2, 3 of the lane).
        let mut t = r;
        for (k, v) in t.iter_mut().enumerate() {
            let (a, b) = (r[k & !1], r[k | 1]);
            *v = if k % 2 == 0 {
                _mm256_unpacklo_ps(a, b)
            } else {
                _mm256_unpackhi_ps(a, b)
            };
        }
        // u[4i + q], lane L: column 4L + q of rows 4i..4i+4.
        let mut u = r;
        for (k, v) in u.iter_mut().enumerate() {
            let (i, q) = (k / 4, k % 4);
            let (a, b) = (t[4 * i + q / 2], t[4 * i + q / 2 + 2]);
            *v = if q % 2 == 0 {
                _mm256_shuffle_ps::<0x44>(a, b)
            } else {
                _mm256_shuffle_ps::<0xEE>(a, b)
            };
        }
        // Column q (q < 4) = lane 0 of u[q] (rows 0-3) and of u[4 + q] (rows 4-7); column
        // 4 + q the same from lane 1.
        for q in 0..4 {
            let lo = _mm256_permute2f128_ps::<0x20>(u[q], u[4 + q]);
            let hi = _mm256_permute2f128_ps::<0x31>(u[q], u[4 + q]);
            _mm256_storeu_ps(dst.add(q * stride), lo);
            _mm256_storeu_ps(dst.add((4 + q) * stride), hi);
        }
    }
}

/// Transposes one 16 x 16 square of f32 (the [`crate::gemm::Square`] of `columns_to_rows` on
/// AVX2): row `r` of the source (`src + r * n`, 16 values) becomes column `r` of the
/// destination (`dst + c * stride`, 16 values per row `c`), as four 8 x 8 blocks.
///
/// # Safety
/// AVX2 present; `src + r * n` readable and `dst + c * stride` writable for 16 f32 each,
/// `r, c < 16`.
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn transpose16(src: *const f32, n: usize, dst: *mut f32, stride: usize) {
    // SAFETY: forwarded contract: block (i, j) reads rows 8i.. columns 8j.. and writes rows
    // 8j.. columns 8i.., all inside the square.
    unsafe {
        for i in 0..2 {
            for j in 0..2 {
                transpose8(
                    src.add(8 * i * n + 8 * j),
                    n,
                    dst.add(8 * j * stride + 8 * i),
                    stride,
                );
            }
        }
    }
}
