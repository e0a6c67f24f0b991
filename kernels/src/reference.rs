//! The scalar twin of every kernel: plain loops, correctly rounded math (`libm`).
//!
//! This is [`Path::Scalar`](crate::Path::Scalar) and the yardstick of every test. Sums run in
//! order `i = 0, 1, ...` with fused multiply-adds (`libm::fmaf`, correctly rounded like the
//! hardware instruction); activations are computed in f64 and rounded once to f32.

use crate::gemv::WeightData;
use crate::{Activation, KernelError, Layer, MatRef};

/// `a * b + c` with one rounding (IEEE fusedMultiplyAdd).
#[inline]
pub fn fma(a: f32, b: f32, c: f32) -> f32 {
    libm::fmaf(a, b, c)
}

/// The activation in f64: the accuracy yardstick of every path (including this one).
pub fn activate_f64(act: Activation, x: f64) -> f64 {
    let sigmoid = |x: f64| 1.0 / (1.0 + libm::exp(-x));
    match act {
        Activation::Identity => x,
        Activation::Relu => {
            if x > 0.0 {
                x
            } else {
                0.0
            }
        }
        Activation::Prelu(a) => {
            if x > 0.0 {
                x
            } else {
                f64::from(a) * x
            }
        }
        Activation::Tanh => libm::tanh(x),
        Activation::TanhFolded => 2.0 / (1.0 + libm::exp2(x)),
        Activation::Sigmoid => sigmoid(x),
        Activation::Sin => libm::sin(x),
        Activation::Gelu => {
            let k = libm::sqrt(2.0 / core::f64::consts::PI);
            0.5 * x * (1.0 + libm::tanh(k * (x + 0.044715 * x * x * x)))
        }
        Activation::Silu => x * sigmoid(x),
        Activation::Softplus => {
            if x > 0.0 {
                x + libm::log1p(libm::exp(-x))
            } else {
                libm::log1p(libm::exp(x))
            }
        }
    }
}

/// The activation of one f32: exact for identity/relu/prelu (prelu is one f32 multiply),
/// [`activate_f64`] rounded to f32 otherwise.
#[inline]
pub fn activate(act: Activation, x: f32) -> f32 {
    match act {
        Activation::Identity => x,
        Activation::Relu => {
            if x > 0.0 {
                x
            } else {
                0.0
            }
        }
        Activation::Prelu(a) => {
            if x > 0.0 {
                x
            } else {
                a * x
            }
        }
        _ => activate_f64(act, f64::from(x)) as f32,
    }
}

/// [`activate`] on every element.
pub fn activate_slice(act: Activation, x: &mut [f32]) {
    for v in x {
        *v = activate(act, *v);
    }
}

/// `y = act(W x + bias)`, the twin of [`crate::gemv`] (same checks, same errors).
///
/// # Errors
/// As [`crate::gemv`].
pub fn gemv(
    w: &MatRef<'_>,
    x: &[f32],
    bias: Option<&[f32]>,
    act: Activation,
    y: &mut [f32],
) -> Result<(), KernelError> {
    gemv_batch(w, x, 1, bias, act, y)
}

/// The twin of [`crate::gemv_batch`].
///
/// # Errors
/// As [`crate::gemv_batch`].
pub fn gemv_batch(
    w: &MatRef<'_>,
    x: &[f32],
    batch: usize,
    bias: Option<&[f32]>,
    act: Activation,
    y: &mut [f32],
) -> Result<(), KernelError> {
    crate::gemv_batch_on(crate::Path::Scalar, w, x, batch, bias, act, y)
}

/// Row `r` dotted with `x`, in order, FMA per term; int8 rows are scaled after the sum.
fn row_dot(w: &MatRef<'_>, r: usize, x: &[f32]) -> f32 {
    let cols = w.cols;
    let row = r * cols..(r + 1) * cols;
    let mut acc = 0.0f32;
    match w.data {
        WeightData::F32(d) => {
            for (a, b) in d[row].iter().zip(x) {
                acc = fma(*a, *b, acc);
            }
        }
        WeightData::F32Strided { values, lda } => {
            for (a, b) in values[r * lda..r * lda + cols].iter().zip(x) {
                acc = fma(*a, *b, acc);
            }
        }
        WeightData::F16(d) => {
            for (a, b) in d[row].iter().zip(x) {
                acc = fma(a.to_f32(), *b, acc);
            }
        }
        WeightData::Bf16(d) => {
            for (a, b) in d[row].iter().zip(x) {
                acc = fma(a.to_f32(), *b, acc);
            }
        }
        WeightData::I8 { values, scales } => {
            for (a, b) in values[row].iter().zip(x) {
                acc = fma(f32::from(*a), *b, acc);
            }
            acc *= scales[r];
        }
        WeightData::I8Blocked { values, scales } => {
            for (c, b) in x.iter().enumerate().take(cols) {
                let a = values[crate::i8_blocked_index(r, c, cols)];
                acc = fma(f32::from(a), *b, acc);
            }
            acc *= scales[r];
        }
    }
    acc
}

/// Lengths already checked by the caller.
pub(crate) fn gemv_batch_unchecked(
    w: &MatRef<'_>,
    x: &[f32],
    batch: usize,
    bias: Option<&[f32]>,
    act: Activation,
    y: &mut [f32],
) {
    if let Some(m) = w.int8_w8a16() {
        // W8A16: x quantized per vector, exact integer sums (see `qgemv`).
        return crate::qgemv::gemv_batch_generic(crate::Path::Scalar, m, x, batch, bias, act, y);
    }
    for b in 0..batch {
        let xb = &x[b * w.cols..(b + 1) * w.cols];
        for r in 0..w.rows {
            let v = row_dot(w, r, xb) + bias.map_or(0.0, |bi| bi[r]);
            y[b * w.rows + r] = activate(act, v);
        }
    }
}

/// The twin of [`crate::gemm`] (same checks, same errors, same order of operations).
///
/// # Errors
/// As [`crate::gemm`].
pub fn gemm(
    w: &MatRef<'_>,
    x: &[f32],
    n: usize,
    bias: Option<&[f32]>,
    act: Activation,
    y: &mut [f32],
) -> Result<(), KernelError> {
    crate::gemm_on(crate::Path::Scalar, w, x, n, bias, act, y)
}

/// Validated by the caller; `y.len() = rows * n`.
pub(crate) fn gemm_unchecked(g: &crate::gemm::Gemm<'_>, y: &mut [f32]) {
    for (o, yo) in y.chunks_exact_mut(g.n).enumerate() {
        let row = &g.w[o * g.lda..o * g.lda + g.cols];
        for (j, yj) in yo.iter_mut().enumerate() {
            let mut acc = g.bias.map_or(0.0, |b| b[o]);
            for (k, &wk) in row.iter().enumerate() {
                acc = fma(wk, g.x[k * g.n + j], acc);
            }
            *yj = activate(g.act, acc);
        }
    }
}

/// The twin of [`crate::mlp_eval`]: one point at a time, two scratch vectors.
///
/// # Errors
/// As [`crate::mlp_eval`].
pub fn mlp_eval(
    layers: &[Layer<'_>],
    points: &[f32],
    out: &mut [f32],
    scratch: &mut [f32],
) -> Result<(), KernelError> {
    crate::mlp_eval_on(crate::Path::Scalar, layers, points, out, scratch)
}

/// Lengths already checked by the caller (`scratch.len() >= mlp_scratch_len(layers)`).
pub(crate) fn mlp_eval_unchecked(
    layers: &[Layer<'_>],
    points: &[f32],
    out: &mut [f32],
    scratch: &mut [f32],
) {
    let d_in = layers[0].n_in;
    let d_out = layers[layers.len() - 1].n_out;
    let widest = layers
        .iter()
        .map(|l| l.n_in.max(l.n_out))
        .max()
        .unwrap_or(0);
    let (h, g) = scratch.split_at_mut(widest);
    for (p, y) in points.chunks_exact(d_in).zip(out.chunks_exact_mut(d_out)) {
        h[..d_in].copy_from_slice(p);
        for l in layers {
            for o in 0..l.n_out {
                let row = &l.params[o * (l.n_in + 1)..(o + 1) * (l.n_in + 1)];
                let mut acc = row[0];
                for i in 0..l.n_in {
                    acc = fma(row[1 + i], h[i], acc);
                }
                g[o] = activate(l.act, acc);
            }
            h[..l.n_out].copy_from_slice(&g[..l.n_out]);
        }
        y.copy_from_slice(&h[..d_out]);
    }
}
