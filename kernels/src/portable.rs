//! The `wide` path (temporarily forwarding to the reference until the SIMD kernels land).

use crate::{reference, Activation, Layer, MatRef};

pub(crate) fn gemv_batch(
    w: &MatRef<'_>,
    x: &[f32],
    batch: usize,
    bias: Option<&[f32]>,
    act: Activation,
    y: &mut [f32],
) {
    reference::gemv_batch_unchecked(w, x, batch, bias, act, y)
}

pub(crate) fn mlp_eval(layers: &[Layer<'_>], points: &[f32], out: &mut [f32], scratch: &mut [f32]) {
    reference::mlp_eval_unchecked(layers, points, out, scratch)
}

pub(crate) fn activate_slice(act: Activation, x: &mut [f32]) {
    reference::activate_slice(act, x)
}
