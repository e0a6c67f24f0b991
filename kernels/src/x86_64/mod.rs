//! x86-64 native paths: one `#[target_feature]` entry per kernel and instruction set.
//!
//! The entries instantiate the generic kernels (`tile.rs`, `dot.rs`, `vector_math.rs`) with
//! the ISA token, so the whole kernel is compiled for that ISA. The safe wrappers below are
//! only reached after `Path::is_supported` returned true for the path (see `gemv.rs`,
//! `mlp.rs`, `activation.rs`), which is what makes calling the entries sound.

pub(crate) mod amx;
mod avx2;
mod avx512;
mod qdot;
mod rowsum;

pub(crate) use qdot::{
    avx2_qgemv_batch, avx512_blocked_kernel, avx512_int_kernel, avx512_qgemv_batch,
};

use avx2::Avx2;
use avx512::Avx512;

/// The 16 x 16 square of `columns_to_rows` per instruction set (register transposes; the
/// scalar twin is `gemm::square_scalar`).
trait SquareOf {
    const SQUARE: gemm::Square;
}
impl SquareOf for Avx2 {
    const SQUARE: gemm::Square = avx2::transpose16;
}
impl SquareOf for Avx512 {
    const SQUARE: gemm::Square = avx512::transpose16;
}

use crate::gemm::{self, Gemm, Transpose};
use crate::theta::{self, FoldLanes};
use crate::{dot, tile, vector_math, Activation, Layer, MatRef};

macro_rules! entries {
    ($token:ident, $features:literal, $gemv:ident, $gemm:ident, $tr:ident, $fold:ident, $mlp:ident, $act:ident) => {
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
        /// The CPU supports the features; `g` validated by `gemm::gemm_on`, `y` `[rows, n]`.
        #[target_feature(enable = $features)]
        unsafe fn gemm_entry(g: &Gemm<'_>, y: &mut [f32]) {
            // SAFETY: forwarded contract.
            unsafe { gemm::gemm_simd($token, g, y) }
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

        pub(crate) fn $gemm(g: &Gemm<'_>, y: &mut [f32]) {
            debug_assert!(crate::Path::$token.is_supported());
            // SAFETY: callers checked `Path::is_supported` and validated the arguments.
            unsafe { gemm_entry(g, y) }
        }

        /// # Safety
        /// The CPU supports the features; `t` and `dst` validated by `columns_to_rows`.
        #[target_feature(enable = $features)]
        unsafe fn transpose_entry(t: &Transpose<'_>, dst: &mut [f32]) {
            // SAFETY: forwarded contract; `$token::SQUARE` needs only these features.
            unsafe { gemm::transpose_blocks(t, dst, <$token as SquareOf>::SQUARE) }
        }

        pub(crate) fn $tr(t: &Transpose<'_>, dst: &mut [f32]) {
            debug_assert!(crate::Path::$token.is_supported());
            // SAFETY: callers checked `Path::is_supported` and validated the arguments.
            unsafe { transpose_entry(t, dst) }
        }

        /// # Safety
        /// The CPU supports the features.
        #[target_feature(enable = $features)]
        unsafe fn fold_entry(f: &FoldLanes, params: &mut [f32], row: usize) {
            theta::fold_lanes_impl(f, params, row)
        }

        pub(crate) fn $fold(f: &FoldLanes, params: &mut [f32], row: usize) {
            debug_assert!(crate::Path::$token.is_supported());
            // SAFETY: callers checked `Path::is_supported`.
            unsafe { fold_entry(f, params, row) }
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
        avx512_gemm,
        avx512_columns_to_rows,
        avx512_fold_tanh_lanes,
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
        avx2_gemm,
        avx2_columns_to_rows,
        avx2_fold_tanh_lanes,
        avx2_mlp_eval,
        avx2_activate_slice
    );
}

pub(crate) use avx2_entries::{
    avx2_activate_slice, avx2_columns_to_rows, avx2_fold_tanh_lanes, avx2_gemm, avx2_gemv_batch,
    avx2_mlp_eval,
};
pub(crate) use avx512_entries::{
    avx512_activate_slice, avx512_columns_to_rows, avx512_fold_tanh_lanes, avx512_gemm,
    avx512_gemv_batch, avx512_mlp_eval,
};

/// What [`amx_mlp_eval`] did.
// Without std the tiles never run: only `Off` and `NotTaken` are built.
#[cfg_attr(not(feature = "std"), allow(dead_code))]
pub(crate) enum AmxRun {
    /// The tiles evaluated every point.
    Ran,
    /// Tiles unavailable (or switched off, unless forced): `out` untouched.
    Off,
    /// The tiles do not take this net ([`amx::plan`]): `out` untouched.
    NotTaken,
    /// A hidden layer has an infinite or NaN weight: `out` untouched.
    NonFinite,
}

/// Runs the net on AMX tiles if they are on and take it; otherwise says why, with `out`
/// untouched (`mlp_eval` then runs the FMA tile kernel). `force`: run even when switched off
/// (`mlp_eval_amx`), as long as tiles are available.
pub(crate) fn amx_mlp_eval(
    layers: &[Layer<'_>],
    points: &[f32],
    out: &mut [f32],
    force: bool,
) -> AmxRun {
    let on = if force {
        amx::available()
    } else {
        amx::enabled()
    };
    if !on || !crate::Path::Avx512.is_supported() {
        return AmxRun::Off;
    }
    let Some(plan) = amx::plan(layers) else {
        return AmxRun::NotTaken;
    };
    #[cfg(feature = "std")]
    {
        // SAFETY: AVX-512 supported and AMX available (above); the caller validated the
        // arguments and `plan` accepted the layers.
        if amx::with_buf(|buf| unsafe { amx::mlp_eval(layers, plan, points, out, buf) }) {
            AmxRun::Ran
        } else {
            AmxRun::NonFinite
        }
    }
    #[cfg(not(feature = "std"))]
    {
        // Without std there is no tile permission and no per-thread buffer: `available` is
        // false and this is never reached.
        let _ = (plan, points, out);
        AmxRun::Off
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::{vec, vec::Vec};

    use super::{Avx2, Avx512};
    use crate::portable::Portable;
    use crate::simd::Simd;
    use crate::vector_math::{tanh, tanh_n};
    use crate::Path;

    /// `tanh_n` (the tile kernel's batched tanh) equals `tanh` (the one the activation tests
    /// measure) bit for bit, NaN included.
    fn tanh_n_is_tanh<S: Simd>(s: S) {
        let l = S::LANES;
        let mut xs: Vec<f32> = (0..4 * l * 300)
            .map(|i| (i as f32 - 600.0 * l as f32) * 0.0173)
            .collect();
        xs.extend([
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            -0.0,
            1e-30,
            -1e30,
        ]);
        xs.resize(xs.len().next_multiple_of(4 * l), 0.5);
        let (mut one, mut four) = (vec![0.0f32; xs.len()], vec![0.0f32; xs.len()]);
        for (k, c) in xs.chunks_exact(4 * l).enumerate() {
            // SAFETY: the path is supported (callers check); chunks hold 4 * LANES f32.
            unsafe {
                let mut v = [s.splat(0.0); 4];
                for (j, x) in v.iter_mut().enumerate() {
                    *x = s.load(c.as_ptr().add(j * l));
                }
                for (j, x) in v.iter().enumerate() {
                    s.store(one.as_mut_ptr().add(k * 4 * l + j * l), tanh(s, *x));
                }
                tanh_n(s, &mut v);
                for (j, x) in v.into_iter().enumerate() {
                    s.store(four.as_mut_ptr().add(k * 4 * l + j * l), x);
                }
            }
        }
        for ((x, a), b) in xs.iter().zip(&one).zip(&four) {
            assert_eq!(a.to_bits(), b.to_bits(), "x = {x}: {a} vs {b}");
        }
    }

    #[test]
    fn tanh_n_equals_tanh_on_every_path() {
        tanh_n_is_tanh(Portable);
        if Path::Avx2.is_supported() {
            tanh_n_is_tanh(Avx2);
        }
        if Path::Avx512.is_supported() {
            tanh_n_is_tanh(Avx512);
        }
    }
}
