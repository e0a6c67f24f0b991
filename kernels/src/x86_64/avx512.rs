//! AVX-512F + AVX-512DQ kernels: 16 f32 lanes in `zmm` registers.
//!
//! Every method is a thin `unsafe` wrapper over one or two `core::arch` intrinsics; the
//! contract is the one of [`Simd`]: AVX-512F and AVX-512DQ present, pointers valid for 16 elements.

use core::arch::x86_64::*;

use half::{bf16, f16};

use crate::simd::Simd;

/// Token for the AVX-512F (+ DQ: `vreduceps`) instruction set.
#[derive(Clone, Copy)]
pub(crate) struct Avx512;

impl Simd for Avx512 {
    const REGISTERS: usize = 32;
    const LANES: usize = 16;
    const INLINE_BLOCKS: bool = true;
    type V = __m512;

    #[inline(always)]
    unsafe fn splat(self, x: f32) -> __m512 {
        unsafe { _mm512_set1_ps(x) }
    }
    #[inline(always)]
    unsafe fn load(self, p: *const f32) -> __m512 {
        unsafe { _mm512_loadu_ps(p) }
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f32, v: __m512) {
        unsafe { _mm512_storeu_ps(p, v) }
    }
    #[inline(always)]
    unsafe fn load_f16(self, p: *const f16) -> __m512 {
        unsafe { _mm512_cvtph_ps(_mm256_loadu_si256(p.cast())) }
    }
    #[inline(always)]
    unsafe fn load_bf16(self, p: *const bf16) -> __m512 {
        // bf16 is the top half of an f32: zero-extend to 32 bits, shift into place.
        unsafe {
            let h = _mm512_cvtepu16_epi32(_mm256_loadu_si256(p.cast()));
            _mm512_castsi512_ps(_mm512_slli_epi32::<16>(h))
        }
    }
    #[inline(always)]
    unsafe fn load_i8(self, p: *const i8) -> __m512 {
        unsafe { _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(p.cast()))) }
    }
    #[inline(always)]
    unsafe fn add(self, a: __m512, b: __m512) -> __m512 {
        unsafe { _mm512_add_ps(a, b) }
    }
    #[inline(always)]
    unsafe fn sub(self, a: __m512, b: __m512) -> __m512 {
        unsafe { _mm512_sub_ps(a, b) }
    }
    #[inline(always)]
    unsafe fn mul(self, a: __m512, b: __m512) -> __m512 {
        unsafe { _mm512_mul_ps(a, b) }
    }
    #[inline(always)]
    unsafe fn fma(self, a: __m512, b: __m512, c: __m512) -> __m512 {
        unsafe { _mm512_fmadd_ps(a, b, c) }
    }
    #[inline(always)]
    unsafe fn fnma(self, a: __m512, b: __m512, c: __m512) -> __m512 {
        unsafe { _mm512_fnmadd_ps(a, b, c) }
    }
    #[inline(always)]
    unsafe fn min(self, a: __m512, b: __m512) -> __m512 {
        // vminps returns the second operand unless a < b: exactly `a < b ? a : b`.
        unsafe { _mm512_min_ps(a, b) }
    }
    #[inline(always)]
    unsafe fn max(self, a: __m512, b: __m512) -> __m512 {
        unsafe { _mm512_max_ps(a, b) }
    }
    #[inline(always)]
    unsafe fn abs(self, a: __m512) -> __m512 {
        unsafe { _mm512_abs_ps(a) }
    }
    #[inline(always)]
    unsafe fn round(self, a: __m512) -> __m512 {
        unsafe { _mm512_roundscale_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(a) }
    }
    #[inline(always)]
    unsafe fn scale2(self, p: __m512, n: __m512) -> __m512 {
        unsafe { _mm512_scalef_ps(p, n) }
    }
    #[inline(always)]
    unsafe fn recip(self, d: __m512) -> __m512 {
        // 14-bit estimate, one Newton step: r + r (1 - d r), relative error ~2^-27.
        unsafe {
            let r = _mm512_rcp14_ps(d);
            let e = _mm512_fnmadd_ps(d, r, _mm512_set1_ps(1.0));
            _mm512_fmadd_ps(r, e, r)
        }
    }
    #[inline(always)]
    unsafe fn div(self, a: __m512, b: __m512) -> __m512 {
        unsafe { _mm512_div_ps(a, b) }
    }
    #[inline(always)]
    unsafe fn pow2i(self, n: __m512) -> __m512 {
        unsafe { _mm512_scalef_ps(_mm512_set1_ps(1.0), n) }
    }
    #[inline(always)]
    unsafe fn reduce_add(self, v: __m512) -> f32 {
        unsafe { _mm512_reduce_add_ps(v) }
    }
    #[inline(always)]
    unsafe fn mul_err(self, a: __m512, b: __m512, p: __m512) -> __m512 {
        unsafe { _mm512_fmsub_ps(a, b, p) }
    }

    // vreduceps(-inf or +inf) = +0 and vscalefps(p, -inf) = 0, vscalefps(p, +inf) = inf:
    // no range condition on `u`.
    const EXP2_SATURATES: bool = true;

    #[inline(always)]
    unsafe fn exp2_split(self, u: __m512) -> (__m512, __m512) {
        // imm 0x09: keep 0 fraction bits, round down, suppress precision exceptions:
        // f = u - floor(u) in [0, 1) (rounded to f32 when u is a tiny negative number).
        // `scale2` (vscalefps) floors `u` itself.
        unsafe { (_mm512_reduce_ps::<0x09>(u), u) }
    }
    #[inline(always)]
    unsafe fn recip_estimate(self, d: __m512) -> __m512 {
        // Relative error below 2^-14.
        unsafe { _mm512_rcp14_ps(d) }
    }
}

/// Transposes one 16 x 16 square of f32: row `r` of the source (`src + r * n`, 16 values)
/// becomes column `r` of the destination (`dst + c * stride`, 16 values per row `c`).
/// 16 loads, 64 shuffles in three stages (32-bit pairs, 64-bit pairs, 128-bit lanes), 16
/// stores.
///
/// # Safety
/// AVX-512F present; `src + r * n` readable and `dst + c * stride` writable for 16 f32 each,
/// `r, c < 16`.
#[target_feature(enable = "avx512f")]
pub(crate) unsafe fn transpose16(src: *const f32, n: usize, dst: *mut f32, stride: usize) {
    // SAFETY: forwarded contract; the shuffles have no memory operands.
    unsafe {
        let mut r = [_mm512_setzero_ps(); 16];
        for (i, v) in r.iter_mut().enumerate() {
            *v = _mm512_loadu_ps(src.add(i * n));
        }
        // t[2i], t[2i+1]: in every 128-bit lane L, rows 2i and 2i+1 interleaved (columns
        // 4L, 4L+1 and 4L+2, 4L+3).
        let mut t = r;
        for (k, v) in t.iter_mut().enumerate() {
            let (a, b) = (r[k & !1], r[k | 1]);
            *v = if k % 2 == 0 {
                _mm512_unpacklo_ps(a, b)
            } else {
                _mm512_unpackhi_ps(a, b)
            };
        }
        // u[4i + q], lane L: column 4L + q of rows 4i..4i+4.
        let mut u = r;
        for (k, v) in u.iter_mut().enumerate() {
            let (i, q) = (k / 4, k % 4);
            let x = _mm512_castps_pd(t[4 * i + q / 2]);
            let y = _mm512_castps_pd(t[4 * i + q / 2 + 2]);
            *v = _mm512_castpd_ps(if q % 2 == 0 {
                _mm512_unpacklo_pd(x, y)
            } else {
                _mm512_unpackhi_pd(x, y)
            });
        }
        // Column 4L + q = lane L of u[q], u[4 + q], u[8 + q], u[12 + q].
        for q in 0..4 {
            let (a0, a1, a2, a3) = (u[q], u[4 + q], u[8 + q], u[12 + q]);
            let v0 = _mm512_shuffle_f32x4::<0x44>(a0, a1);
            let v1 = _mm512_shuffle_f32x4::<0xEE>(a0, a1);
            let v2 = _mm512_shuffle_f32x4::<0x44>(a2, a3);
            let v3 = _mm512_shuffle_f32x4::<0xEE>(a2, a3);
            let out = [
                _mm512_shuffle_f32x4::<0x88>(v0, v2),
                _mm512_shuffle_f32x4::<0xDD>(v0, v2),
                _mm512_shuffle_f32x4::<0x88>(v1, v3),
                _mm512_shuffle_f32x4::<0xDD>(v1, v3),
            ];
            for (l, o) in out.into_iter().enumerate() {
                _mm512_storeu_ps(dst.add((4 * l + q) * stride), o);
            }
        }
    }
}
