//! The one error type of the crate.

use core::fmt;

use crate::Path;

/// Why a kernel refused its arguments. Lengths are element counts (f32, i8, ...), never bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KernelError {
    /// A slice's length is not the one the shapes require.
    Length {
        /// Which argument (`"x"`, `"y"`, `"bias"`, `"weights"`, `"scales"`, `"points"`, ...).
        what: &'static str,
        /// Length the shapes require.
        expected: usize,
        /// Length passed.
        found: usize,
    },
    /// A buffer is shorter than the kernel needs (scratch).
    TooShort {
        /// Which argument.
        what: &'static str,
        /// Minimum length.
        needed: usize,
        /// Length passed.
        found: usize,
    },
    /// `mlp_eval` got no layers, or `theta_permutation` fewer than two layer sizes.
    NoLayers,
    /// More layers than [`crate::MAX_LAYERS`].
    TooManyLayers {
        /// Layers passed.
        found: usize,
        /// The cap.
        max: usize,
    },
    /// A width is zero or above its cap ([`crate::MAX_IN`] for inputs, [`crate::MAX_WIDTH`]
    /// for outputs).
    Width {
        /// Layer index (0-based).
        layer: usize,
        /// `"n_in"` or `"n_out"`.
        what: &'static str,
        /// Width passed.
        found: usize,
        /// Largest allowed width.
        max: usize,
    },
    /// Layer `layer`'s `n_in` differs from the previous layer's `n_out`.
    Chain {
        /// Layer index (0-based, >= 1).
        layer: usize,
        /// Previous layer's `n_out`.
        expected: usize,
        /// This layer's `n_in`.
        found: usize,
    },
    /// A size product overflows `usize` (or `u32` for permutation indices).
    Overflow,
    /// [`crate::force_path`] asked for a path this CPU (or build) cannot run.
    UnsupportedPath(Path),
    /// A blocked int8 matrix ([`crate::WeightData::I8Blocked`]) wider than the W8A16 range.
    BlockedTooWide {
        /// Columns passed.
        cols: usize,
        /// [`crate::QMAX_COLS`].
        max: usize,
    },
    /// A strided f32 matrix ([`crate::WeightData::F32Strided`]) whose rows are closer together
    /// than they are long.
    Stride {
        /// Row stride passed (elements).
        lda: usize,
        /// Columns (elements per row).
        cols: usize,
    },
    /// [`crate::gemm`]'s vector count is not a multiple of [`crate::GEMM_LANES`].
    Lanes {
        /// Vectors passed.
        found: usize,
        /// The multiple required.
        multiple: usize,
    },
    /// [`crate::MatRef::row_block`] of a blocked int8 matrix at a row that does not start
    /// one of its blocks.
    RowBlock {
        /// First row asked for.
        r0: usize,
        /// The multiple it must be ([`crate::I8_BLOCK_ROWS`]).
        multiple: usize,
    },
    /// [`crate::mlp_eval_amx`] cannot run: no AMX tiles here, or a net they do not take.
    Amx {
        /// Why, in words.
        reason: &'static str,
    },
    /// A kernel that takes one weight type got another ([`crate::gemm`]: f32 only).
    WeightType {
        /// The type the kernel takes.
        expected: &'static str,
        /// The type passed (`"f32"`, `"f16"`, `"bf16"`, `"int8"`, `"int8 blocked"`).
        found: &'static str,
    },
}

impl fmt::Display for KernelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            KernelError::Length {
                what,
                expected,
                found,
            } => {
                write!(
                    f,
                    "{what}: expected length {expected} (elements), found {found}"
                )
            }
            KernelError::TooShort {
                what,
                needed,
                found,
            } => {
                write!(f, "{what}: needs at least {needed} elements, found {found}")
            }
            KernelError::NoLayers => write!(f, "no layers given"),
            KernelError::TooManyLayers { found, max } => {
                write!(f, "{found} layers given, at most {max} supported")
            }
            KernelError::Width {
                layer,
                what,
                found,
                max,
            } => {
                write!(f, "layer {layer}: {what} = {found}, expected 1..={max}")
            }
            KernelError::Chain {
                layer,
                expected,
                found,
            } => write!(
                f,
                "layer {layer}: n_in = {found} but the previous layer's n_out = {expected}"
            ),
            KernelError::Overflow => write!(f, "size product overflows"),
            KernelError::UnsupportedPath(p) => {
                write!(
                    f,
                    "kernel path {} is not supported by this CPU/build",
                    p.name()
                )
            }
            KernelError::BlockedTooWide { cols, max } => write!(
                f,
                "blocked int8 weights have {cols} columns; the blocked layout takes at most {max}"
            ),
            KernelError::Stride { lda, cols } => write!(
                f,
                "strided f32 weights have rows {lda} elements apart but {cols} columns (lda must be >= cols)"
            ),
            KernelError::Lanes { found, multiple } => write!(
                f,
                "{found} vectors given; the batched layer takes a multiple of {multiple} (pad them)"
            ),
            KernelError::RowBlock { r0, multiple } => write!(
                f,
                "rows from {r0} of a blocked int8 matrix: the first row must be a multiple of {multiple}"
            ),
            KernelError::Amx { reason } => write!(f, "AMX tiles cannot run this: {reason}"),
            KernelError::WeightType { expected, found } => {
                write!(f, "weights are {found}; this kernel takes {expected}")
            }
        }
    }
}

impl core::error::Error for KernelError {}
