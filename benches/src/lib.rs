//! Shared workload definitions for hdon's benchmarks.
