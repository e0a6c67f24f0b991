//! Vectorized activations: range reduction + polynomials; on AVX-512 without division, on
//! AVX2 one division in tanh.
//!
//! Written once over [`Simd`] and instantiated per path. Error bounds against the f64
//! reference are in the crate docs and held by `tests/activations.rs`.

use crate::simd::Simd;
use crate::Activation;

const LOG2E: f32 = core::f32::consts::LOG2_E;
/// ln 2 split for Cody-Waite reduction (Cephes): `LN2_HI` has 11 significant bits, so
/// `n * LN2_HI` is exact for |n| < 2^13.
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;

/// `2^f` on [0, 1], degree-5 minimax for relative error (7.5e-8 in exact arithmetic, 1.5e-7
/// evaluated in f32). Fitted coefficients (Remez), not rounded constants.
#[allow(clippy::approx_constant, clippy::excessive_precision)]
const EXP2_P: [f32; 6] = [
    0.999_999_94,
    0.693_153_08,
    0.240_153_61,
    0.055_826_318,
    0.008_989_339_7,
    0.001_877_576_7,
];

/// `e^x` for |x| <= ln2/2 minus 1 - x, divided by x^2 (Cephes expf).
#[allow(clippy::excessive_precision)]
const EXP_P: [f32; 6] = [
    5.000_000_1e-1,
    1.666_666_5e-1,
    4.166_579_6e-2,
    8.333_452e-3,
    1.398_2e-3,
    1.987_569_1e-4,
];

/// pi split in three for Cody-Waite reduction of sin (Cephes DP1..DP3 times 4).
const PI_A: f32 = 3.140_625;
const PI_B: f32 = 9.675_026e-4;
const PI_C: f32 = 1.509_958e-7;

/// Horner evaluation of `c[0] + c[1] x + ... + c[n-1] x^(n-1)` with fused multiply-adds.
#[inline(always)]
unsafe fn horner<S: Simd, const N: usize>(s: S, x: S::V, c: &[f32; N]) -> S::V {
    // SAFETY (all `s.*` calls in this file): the caller guarantees the path is supported.
    unsafe {
        let mut p = s.splat(c[N - 1]);
        for k in (0..N - 1).rev() {
            p = s.fma(p, x, s.splat(c[k]));
        }
        p
    }
}

/// `e^x`, relative error ~2 ulp; `x` clamped to [-87, 88] (results stay normal and finite).
#[inline(always)]
pub(crate) unsafe fn exp<S: Simd>(s: S, x: S::V) -> S::V {
    unsafe {
        // Clamp with the constant first: min/max return their second operand when a lane is
        // NaN, so NaN propagates (NonFinite::Propagate in the runtime relies on it).
        let x = s.min(s.splat(88.0), s.max(s.splat(-87.0), x));
        let n = s.round(s.mul(x, s.splat(LOG2E)));
        let r = s.fnma(n, s.splat(LN2_HI), x);
        let r = s.fnma(n, s.splat(LN2_LO), r);
        let p = horner(s, r, &EXP_P);
        let y = s.fma(p, s.mul(r, r), s.add(r, s.splat(1.0)));
        s.scale2(y, n)
    }
}

/// `2^-f` on [-0.5, 0.5], degree-5 near-minimax (relative error 7.5e-8 in exact arithmetic):
/// the polynomial of [`tanh_nearest_n`] and [`tanh_folded_nearest_n`]. Fitted coefficients,
/// not rounded constants.
#[allow(clippy::approx_constant, clippy::excessive_precision)]
const EXP2_NEG_P: [f32; 6] = [
    1.000_000_1,
    -0.693_147,
    0.240_221_2,
    -0.055_507_13,
    0.009_675_541,
    -0.001_327_647_2,
];

/// The two factors of `E = 2^(-f) 2^m` (`m` integral) for each of the `N` registers,
/// step by step: the polynomial `P(f) ~ 2^(-f)` and the power of two `2^m`, left apart so that
/// the callers form `1 + E` (and `1 - E`) with one FMA each, one rounding and one operation
/// fewer than multiplying first.
#[inline(always)]
unsafe fn pow2_neg_parts_n<S: Simd, const N: usize>(
    s: S,
    f: &[S::V; N],
    m: &[S::V; N],
) -> ([S::V; N], [S::V; N]) {
    unsafe {
        let mut p = [s.splat(EXP2_NEG_P[5]); N];
        for c in (0..5).rev() {
            for j in 0..N {
                p[j] = s.fma(p[j], f[j], s.splat(EXP2_NEG_P[c]));
            }
        }
        let mut e = p;
        for j in 0..N {
            e[j] = s.pow2i(m[j]);
        }
        (p, e)
    }
}

/// Tanh on the paths without saturating `exp2_split`/`scale2` (AVX2, portable), `N` registers
/// step by step (each step for all of them before the next, so their chains interleave in
/// program order: the out-of-order window then holds `N` chains at once; in a loop over an
/// array on a Zen 3 core the folded form took 13 cycles per AVX2 register one register at a
/// time, 6.2 four at a time): `(1 - E) / (1 + E)`, `E = e^(-2x) = 2^(-t)`, `t = 2 x log2(e)`,
/// `x` clamped to [-10, 10]. `m = round(-t)` (`vroundps`), `f = t + m` (one FMA), so `E =
/// 2^(-f) 2^m`; `2^m` is [`Simd::pow2i`]; `1 - E` and `1 + E` are one FMA each, then one
/// division (correctly rounded, and the same bits on every AVX2 CPU, which `vrcpps` is not; on a
/// Zen 3 core it holds an FMA pipe for about 3 FMA slots (`port_cost`'s second table): as much
/// as `vrcpps` and one Newton step, which would leave 4e-7 of error, and less than the two
/// steps the 2e-7 bound needs, 5).
/// 15 vector operations (clamp 2, `-t` 1, round 1, `f` 1, polynomial 5, `2^m` 2, `1 -/+ E` 2,
/// divide 1). The earlier `POW2_MAGIC` form (`k = -t + 1.5 2^23 + 127` in one FMA, `m = k -
/// 1.5 2^23 - 127`, `2^m` by shifting `k`'s bits) took 14 and ran as fast in `tile_ab` on Zen
/// 3; this one shares [`Simd::pow2i`] with the folded form.
/// Worst error over every f32 in [-12, 12]: 1.34e-7 on AVX2, 1.48e-7 portable (whose `fma`
/// is a multiply and an add where the target has no FMA). The earlier `2 / (1 + E) - 1`, one
/// operation more, rounded `2 / (1 + E)` in [1, 2) (half an ulp there is 1.2e-7) and reached
/// 2.00e-7 and 2.16e-7, over the 2e-7 bound on the portable path.
#[inline(always)]
unsafe fn tanh_nearest_n<S: Simd, const N: usize>(s: S, x: &mut [S::V; N]) {
    unsafe {
        // Clamp with the constant first: min/max return their second operand when a lane is
        // NaN, so NaN propagates (NonFinite::Propagate in the runtime relies on it).
        for v in x.iter_mut() {
            *v = s.min(s.splat(10.0), s.max(s.splat(-10.0), *v));
        }
        // m = round(-t); |m| <= 29. f = t + m, in [-0.5, 0.5] up to the rounding of -t.
        let (mut m, mut f) = (*x, *x);
        for j in 0..N {
            m[j] = s.round(s.mul(x[j], s.splat(-2.0 * LOG2E)));
        }
        for j in 0..N {
            f[j] = s.fma(x[j], s.splat(2.0 * LOG2E), m[j]);
        }
        let (p, m) = pow2_neg_parts_n(s, &f, &m);
        for j in 0..N {
            let one = s.splat(1.0);
            x[j] = s.div(s.fnma(p[j], m[j], one), s.fma(p[j], m[j], one));
        }
    }
}

/// [`EXP2_P`] halved (exact): `2^f / 2`, so that `D = (1 + E) / 2` is `2^n` times the
/// polynomial plus `1/2`, one add: on Zen 4 an add runs on units of its own, beside the FMAs
/// (`target/release/port_cost`), where the earlier `D = fma(2 E, 1/4, 1/2)` took an FMA slot.
/// Same value: scaling every coefficient by 1/4 scales every Horner step exactly, and the add
/// rounds `E / 2 + 1/2` once as the FMA did.
const EXP2_P_HALF: [f32; 6] = [
    0.5 * EXP2_P[0],
    0.5 * EXP2_P[1],
    0.5 * EXP2_P[2],
    0.5 * EXP2_P[3],
    0.5 * EXP2_P[4],
    0.5 * EXP2_P[5],
];

/// `tanh x = q - 1`, `q = 1 / D`, `D = (1 + E) / 2`, `E = e^(-2x) = 2^u`, `u = -2 x log2(e)`.
///
/// On the paths whose `exp2_split`/`scale2` saturate ([`Simd::EXP2_SATURATES`], AVX-512);
/// the others use [`tanh_nearest_n`]. `x` is clamped below at -10 (|tanh| rounds to 1 from
/// |x| ~ 9; `E` stays finite); large positive `x` and +inf give `E = 0`, `D = 0.5`, tanh = 1
/// exactly. `2^u = 2^f 2^n` ([`Simd::exp2_split`], `f` in [0, 1]); the polynomial gives
/// `E / 2` directly ([`EXP2_P_HALF`]) and `D = E / 2 + 1/2` is one add. No division: `q0`
/// estimates `1 / D` ([`Simd::recip_estimate`]) and one Newton step is fused into the result,
/// `e = 1 - q0 D`, `tanh = (q0 - 1) + q0 e`. 14 vector operations on AVX-512 (clamp 1, `u` 1,
/// split 1, polynomial 5, scalef 1, `D` 1, estimate 1, Newton and result 3), one fewer than
/// taking the residual against the unrounded `1 + E` as an earlier version did: the rounding of
/// `D` (at most 2^-24 relative) now reaches the result, up to `(1 + tanh) 2^-24 <= 1.2e-7`
/// absolute. Worst case over every f32 in [-12, 12]: 1.76e-7 (the bound is 2e-7); the bound is
/// absolute, so the cancellation near 0 costs nothing.
#[inline(always)]
pub(crate) unsafe fn tanh<S: Simd>(s: S, x: S::V) -> S::V {
    unsafe {
        if !S::EXP2_SATURATES {
            let mut v = [x];
            tanh_nearest_n(s, &mut v);
            return v[0];
        }
        // Clamp with the constant first: max returns its second operand when a lane is NaN,
        // so NaN propagates (NonFinite::Propagate in the runtime relies on it).
        let u = s.mul(s.max(s.splat(-10.0), x), s.splat(-2.0 * LOG2E));
        let ([q], [e]) = recip_half_one_plus_exp2_n(s, &[u]);
        s.fma(q, e, s.sub(q, s.splat(1.0)))
    }
}

/// [`tanh`] of `N` registers, each step done for all of them before the next (the same
/// operations, so the same values): `N` independent chains in program order, which lets the
/// out-of-order core keep both vector ports busy without a window spanning whole chains.
#[inline(always)]
pub(crate) unsafe fn tanh_n<S: Simd, const N: usize>(s: S, x: &mut [S::V; N]) {
    unsafe {
        if !S::EXP2_SATURATES {
            return tanh_nearest_n(s, x);
        }
        for k in 0..N {
            x[k] = s.mul(s.max(s.splat(-10.0), x[k]), s.splat(-2.0 * LOG2E));
        }
        let (q, e) = recip_half_one_plus_exp2_n(s, x);
        for k in 0..N {
            x[k] = s.fma(q[k], e[k], s.sub(q[k], s.splat(1.0)));
        }
    }
}

/// The shared middle of [`tanh_n`] and [`tanh_folded_n`] (saturating paths): for each `u` of
/// `u`, `q` estimating `1 / D`, `D = (1 + 2^u) / 2`, and the Newton residual `e = 1 - q D`,
/// step by step over the `N` registers. `1 / D = q + q e` to ~2^-28.
#[inline(always)]
unsafe fn recip_half_one_plus_exp2_n<S: Simd, const N: usize>(
    s: S,
    u: &[S::V; N],
) -> ([S::V; N], [S::V; N]) {
    // SAFETY (all `s.*` calls): the caller guarantees the path is supported.
    unsafe {
        let mut f = *u;
        let mut n = *u;
        for k in 0..N {
            (f[k], n[k]) = s.exp2_split(u[k]);
        }
        let mut p = [s.splat(EXP2_P_HALF[5]); N];
        for c in (0..5).rev() {
            for k in 0..N {
                p[k] = s.fma(p[k], f[k], s.splat(EXP2_P_HALF[c]));
            }
        }
        for k in 0..N {
            p[k] = s.add(s.scale2(p[k], n[k]), s.splat(0.5));
        }
        for k in 0..N {
            f[k] = s.recip_estimate(p[k]);
        }
        for k in 0..N {
            n[k] = s.fnma(f[k], p[k], s.splat(1.0));
        }
        (f, n)
    }
}

/// Largest input [`tanh_folded`] uses (`2 / (1 + 2^64)` is 1e-19: 0 to the 2e-7 bound);
/// keeps `2^u` finite, so the Newton step never meets `0 * inf`. The paths without a
/// saturating `scale2` also clamp below at `-FOLD_MAX_U` (`2 / (1 + 2^-64)` rounds to 2).
const FOLD_MAX_U: f32 = 64.0;

/// [`Activation::TanhFolded`] on the paths without saturating `exp2_split`/`scale2`, `N`
/// registers step by step as [`tanh_nearest_n`]: `2 / (1 + E)`, `E = 2^u = 2^m 2^-f` with `m
/// = round(u)` and `f = m - u` in [-0.5, 0.5] ([`EXP2_NEG_P`]). [`tanh_nearest_n`] without
/// the scaling of `x` and with `2` for `1 - E`: 13 vector operations, as the earlier
/// `POW2_MAGIC` form (`k = u + 1.5 2^23 + 127`, `f = (k - 1.5 2^23 - 127) - u`, `2^m` by
/// shifting `k`'s bits), whose `f` waited for two dependent adds after `k` where this one's
/// waits for the rounding: the folded 2-w-w-w-1 nets ran 1-2.5 % faster on Zen 3 (`tile_ab`,
/// alternated). The same values, except where `u` lies halfway between two integers (that
/// form rounded `m + 127`, not `m`, to even; `f` is then 1/2 instead of -1/2).
/// Worst error over every f32 in [-30, 30]: 1.91e-7 on AVX2, 1.99e-7 portable (unchanged).
#[inline(always)]
unsafe fn tanh_folded_nearest_n<S: Simd, const N: usize>(s: S, u: &mut [S::V; N]) {
    unsafe {
        // Clamp with the constant first: NaN propagates (see `tanh_nearest_n`).
        for v in u.iter_mut() {
            *v = s.min(s.splat(FOLD_MAX_U), s.max(s.splat(-FOLD_MAX_U), *v));
        }
        let (mut m, mut f) = (*u, *u);
        for j in 0..N {
            m[j] = s.round(u[j]);
        }
        for j in 0..N {
            f[j] = s.sub(m[j], u[j]);
        }
        let (p, m) = pow2_neg_parts_n(s, &f, &m);
        for j in 0..N {
            u[j] = s.div(s.splat(2.0), s.fma(p[j], m[j], s.splat(1.0)));
        }
    }
}

/// [`Activation::TanhFolded`], `2 / (1 + 2^u)`: [`tanh`] without its first and last steps
/// (the multiply by `-2 log2(e)` and the `- 1`, both folded into the weights by
/// [`crate::fold_tanh`]), 12 vector operations on AVX-512. `u` is clamped above at
/// [`FOLD_MAX_U`]; `-inf` gives `E = 0`, 2 exactly. Error bound as [`tanh`]'s (the same
/// operations after the scaling): 2e-7 absolute, tested over every f32 in [-30, 30].
#[inline(always)]
pub(crate) unsafe fn tanh_folded<S: Simd>(s: S, u: S::V) -> S::V {
    unsafe {
        if !S::EXP2_SATURATES {
            let mut v = [u];
            tanh_folded_nearest_n(s, &mut v);
            return v[0];
        }
        // min returns its second operand when a lane is NaN: NaN propagates.
        let u = s.min(s.splat(FOLD_MAX_U), u);
        let ([q], [e]) = recip_half_one_plus_exp2_n(s, &[u]);
        s.fma(q, e, q)
    }
}

/// [`tanh_folded`] of `N` registers, step by step as [`tanh_n`] (the same values).
#[inline(always)]
pub(crate) unsafe fn tanh_folded_n<S: Simd, const N: usize>(s: S, x: &mut [S::V; N]) {
    unsafe {
        if !S::EXP2_SATURATES {
            return tanh_folded_nearest_n(s, x);
        }
        for k in 0..N {
            x[k] = s.min(s.splat(FOLD_MAX_U), x[k]);
        }
        let (q, e) = recip_half_one_plus_exp2_n(s, x);
        for k in 0..N {
            x[k] = s.fma(q[k], e[k], q[k]);
        }
    }
}

/// `1 / (1 + e^-x)`.
#[inline(always)]
pub(crate) unsafe fn sigmoid<S: Simd>(s: S, x: S::V) -> S::V {
    unsafe {
        let e = exp(s, s.sub(s.splat(0.0), x));
        s.recip(s.add(e, s.splat(1.0)))
    }
}

/// `ln(1 + t)` for t in [0, 1]: `2 atanh(u)`, `u = t / (2 + t)` in [0, 1/3], series to u^15.
#[inline(always)]
unsafe fn log1p_unit<S: Simd>(s: S, t: S::V) -> S::V {
    const C: [f32; 8] = [
        2.0,
        2.0 / 3.0,
        2.0 / 5.0,
        2.0 / 7.0,
        2.0 / 9.0,
        2.0 / 11.0,
        2.0 / 13.0,
        2.0 / 15.0,
    ];
    unsafe {
        let u = s.mul(t, s.recip(s.add(t, s.splat(2.0))));
        s.mul(u, horner(s, s.mul(u, u), &C))
    }
}

/// `sin x`: `n = round(x / pi)`, `r = x - n pi` (three-part pi), odd Taylor series to r^13,
/// sign `(-1)^n`. Accurate as documented for |x| <= 100 (and degrading slowly beyond).
#[inline(always)]
pub(crate) unsafe fn sin<S: Simd>(s: S, x: S::V) -> S::V {
    const C: [f32; 7] = [
        1.0,
        -1.0 / 6.0,
        1.0 / 120.0,
        -1.0 / 5040.0,
        1.0 / 362_880.0,
        -1.0 / 39_916_800.0,
        1.0 / 6_227_020_800.0,
    ];
    unsafe {
        let n = s.round(s.mul(x, s.splat(core::f32::consts::FRAC_1_PI)));
        let r = s.fnma(n, s.splat(PI_A), x);
        let r = s.fnma(n, s.splat(PI_B), r);
        let r = s.fnma(n, s.splat(PI_C), r);
        let p = s.mul(r, horner(s, s.mul(r, r), &C));
        // (-1)^n without integer ops: odd = |n - 2 round(n / 2)| in {0, 1}.
        let half = s.round(s.mul(n, s.splat(0.5)));
        let odd = s.abs(s.fnma(half, s.splat(2.0), n));
        s.mul(p, s.fnma(odd, s.splat(2.0), s.splat(1.0)))
    }
}

/// `a + b` and its rounding error (Knuth's two-sum, no ordering needed).
#[inline(always)]
unsafe fn two_sum<S: Simd>(s: S, a: S::V, b: S::V) -> (S::V, S::V) {
    unsafe {
        let z = s.add(a, b);
        let bb = s.sub(z, a);
        let e = s.add(s.sub(a, s.sub(z, bb)), s.sub(b, bb));
        (z, e)
    }
}

/// `gelu x = x sigmoid(z)`, `z = 2 sqrt(2/pi) (x + 0.044715 x^3)` (`0.5 (1 + tanh u) =
/// sigmoid(2 u)`, which keeps relative accuracy for x < 0). For x < 0, `sigmoid(z) ~ e^z`
/// has relative error ~ the absolute error of `z`, and `|z|` reaches ~14 where `|gelu| >=
/// 1e-6`: `z` is therefore computed as an unevaluated sum `z + zl` (constants split in two
/// f32, exact products via [`Simd::mul_err`], two-sum), and `e^-z` corrected by `(1 - zl)`.
/// `x` is clamped to [-20, 20] inside `z` only (sigmoid is 0 or 1 in f32 beyond).
#[inline(always)]
unsafe fn gelu<S: Simd>(s: S, x: S::V) -> S::V {
    /// `2 sqrt(2/pi)` and `2 sqrt(2/pi) 0.044715`, each as f32 high part + low part.
    #[allow(clippy::excessive_precision)]
    const B: (f32, f32) = (1.595_769_166_946_411_1, -4.534_068_054_340_423e-8);
    #[allow(clippy::excessive_precision)]
    const A: (f32, f32) = (0.071_354_813_873_767_85, 2.398_832_465_999_589_7e-9);
    unsafe {
        // Clamp with the constant first: min/max return their second operand when a lane is
        // NaN, so NaN propagates (NonFinite::Propagate in the runtime relies on it).
        let xc = s.min(s.splat(20.0), s.max(s.splat(-20.0), x));
        let x2 = s.mul(xc, xc);
        let x2l = s.mul_err(xc, xc, x2);
        let x3 = s.mul(x2, xc);
        let x3l = s.fma(x2l, xc, s.mul_err(x2, xc, x3));
        let (bh, ah) = (s.splat(B.0), s.splat(A.0));
        let u = s.mul(bh, xc);
        let ul = s.fma(s.splat(B.1), xc, s.mul_err(bh, xc, u));
        let v = s.mul(ah, x3);
        let vl = s.fma(s.splat(A.1), x3, s.mul_err(ah, x3, v));
        let vl = s.fma(ah, x3l, vl);
        let (z, zl) = two_sum(s, u, v);
        let zl = s.add(zl, s.add(ul, vl));
        // sigmoid(z + zl) = 1 / (1 + e^-z e^-zl), e^-zl = 1 - zl to second order.
        let e = exp(s, s.sub(s.splat(0.0), z));
        let e = s.fnma(e, zl, e);
        s.mul(x, s.recip(s.add(e, s.splat(1.0))))
    }
}

/// Applies `act` to one vector (fused into the kernels' stores).
#[inline(always)]
pub(crate) unsafe fn activate<S: Simd>(s: S, act: Activation, x: S::V) -> S::V {
    unsafe {
        let zero = s.splat(0.0);
        match act {
            Activation::Identity => x,
            Activation::Relu => s.max(x, zero),
            // Exactly one of min/max is zero, so this is `x` or one rounding of `a * x`.
            // `min(zero, x)` returns x when x is NaN: a * NaN = NaN, as in the reference.
            Activation::Prelu(a) => s.fma(s.splat(a), s.min(zero, x), s.max(x, zero)),
            Activation::Tanh => tanh(s, x),
            Activation::TanhFolded => tanh_folded(s, x),
            Activation::Sigmoid => sigmoid(s, x),
            Activation::Sin => sin(s, x),
            Activation::Gelu => gelu(s, x),
            Activation::Silu => s.mul(x, sigmoid(s, x)),
            Activation::Softplus => {
                // max(x, 0) + ln(1 + e^-|x|)
                let t = exp(s, s.sub(zero, s.abs(x)));
                s.add(s.max(x, zero), log1p_unit(s, t))
            }
        }
    }
}

/// [`activate`] over a slice. A tail shorter than a vector is done as the slice's last whole
/// vector, loaded before anything is stored (every lane is `activate` of its input, so the
/// overlap gets the same bits); only a slice shorter than one vector goes through a
/// zero-padded stack copy (two variable-length copies: `memcpy` calls, 2 per GEMV layer).
#[inline(always)]
pub(crate) unsafe fn activate_slice<S: Simd>(s: S, act: Activation, x: &mut [f32]) {
    let l = S::LANES;
    let len = x.len();
    if len >= l && !len.is_multiple_of(l) {
        // SAFETY: x[len - l..] holds LANES f32; the path is supported (caller).
        let last = unsafe { s.load(x.as_ptr().add(len - l)) };
        for c in x.chunks_exact_mut(l) {
            // SAFETY: as below.
            unsafe { s.store(c.as_mut_ptr(), activate(s, act, s.load(c.as_ptr()))) };
        }
        // SAFETY: as above.
        unsafe { s.store(x.as_mut_ptr().add(len - l), activate(s, act, last)) };
        return;
    }
    let mut chunks = x.chunks_exact_mut(l);
    for c in &mut chunks {
        // SAFETY: `c` holds exactly LANES f32; the path is supported (caller).
        unsafe { s.store(c.as_mut_ptr(), activate(s, act, s.load(c.as_ptr()))) };
    }
    let tail = chunks.into_remainder();
    if !tail.is_empty() {
        let mut buf = [0.0f32; crate::MAX_TILE];
        buf[..tail.len()].copy_from_slice(tail);
        // SAFETY: `buf` holds MAX_TILE >= LANES f32.
        unsafe { s.store(buf.as_mut_ptr(), activate(s, act, s.load(buf.as_ptr()))) };
        let n = tail.len();
        tail.copy_from_slice(&buf[..n]);
    }
}
