//! C API of the hdon runtime; see `hdon.h`.
#![deny(missing_docs)]
