//! Shared workload definitions for hdon's benchmarks (issue 7).
//!
//! [`workload`] defines the workloads S, L, B, D and the paper's Burgers/advection models once,
//! with deterministic seeded weights; `src/bin/workloads.rs` dumps them for the Python and tract
//! peers (`benches/peers/`), and the hdon side (criterion `benches/e2e.rs`, `src/bin/e2e.rs`)
//! builds its model files from the same numbers.

pub mod cli;
pub mod e2e;
pub mod model;
pub mod npy;
pub mod workload;

pub use workload::{spec, Act, Dense, Family, Spec, WeightType, Workload, SPECS};
