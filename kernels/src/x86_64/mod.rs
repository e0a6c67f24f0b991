//! x86-64 native paths: one `#[target_feature]` entry per kernel and instruction set.
//!
//! The entries instantiate the generic kernels (`tile.rs`, `dot.rs`, `vector_math.rs`) with
//! the ISA token, so the whole kernel is compiled for that ISA. The safe wrappers below are
//! only reached after `Path::is_supported` returned true for the path (see `gemv.rs`,
//! `mlp.rs`, `activation.rs`), which is what makes calling the entries sound.

mod avx2;
mod avx512;

use avx2::Avx2;
use avx512::Avx512;

use crate::{dot, tile, vector_math, Activation, Layer, MatRef};

macro_rules! entries {
    ($token:ident, $features:literal, $gemv:ident, $mlp:ident, $act:ident) => {
        /// # Safety
        /// The CPU supports the features; lengths validated by `gemv::validate_gemv`.
        #[target_feature(enable = $features)]
        unsafe fn gemv_entry(
            w: &MatRef<'_>,
            x: &[f32],
            batch: usize,
            bias: Option<&[f32]>,
            act: Activation,
            y: &mut [f32],
        ) {
            // SAFETY: forwarded contract.
            unsafe { dot::gemv_batch($token, w, x, batch, bias, act, y) }
        }

        /// # Safety
        /// The CPU supports the features; arguments validated by `mlp::validate_mlp`.
        #[target_feature(enable = $features)]
        unsafe fn mlp_entry(
            layers: &[Layer<'_>],
            points: &[f32],
            out: &mut [f32],
            scratch: &mut [f32],
        ) {
            // SAFETY: forwarded contract.
            unsafe { tile::mlp_eval($token, layers, points, out, scratch) }
        }

        /// # Safety
        /// The CPU supports the features.
        #[target_feature(enable = $features)]
        unsafe fn act_entry(act: Activation, x: &mut [f32]) {
            // SAFETY: forwarded contract.
            unsafe { vector_math::activate_slice($token, act, x) }
        }

        pub(crate) fn $gemv(
            w: &MatRef<'_>,
            x: &[f32],
            batch: usize,
            bias: Option<&[f32]>,
            act: Activation,
            y: &mut [f32],
        ) {
            debug_assert!(crate::Path::$token.is_supported());
            // SAFETY: callers checked `Path::is_supported` and validated the lengths.
            unsafe { gemv_entry(w, x, batch, bias, act, y) }
        }

        pub(crate) fn $mlp(
            layers: &[Layer<'_>],
            points: &[f32],
            out: &mut [f32],
            scratch: &mut [f32],
        ) {
            debug_assert!(crate::Path::$token.is_supported());
            // SAFETY: callers checked `Path::is_supported` and validated the arguments.
            unsafe { mlp_entry(layers, points, out, scratch) }
        }

        pub(crate) fn $act(act: Activation, x: &mut [f32]) {
            debug_assert!(crate::Path::$token.is_supported());
            // SAFETY: callers checked `Path::is_supported`.
            unsafe { act_entry(act, x) }
        }
    };
}

mod avx512_entries {
    use super::*;
    entries!(
        Avx512,
        "avx512f,avx512dq",
        avx512_gemv_batch,
        avx512_mlp_eval,
        avx512_activate_slice
    );
}
mod avx2_entries {
    use super::*;
    entries!(
        Avx2,
        "avx2,fma,f16c",
        avx2_gemv_batch,
        avx2_mlp_eval,
        avx2_activate_slice
    );
}

pub(crate) use avx2_entries::{avx2_activate_slice, avx2_gemv_batch, avx2_mlp_eval};
pub(crate) use avx512_entries::{avx512_activate_slice, avx512_gemv_batch, avx512_mlp_eval};
