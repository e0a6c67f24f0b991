//! Errors and options of the runtime.

use core::fmt;

/// What to do with NaN or infinite sensor values and query points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NonFinite {
    /// Return [`Error::NonFiniteSensor`] / [`Error::NonFinitePoint`] with the index of the
    /// first bad value (the default). Costs one pass over the inputs.
    #[default]
    Reject,
    /// Compute anyway, no check: a NaN flows through the networks like any value, so outputs
    /// that depend on it are NaN, on every kernel path. The one exception is the activations'
    /// own definition: relu maps NaN to 0 (`x > 0 ? x : 0`); every other activation, prelu
    /// included, returns NaN for NaN. Infinities saturate where the activation does (tanh of
    /// +inf is 1). Other points are unaffected.
    Propagate,
}

/// Options for [`crate::Model::from_bytes_with`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Verify the CRC32C checksums of the header and every section (default `true`). Firmware
    /// that verified the image once at flash time may skip this.
    pub verify_checksums: bool,
    /// Non-finite input policy for `generate` and `eval` (default [`NonFinite::Reject`]).
    pub nonfinite: NonFinite,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            verify_checksums: true,
            nonfinite: NonFinite::Reject,
        }
    }
}

/// Everything that can go wrong in the runtime. No runtime call panics; each failure is one of
/// these. Lengths are element counts (f32 values), not bytes, unless stated otherwise.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// The file did not parse or validate (see the inner error for section/tensor/expected).
    Format(hdon_format::FormatError),
    /// A kernel rejected its arguments (should not happen for a validated model; reported
    /// rather than hidden).
    Kernel(hdon_kernels::KernelError),
    /// `sensors.len()` is not the model's sensor count `m` (for a batch: not a multiple of it).
    SensorCount {
        /// Sensor values per input function (`m`).
        expected: usize,
        /// Length of the `sensors` slice.
        found: usize,
    },
    /// `points.len()` is not a multiple of the query dimension `d_y`.
    PointDim {
        /// Query dimension `d_y` of the model.
        d_y: usize,
        /// Length of the `points` slice.
        found: usize,
    },
    /// `out` is shorter than `n_points * d_out`.
    OutputLen {
        /// Values needed (`n_points * d_out`).
        needed: usize,
        /// Length of the `out` slice.
        found: usize,
    },
    /// The workspace slice is shorter than [`crate::Model::workspace_len`].
    WorkspaceTooShort {
        /// f32 count needed.
        needed: usize,
        /// f32 count given.
        found: usize,
    },
    /// A sensor value is NaN or infinite ([`NonFinite::Reject`]).
    NonFiniteSensor {
        /// Index into the `sensors` slice of the first bad value.
        index: usize,
    },
    /// A query point coordinate is NaN or infinite ([`NonFinite::Reject`]).
    NonFinitePoint {
        /// Index into the `points` slice (element, not point) of the first bad value.
        index: usize,
    },
    /// The workspace length recorded in the file for `batch` disagrees with the runtime's
    /// formula (the file was written for a different runtime, or is corrupt).
    WorkspaceMismatch {
        /// Batch size of the record.
        batch: u32,
        /// f32 count recorded in the file.
        recorded: u64,
        /// f32 count the runtime computes.
        computed: u64,
    },
    /// A normalization entry in the file is unusable (std zero or non-finite, mean non-finite,
    /// or wrong length).
    Normalization {
        /// `"sensors"`, `"points"` or `"output"`.
        what: &'static str,
        /// `"mean"` or `"std"` for a bad entry, `"length"` for a vector of the wrong length.
        field: &'static str,
        /// Index of the first bad entry (or the bad length).
        index: usize,
    },
    /// The model is valid but exceeds a limit of this runtime build (layer count, width).
    Unsupported {
        /// What exceeds the limit.
        what: &'static str,
        /// The model's value.
        found: usize,
        /// This runtime's limit.
        max: usize,
    },
    /// A tensor referenced by the architecture is missing or has an unexpected type/length.
    Tensor {
        /// Role of the network (or `"chunk_embeddings"`).
        what: &'static str,
        /// Layer index within the network.
        layer: usize,
        /// What was wrong.
        problem: &'static str,
    },
    /// `TargetBatch::target` / `TargetBatch::eval` (feature `std`) was
    /// given an index `>= len()`. (An empty `sensors` slice is not an error for
    /// `generate_batch`: it returns a batch of length 0.)
    BatchIndex {
        /// The index asked for.
        index: usize,
        /// Number of functions in the batch.
        len: usize,
    },
}

impl From<hdon_format::FormatError> for Error {
    fn from(e: hdon_format::FormatError) -> Self {
        Error::Format(e)
    }
}

impl From<hdon_kernels::KernelError> for Error {
    fn from(e: hdon_kernels::KernelError) -> Self {
        Error::Kernel(e)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Format(e) => write!(f, "model file: {e}"),
            Error::Kernel(e) => write!(f, "kernel: {e}"),
            Error::SensorCount { expected, found } => {
                write!(
                    f,
                    "sensors: expected {expected} values per input function, found a slice of {found}"
                )?;
                // A batch's slice is a multiple of m; say when it is not even that.
                if *expected > 0 && *found > *expected && found % expected != 0 {
                    write!(f, " (not a whole number of functions)")?;
                }
                Ok(())
            }
            Error::PointDim { d_y, found } => write!(
                f,
                "points: length {found} is not a multiple of the query dimension d_y = {d_y}"
            ),
            Error::OutputLen { needed, found } => {
                write!(f, "out: needs {needed} f32 values, found {found}")
            }
            Error::WorkspaceTooShort { needed, found } => write!(
                f,
                "workspace: needs {needed} f32 values (Model::workspace_len), found {found}"
            ),
            Error::NonFiniteSensor { index } => {
                write!(f, "sensors[{index}] is NaN or infinite")
            }
            Error::NonFinitePoint { index } => write!(f, "points[{index}] is NaN or infinite"),
            Error::WorkspaceMismatch {
                batch,
                recorded,
                computed,
            } => write!(
                f,
                "workspace record for batch {batch}: file says {recorded} f32, runtime computes {computed}"
            ),
            Error::Normalization {
                what,
                field: "length",
                index,
            } => write!(
                f,
                "{what} normalization: a mean/std vector has {index} entries, expected 1 or one per {what} value"
            ),
            Error::Normalization { what, field, index } => write!(
                f,
                "{what} normalization: {field}[{index}] is unusable ({field} must be finite{})",
                if *field == "std" { " and non-zero" } else { "" }
            ),
            Error::Unsupported { what, found, max } => {
                write!(f, "unsupported model: {what} is {found}, this runtime supports at most {max}")
            }
            Error::Tensor {
                what,
                layer,
                problem,
            } => write!(f, "network {what}, layer {layer}: {problem}"),
            Error::BatchIndex { index, len } => {
                write!(f, "batch index {index} out of range for a batch of {len}")
            }
        }
    }
}

impl core::error::Error for Error {}
