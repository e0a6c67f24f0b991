//! The hdon runtime: runs HyperDeepONet-family operator networks from a `.hdon` file with no
//! heap and no panics.
//!
//! ```text
//! Model::from_bytes(bytes)          validate once, borrow everything zero-copy
//! model.generate(u, workspace)      once per input function: branch / hypernet forward
//!   -> Target                       borrows the workspace
//! target.eval(points, out)          any number of times: the target net at query points
//! ```
//!
//! # Data representation
//! - `sensors`: `[m]` f32, the input function at the file's sensor locations, physical units.
//! - `points`: `[n, d_y]` f32 row-major; `out`: `[n, d_out]` f32 row-major, physical units.
//!   Input/output normalization recorded in the file is applied inside.
//! - `workspace`: a caller-owned f32 slice of exactly known length
//!   ([`Model::workspace_len`], also recorded in the file so firmware can size a static
//!   array). Its layout per family is documented in the `plan` module; generate writes the
//!   u-dependent part of the target net there in the kernel layout (packed rows
//!   `[b_o, W[o, 0..n_in]]`), with point normalization folded into a per-function copy of the
//!   first target layer and output de-normalization into the last.
//!
//! # Guarantees
//! `#![no_std]`, no `alloc`: [`Model::from_bytes`], [`Model::generate`] and [`Target::eval`]
//! allocate nothing (a test with a counting global allocator proves it). No call panics on any
//! input; every failure is an [`Error`]. Feature `std` (default) adds rayon helpers
//! ([`Model::generate_batch`], [`Model::generate_par`], [`Target::eval_par`]) whose results
//! are bit-identical to the serial calls, except a HyperDeepONet `generate_batch` of 4 or more
//! functions (equal to rounding, and the same bits for any batch and thread count; see its
//! docs), and [`Team`], worker threads that poll for the next call instead of sleeping, to run
//! the same helpers on (`generate_batch_on`, `generate_on`, `eval_on`: the same bits as on
//! rayon).
#![no_std]
#![deny(missing_docs)]
#[cfg(feature = "std")]
extern crate std;

mod error;
mod generate;
mod model;
#[cfg(feature = "std")]
mod par;
mod plan;
mod target;
#[cfg(feature = "std")]
mod team;

pub use error::{Error, NonFinite, Options};
pub use hdon_format::{Family, FormatError, ModelFile};
pub use hdon_kernels::KernelError;
pub use model::Model;
#[cfg(feature = "std")]
pub use par::TargetBatch;
pub use plan::workspace_len_for;
pub use target::Target;
#[cfg(feature = "std")]
pub use team::Team;
