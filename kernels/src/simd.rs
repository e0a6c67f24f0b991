//! The vector operations the generic kernels are written in, one implementation per path.
//!
//! A `Simd` value is a zero-sized token for one instruction set (`Avx512`, `Avx2` in
//! `x86_64/`, `Portable` in `portable.rs`). The generic kernels (`tile.rs`, `dot.rs`,
//! `vector_math.rs`) are `#[inline(always)]` and are instantiated inside one
//! `#[target_feature]` entry function per path, so every operation below compiles to the
//! path's instructions with no call in between. (The portable path, which needs no target
//! features, calls the tile evaluator's layer blocks instead: [`Simd::INLINE_BLOCKS`].)

use half::{bf16, f16};

/// `2^23`: [`Simd::pow2i`] scales the exponent `n` by it into the exponent field's place.
pub(crate) const POW2I_SCALE: f32 = 8_388_608.0;
/// `127 * 2^23`: the exponent bias, in the exponent field's place (exact in f32).
pub(crate) const POW2I_BIAS: f32 = 127.0 * POW2I_SCALE;

/// One SIMD instruction set: `LANES` f32 per vector.
///
/// # Safety (for every method)
/// The caller must run on a CPU that supports the implementing path (checked once by
/// [`crate::Path::is_supported`] before any kernel is entered). Pointer arguments must be
/// valid for reading (or writing, for `store`) `LANES` elements of their type; no alignment
/// is required.
pub(crate) trait Simd: Copy {
    /// f32 lanes per vector.
    const LANES: usize;
    /// Vector registers of the instruction set (16 ymm for AVX2, 32 zmm for AVX-512).
    const REGISTERS: usize;
    /// Whether the tile evaluator's layer blocks are inlined into the path's entry function.
    /// The x86 paths need it (their instructions exist only inside the `#[target_feature]`
    /// entry). The portable path calls them (one function per layer kind): inlined, the whole
    /// evaluator became one function that LLVM's machine CSE took ~4 minutes to compile for
    /// thumbv7em at opt-level 1; a call per layer and tile costs nothing measurable there.
    const INLINE_BLOCKS: bool;
    /// Whether the tile evaluator applies a tanh layer's activation in a pass of its own
    /// after the layer's products (see the tile module's docs, "The tanh pass") where the
    /// layer's rows split into blocks of 4. Set where it was measured to be faster: AVX2 on
    /// Zen 3. The other paths keep the tanh inside each row block.
    const TANH_PASS: bool = false;
    /// The vector register type.
    type V: Copy;

    /// Every lane = `x`.
    unsafe fn splat(self, x: f32) -> Self::V;
    /// `LANES` f32 from `p`.
    unsafe fn load(self, p: *const f32) -> Self::V;
    /// `LANES` f32 to `p`.
    unsafe fn store(self, p: *mut f32, v: Self::V);
    /// `LANES` f16 from `p`, widened to f32 in registers (exact).
    unsafe fn load_f16(self, p: *const f16) -> Self::V;
    /// `LANES` bf16 from `p`, widened to f32 in registers (exact).
    unsafe fn load_bf16(self, p: *const bf16) -> Self::V;
    /// `LANES` i8 from `p`, converted to f32 in registers (exact).
    unsafe fn load_i8(self, p: *const i8) -> Self::V;

    /// `a + b`.
    unsafe fn add(self, a: Self::V, b: Self::V) -> Self::V;
    /// `a - b`.
    unsafe fn sub(self, a: Self::V, b: Self::V) -> Self::V;
    /// `a * b`.
    unsafe fn mul(self, a: Self::V, b: Self::V) -> Self::V;
    /// `a * b + c`, fused (one rounding) on avx2/avx512; portable fuses when the build has FMA.
    unsafe fn fma(self, a: Self::V, b: Self::V, c: Self::V) -> Self::V;
    /// `c - a * b`, fused like [`Simd::fma`].
    unsafe fn fnma(self, a: Self::V, b: Self::V, c: Self::V) -> Self::V;
    /// Lane-wise `if a < b { a } else { b }`.
    unsafe fn min(self, a: Self::V, b: Self::V) -> Self::V;
    /// Lane-wise `if a > b { a } else { b }` (so `max(NaN, 0) = 0`, `max(-0, 0) = +0`).
    unsafe fn max(self, a: Self::V, b: Self::V) -> Self::V;
    /// `|a|`.
    unsafe fn abs(self, a: Self::V) -> Self::V;
    /// Round to the nearest integer, ties to even (as f32).
    unsafe fn round(self, a: Self::V) -> Self::V;
    /// `p * 2^n` for integral-valued `n` in [-126, 127] (AVX-512: `p * 2^floor(n)` for any
    /// `n`, saturating; [`Simd::exp2_split`] relies on it there).
    unsafe fn scale2(self, p: Self::V, n: Self::V) -> Self::V;
    /// `1 / d` to within 2^-23 relative for normal `d` of magnitude below 2^126; no division
    /// instruction on the x86 paths (estimate + Newton steps).
    unsafe fn recip(self, d: Self::V) -> Self::V;
    /// `a / b`, correctly rounded (one `vdivps` on the x86 paths).
    unsafe fn div(self, a: Self::V, b: Self::V) -> Self::V;
    /// `2^n` for integral-valued `n` in [-126, 127], exact. On AVX2 and portable one FMA
    /// forms `(n + 127) 2^23` in f32 (exact: an integer below 2^31) and one conversion to i32
    /// gives its bits.
    unsafe fn pow2i(self, n: Self::V) -> Self::V;
    /// Sum of the lanes.
    unsafe fn reduce_add(self, v: Self::V) -> f32;

    /// The rounding error of `a * b`: `a * b - fl(a * b)`, exact (for products far from
    /// overflow and underflow). Default: Dekker's splitting with plain multiplies and adds,
    /// correct whether or not [`Simd::fma`] is fused; the FMA paths override it with one
    /// fused multiply-add.
    #[inline(always)]
    unsafe fn mul_err(self, a: Self::V, b: Self::V, p: Self::V) -> Self::V {
        // SAFETY: the caller guarantees the path is supported.
        unsafe {
            let split = |v: Self::V| {
                let c = self.mul(v, self.splat(4097.0));
                let hi = self.sub(c, self.sub(c, v));
                (hi, self.sub(v, hi))
            };
            let (ah, al) = split(a);
            let (bh, bl) = split(b);
            let e = self.sub(self.mul(ah, bh), p);
            let e = self.add(e, self.mul(ah, bl));
            let e = self.add(e, self.mul(al, bh));
            self.add(e, self.mul(al, bl))
        }
    }

    /// Whether [`Simd::exp2_split`] and [`Simd::scale2`] take any `u`, infinities included,
    /// and saturate (`2^u` = 0 below -150, +inf above 128) instead of requiring |u| <= 126.
    /// Lets [`crate::vector_math`] drop a clamp on the AVX-512 path.
    const EXP2_SATURATES: bool = false;

    /// Splits `u` for `2^u = 2^f * 2^floor`: returns `(f, n)` with `f` in [0, 1] (up to one
    /// rounding) and `scale2(p, n) = p * 2^(u - f)` exactly. `|u| <= 126` unless
    /// [`Simd::EXP2_SATURATES`]. Default: `n = round(u - 1/2)` (integral, `u - 1 <= n <= u`),
    /// `f = u - n` (exact). The AVX-512 path returns `f = u - floor(u)` (one `vreduceps`) and
    /// `n = u` itself, which its `scale2` (`vscalefps`, which floors `n`) takes as is.
    #[inline(always)]
    unsafe fn exp2_split(self, u: Self::V) -> (Self::V, Self::V) {
        // SAFETY: the caller guarantees the path is supported.
        unsafe {
            let n = self.round(self.sub(u, self.splat(0.5)));
            (self.sub(u, n), n)
        }
    }

    /// `1 / d` to within 2^-14 relative for normal `d` of magnitude below 2^126 (a starting
    /// point for one Newton step the caller fuses into its own arithmetic). Default:
    /// [`Simd::recip`] (more accurate than needed); AVX-512: one `vrcp14ps`.
    #[inline(always)]
    unsafe fn recip_estimate(self, d: Self::V) -> Self::V {
        // SAFETY: the caller guarantees the path is supported.
        unsafe { self.recip(d) }
    }
}
