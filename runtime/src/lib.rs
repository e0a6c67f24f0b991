//! The hdon runtime.
#![no_std]
#![deny(missing_docs)]
#[cfg(feature = "std")]
extern crate std;
