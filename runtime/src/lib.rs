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
//! # Example
//! The main flow on the small HyperDeepONet shipped with the crate
//! (`examples/model.hdon`: 16 sensors, `d_y = 1`, `d_out = 1`):
//!
//! ```
//! use hdon_runtime::{Error, Model};
//!
//! /// `include_bytes!` gives alignment 1; the runtime needs 4 (tensors are read in place).
//! #[repr(C, align(64))]
//! struct Aligned<B: ?Sized>(B);
//! static FILE: &Aligned<[u8]> = &Aligned(*include_bytes!(concat!(
//!     env!("CARGO_MANIFEST_DIR"),
//!     "/examples/model.hdon"
//! )));
//!
//! // Validate once (structure, checksums, every tensor shape); borrows the bytes.
//! let model = Model::from_bytes(&FILE.0)?;
//! let (m, d_y, d_out) = (model.n_sensors(), model.d_y(), model.d_out());
//! assert_eq!((m, d_y, d_out), (16, 1, 1));
//!
//! // One input function u, sampled at the file's m sensors; the workspace is the caller's.
//! let u: Vec<f32> = (0..m).map(|i| (i as f32 * 0.4).sin()).collect();
//! let mut workspace = vec![0.0f32; model.workspace_len(1)];
//! let mut target = model.generate(&u, &mut workspace)?;
//!
//! // The target net at n query points: points [n, d_y] and out [n, d_out], row-major.
//! let n = 2_000;
//! let points: Vec<f32> = (0..n * d_y).map(|i| i as f32 / (n * d_y) as f32).collect();
//! let mut out = vec![0.0f32; n * d_out];
//! target.eval(&points, &mut out)?;
//! assert!(out.iter().all(|v| v.is_finite()));
//!
//! // Wrong arguments are errors, never panics.
//! let err = target.eval(&points, &mut out[..10]).unwrap_err();
//! assert_eq!(err, Error::OutputLen { needed: n * d_out, found: 10 });
//! assert_eq!(err.to_string(), "out: needs 2000 f32 values, found 10");
//!
//! // Threads and batches need the default `std` feature (rayon, OS threads).
//! #[cfg(feature = "std")]
//! {
//!     // The same points on rayon's threads, then on a team of spinning workers: same bits.
//!     let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
//!     let mut out_par = vec![0.0f32; n * d_out];
//!     target.eval_par(&points, &mut out_par)?;
//!     assert_eq!(bits(&out_par), bits(&out));
//!     let team = hdon_runtime::Team::new(2, std::time::Duration::from_micros(100))?;
//!     target.eval_on(&team, &points, &mut out_par)?;
//!     assert_eq!(bits(&out_par), bits(&out));
//!
//!     // Many input functions at once: sensors [batch, m], workspace_len(batch) f32.
//!     let batch = 4;
//!     let us: Vec<f32> = (0..batch * m).map(|i| (i as f32 * 0.1).cos()).collect();
//!     let mut workspace = vec![0.0f32; model.workspace_len(batch)];
//!     let mut targets = model.generate_batch(&us, &mut workspace)?;
//!     let mut all = vec![0.0f32; batch * n * d_out]; // [batch, n, d_out]
//!     targets.eval_all_par(&points, &mut all)?;
//!     targets.eval(3, &points, &mut out)?;
//!     assert_eq!(bits(&all[3 * n * d_out..]), bits(&out));
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
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
