//! The portable path: `wide::f32x8` (NEON on aarch64, SSE/AVX on x86 as compiled, scalar
//! lanes elsewhere, e.g. on `thumbv7em-none-eabihf`).
//!
//! `wide` has no f16/bf16/i8 widening to f32x8, so those loads widen 8 elements through an
//! 8-lane array (one register's worth), never a copy of the matrix. `recip` divides: `wide`
//! offers no refined reciprocal estimate on every target.

use half::{bf16, f16};
use wide::{f32x8, i32x8, CmpGt, CmpLt};

use crate::simd::{Simd, POW2I_BIAS, POW2I_SCALE};
use crate::{dot, tile, vector_math, Activation, Layer, MatRef};

/// Token for the `wide` path (always available).
#[derive(Clone, Copy)]
pub(crate) struct Portable;

impl Simd for Portable {
    const REGISTERS: usize = 16;
    const LANES: usize = 8;
    const INLINE_BLOCKS: bool = false;
    type V = f32x8;

    #[inline(always)]
    unsafe fn splat(self, x: f32) -> f32x8 {
        f32x8::splat(x)
    }
    #[inline(always)]
    unsafe fn load(self, p: *const f32) -> f32x8 {
        // SAFETY: the caller guarantees 8 readable f32 at p.
        f32x8::from(unsafe { p.cast::<[f32; 8]>().read_unaligned() })
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f32, v: f32x8) {
        // SAFETY: the caller guarantees 8 writable f32 at p.
        unsafe { p.cast::<[f32; 8]>().write_unaligned(v.to_array()) }
    }
    #[inline(always)]
    unsafe fn load_f16(self, p: *const f16) -> f32x8 {
        // SAFETY: the caller guarantees 8 readable f16 at p.
        let h = unsafe { p.cast::<[f16; 8]>().read_unaligned() };
        f32x8::from(h.map(f16::to_f32))
    }
    #[inline(always)]
    unsafe fn load_bf16(self, p: *const bf16) -> f32x8 {
        // SAFETY: the caller guarantees 8 readable bf16 at p.
        let h = unsafe { p.cast::<[bf16; 8]>().read_unaligned() };
        f32x8::from(h.map(bf16::to_f32))
    }
    #[inline(always)]
    unsafe fn load_i8(self, p: *const i8) -> f32x8 {
        // SAFETY: the caller guarantees 8 readable i8 at p.
        let q = unsafe { p.cast::<[i8; 8]>().read_unaligned() };
        f32x8::from(q.map(f32::from))
    }
    #[inline(always)]
    unsafe fn add(self, a: f32x8, b: f32x8) -> f32x8 {
        a + b
    }
    #[inline(always)]
    unsafe fn sub(self, a: f32x8, b: f32x8) -> f32x8 {
        a - b
    }
    #[inline(always)]
    unsafe fn mul(self, a: f32x8, b: f32x8) -> f32x8 {
        a * b
    }
    #[inline(always)]
    unsafe fn fma(self, a: f32x8, b: f32x8, c: f32x8) -> f32x8 {
        a.mul_add(b, c)
    }
    #[inline(always)]
    unsafe fn fnma(self, a: f32x8, b: f32x8, c: f32x8) -> f32x8 {
        a.mul_neg_add(b, c)
    }
    #[inline(always)]
    unsafe fn min(self, a: f32x8, b: f32x8) -> f32x8 {
        a.cmp_lt(b).blend(a, b)
    }
    #[inline(always)]
    unsafe fn max(self, a: f32x8, b: f32x8) -> f32x8 {
        a.cmp_gt(b).blend(a, b)
    }
    #[inline(always)]
    unsafe fn abs(self, a: f32x8) -> f32x8 {
        a.abs()
    }
    #[inline(always)]
    unsafe fn round(self, a: f32x8) -> f32x8 {
        a.round()
    }
    #[inline(always)]
    unsafe fn scale2(self, p: f32x8, n: f32x8) -> f32x8 {
        let e: i32x8 = (n.round_int() + i32x8::splat(127)) << 23;
        p * bytemuck::cast::<i32x8, f32x8>(e)
    }
    #[inline(always)]
    unsafe fn recip(self, d: f32x8) -> f32x8 {
        f32x8::splat(1.0) / d
    }
    #[inline(always)]
    unsafe fn div(self, a: f32x8, b: f32x8) -> f32x8 {
        a / b
    }
    #[inline(always)]
    unsafe fn pow2i(self, n: f32x8) -> f32x8 {
        // Exact with or without a fused multiply-add: `n 2^23` is exact, and so is the sum.
        let biased = n.mul_add(f32x8::splat(POW2I_SCALE), f32x8::splat(POW2I_BIAS));
        bytemuck::cast::<i32x8, f32x8>(biased.round_int())
    }
    #[inline(always)]
    unsafe fn reduce_add(self, v: f32x8) -> f32 {
        v.reduce_add()
    }
}

pub(crate) fn gemv_batch(
    w: &MatRef<'_>,
    x: &[f32],
    batch: usize,
    bias: Option<&[f32]>,
    act: Activation,
    y: &mut [f32],
) {
    // SAFETY: the portable path runs everywhere; lengths validated by the caller.
    unsafe { dot::gemv_batch(Portable, w, x, batch, bias, act, y) }
}

pub(crate) fn gemm(g: &crate::gemm::Gemm<'_>, y: &mut [f32]) {
    // SAFETY: the portable path runs everywhere; `g` validated by the caller.
    unsafe { crate::gemm::gemm_simd(Portable, g, y) }
}

pub(crate) fn mlp_eval(layers: &[Layer<'_>], points: &[f32], out: &mut [f32], scratch: &mut [f32]) {
    // SAFETY: the portable path runs everywhere; arguments validated by the caller.
    unsafe { tile::mlp_eval(Portable, layers, points, out, scratch) }
}

pub(crate) fn activate_slice(act: Activation, x: &mut [f32]) {
    // SAFETY: the portable path runs everywhere.
    unsafe { vector_math::activate_slice(Portable, act, x) }
}
