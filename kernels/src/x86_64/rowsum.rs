//! [`RowSums`] for the x86 paths: many row accumulators reduced together by a
//! transpose-and-add tree, so a GEMV row costs no horizontal reduction of its own.
//!
//! Every accumulator's lanes go through the same tree (lanes `i` and `i + 2` of each 128-bit
//! block, then the two halves of the block, then the 128-bit blocks pairwise), whatever its
//! position: the contract of [`RowSums::row_sums`]. The methods are thin `unsafe` wrappers over
//! intrinsics; the contract is [`crate::simd::Simd`]'s (the path's features are present).

use core::arch::x86_64::*;

use super::avx2::Avx2;
use super::avx512::Avx512;
use crate::dot::RowSums;

impl RowSums for Avx512 {
    #[inline(always)]
    unsafe fn row_sums(self, v: &[__m512; 16]) -> [f32; 16] {
        // SAFETY: AVX-512F (the caller's contract).
        unsafe {
            // Per 128-bit block: [a0+a2, b0+b2, a1+a3, b1+b3].
            let mut t = [_mm512_setzero_ps(); 8];
            for (i, o) in t.iter_mut().enumerate() {
                *o = {
                    let (a, b) = (v[2 * i], v[2 * i + 1]);
                    _mm512_add_ps(_mm512_unpacklo_ps(a, b), _mm512_unpackhi_ps(a, b))
                };
            }
            // Per 128-bit block: the block's sums of rows 4i..4i+4, in order.
            let mut u = [_mm512_setzero_ps(); 4];
            for (i, o) in u.iter_mut().enumerate() {
                *o = {
                    let (c, d) = (_mm512_castps_pd(t[2 * i]), _mm512_castps_pd(t[2 * i + 1]));
                    _mm512_add_ps(
                        _mm512_castpd_ps(_mm512_unpacklo_pd(c, d)),
                        _mm512_castpd_ps(_mm512_unpackhi_pd(c, d)),
                    )
                };
            }
            /// Sums 128-bit blocks pairwise: `[a0+a1, a2+a3, b0+b1, b2+b3]`.
            #[inline(always)]
            unsafe fn half(a: __m512, b: __m512) -> __m512 {
                // SAFETY: AVX-512F (the caller's contract).
                unsafe {
                    _mm512_add_ps(
                        _mm512_shuffle_f32x4::<0b10_00_10_00>(a, b),
                        _mm512_shuffle_f32x4::<0b11_01_11_01>(a, b),
                    )
                }
            }
            let mut out = [0.0f32; 16];
            _mm512_storeu_ps(out.as_mut_ptr(), half(half(u[0], u[1]), half(u[2], u[3])));
            out
        }
    }
}

impl RowSums for Avx2 {
    #[inline(always)]
    unsafe fn row_sums8_to(self, v: &[__m256; 16], out: *mut f32) {
        // SAFETY: AVX (the caller's contract); 8 f32 writable at `out`.
        unsafe { _mm256_storeu_ps(out, sums8(v)) }
    }
    #[inline(always)]
    unsafe fn row_sums(self, v: &[__m256; 16]) -> [f32; 16] {
        // SAFETY: AVX (the caller's contract).
        unsafe {
            let mut out = [0.0f32; 16];
            _mm256_storeu_ps(out.as_mut_ptr(), sums8(v));
            out
        }
    }
}

/// The sums of `v[0..8]`'s lanes, in order, by the `vhaddps` tree.
///
/// # Safety
/// AVX present.
#[inline(always)]
unsafe fn sums8(v: &[__m256; 16]) -> __m256 {
    // SAFETY: AVX (the caller's contract).
    unsafe {
        // hadd: [a0+a1, a2+a3, b0+b1, b2+b3] per 128-bit half.
        let h0 = _mm256_hadd_ps(v[0], v[1]);
        let h1 = _mm256_hadd_ps(v[2], v[3]);
        let h2 = _mm256_hadd_ps(v[4], v[5]);
        let h3 = _mm256_hadd_ps(v[6], v[7]);
        // Per 128-bit half: that half's sums of rows 0..4 (g0) and 4..8 (g1).
        let g0 = _mm256_hadd_ps(h0, h1);
        let g1 = _mm256_hadd_ps(h2, h3);
        _mm256_add_ps(
            _mm256_permute2f128_ps::<0x20>(g0, g1),
            _mm256_permute2f128_ps::<0x31>(g0, g1),
        )
    }
}
