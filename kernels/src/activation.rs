//! The activation functions of the target and generate-side networks.

use crate::{active_path, reference, KernelError, Path};

/// Element-wise activation applied after a layer's affine map (fused into the kernels' store).
///
/// The same enum exists in `hdon-format` (file codes in [`Activation::code`]); the runtime maps
/// one to the other. Accuracy of every fast path against an f64 reference is documented in the
/// crate docs ("Activations") and held by tests.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Activation {
    /// `x`.
    Identity,
    /// `x` if `x > 0`, else `0`.
    Relu,
    /// `x` if `x > 0`, else `slope * x`.
    Prelu(f32),
    /// Hyperbolic tangent.
    Tanh,
    /// `1 / (1 + exp(-x))`.
    Sigmoid,
    /// `sin(x)` (radians).
    Sin,
    /// GELU, tanh form: `0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))`.
    Gelu,
    /// `x * sigmoid(x)` (a.k.a. swish).
    Silu,
    /// `ln(1 + exp(x))`.
    Softplus,
    /// `2 / (1 + 2^x)`, i.e. `1 + tanh(x / c)` with `c = `[`crate::TANH_FOLD_SCALE`]: the
    /// hidden tanh of a layer chain rewritten by [`crate::fold_tanh`] (the scale `c` on the
    /// pre-activation and the `+ 1` on the output are folded into the weights), two vector
    /// operations cheaper than [`Activation::Tanh`]. Not a file activation: the runtime
    /// chooses it for generated target networks.
    TanhFolded,
}

impl Activation {
    /// The file code shared with `hdon-format`: identity 0, relu 1, prelu 2, tanh 3, sigmoid 4,
    /// sin 5, gelu 6, silu 7, softplus 8; `None` for [`Activation::TanhFolded`], which files
    /// never hold.
    pub fn code(self) -> Option<u8> {
        Some(match self {
            Activation::Identity => 0,
            Activation::Relu => 1,
            Activation::Prelu(_) => 2,
            Activation::Tanh => 3,
            Activation::Sigmoid => 4,
            Activation::Sin => 5,
            Activation::Gelu => 6,
            Activation::Silu => 7,
            Activation::Softplus => 8,
            Activation::TanhFolded => return None,
        })
    }

    /// Lower-case name as written in model specs (`"tanh"`, `"prelu"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Activation::Identity => "identity",
            Activation::Relu => "relu",
            Activation::Prelu(_) => "prelu",
            Activation::Tanh => "tanh",
            Activation::Sigmoid => "sigmoid",
            Activation::Sin => "sin",
            Activation::Gelu => "gelu",
            Activation::Silu => "silu",
            Activation::Softplus => "softplus",
            Activation::TanhFolded => "tanh-folded",
        }
    }
}

/// Applies `act` to every element of `x` in place, on the [`active_path`].
pub fn activate(act: Activation, x: &mut [f32]) {
    activate_on(active_path(), act, x).expect("the active path is supported")
}

/// [`activate`] on an explicit path.
///
/// # Errors
/// [`KernelError::UnsupportedPath`] if the CPU cannot run `path`.
pub fn activate_on(path: Path, act: Activation, x: &mut [f32]) -> Result<(), KernelError> {
    if !path.is_supported() {
        return Err(KernelError::UnsupportedPath(path));
    }
    match path {
        Path::Scalar => reference::activate_slice(act, x),
        Path::Portable => crate::portable::activate_slice(act, x),
        #[cfg(target_arch = "x86_64")]
        Path::Avx2 => crate::x86_64::avx2_activate_slice(act, x),
        #[cfg(target_arch = "x86_64")]
        Path::Avx512 => crate::x86_64::avx512_activate_slice(act, x),
        #[cfg(not(target_arch = "x86_64"))]
        Path::Avx2 | Path::Avx512 => unreachable!("is_supported is false off x86-64"),
    }
    Ok(())
}
