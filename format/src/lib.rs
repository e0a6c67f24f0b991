//! The `.hdon` model file format: byte layout, a zero-copy `no_std` parser that nothing can
//! crash, and (feature `std`) a deterministic writer.
//!
//! # Data representation
//! A file is a 64-byte-aligned header with a section table, followed by exactly its sections,
//! each starting at a multiple of 64 bytes, zero-padded in between:
//! architecture (family, dimensions, networks of dense layers, target-net table, workspace
//! records), metadata (sensors, domain, normalization, provenance, string pairs), tensor table
//! (name, dtype, shape, offsets) and tensor data (64-byte aligned tensors). Everything is
//! little-endian; the header and every section carry a CRC32C. The byte-exact specification
//! is docs/FORMAT.md.
//!
//! # Parsing
//! [`ModelFile::parse`] validates everything once (structure, caps, checksums, every tensor
//! shape against the architecture) in O(sections + tensors) plus one checksum pass, then hands
//! out typed views (`&[f32]`, `&[half::f16]`, `&[i8]`, ...) borrowed from the caller's buffer.
//! The buffer must start at a 4-byte aligned address; the parser never copies, never
//! allocates, never panics and returns a [`FormatError`] naming what is wrong and where.
//!
//! # Writing (feature `std`)
//! [`ModelBuilder`] turns an [`ArchSpec`], tensors and a [`MetadataSpec`] into bytes; the same
//! input always gives the same bytes, and the output is parsed back before it is returned.
//!
//! ```
//! use hdon_format::*;
//! // A HyperDeepONet with one sensor, target net [1, 1] (n_theta = 2), hypernet 1 -> 2.
//! let mut b = ModelBuilder::new(ArchSpec {
//!     family: Family::HyperDeepONet, n_sensors: 1, d_y: 1, d_out: 1, p: 0, theta_layout: 1,
//!     n_theta: 2, n_chunks: 0, chunk_size: 0, d_z: 0, chunk_embeddings: None,
//!     networks: vec![NetworkSpec { role: Role::Hyper, layers: vec![Layer {
//!         n_in: 1, n_out: 2, activation: Activation::Identity, weight: 0, bias: None }] }],
//!     target: vec![TargetLayer { n_in: 1, n_out: 1, activation: Activation::Identity }],
//! });
//! b.add_tensor("hyper.0.weight", &[2, 1], TensorBuf::F32(vec![0.5, -2.0]));
//! b.set_metadata(MetadataSpec { sensors: vec![0.5], sensor_dim: 1, domain_lower: vec![0.0],
//!     domain_upper: vec![1.0], ..Default::default() });
//! let bytes = AlignedBytes::from_slice(&b.to_bytes()?);   // Vec<u8> has no alignment guarantee
//! let file = ModelFile::parse(&bytes)?;
//! let hyper = file.arch().network(Role::Hyper).unwrap();
//! let w = file.tensor(hyper.layer(0).unwrap().weight).unwrap();
//! assert_eq!((w.shape, w.data), (&[2u32, 1][..], TensorData::F32(&[0.5, -2.0])));
//! # Ok::<(), FormatError>(())
//! ```
#![no_std]
#![deny(missing_docs)]
#[cfg(any(feature = "std", test))]
extern crate std;

mod arch;
mod codes;
mod crc32c;
mod error;
mod layout;
mod metadata;
mod model;
mod tensor;
#[cfg(feature = "std")]
mod write;

pub use arch::{Architecture, Layer, Network, TargetLayer, THETA_LAYOUT_FOLDED, THETA_LAYOUT_ROWS};
pub use codes::{f32_padded_lda, i8_blocked_len, Activation, DType, Family, Role};
pub use crc32c::{
    crc32c, crc32c_append, crc32c_append_portable, crc32c_combine, crc32c_is_hardware,
    crc32c_portable,
};
pub use error::{Cap, FormatError, Net, Section, Shape, TensorName};
pub use metadata::{Affine, Metadata};
pub use model::{ModelFile, ParseOptions};
pub use tensor::{Tensor, TensorData};
#[cfg(feature = "std")]
pub use write::{
    pad_rows_f32, AffineSpec, AlignedBytes, ArchSpec, MetadataSpec, ModelBuilder, NetworkSpec,
    TensorBuf,
};

/// The first 8 bytes of every file: `HDON`, NUL, CR, LF, SUB (catches text-mode mangling and
/// truncation at a NUL, like PNG's signature).
pub const MAGIC: [u8; 8] = *b"HDON\x00\r\n\x1a";
/// Major version: files with another major version are rejected.
pub const VERSION_MAJOR: u16 = 1;
/// Minor version written by this crate; readers accept any minor of their major.
pub const VERSION_MINOR: u16 = 0;
/// Alignment of every section and tensor, in bytes.
pub const ALIGN: usize = 64;

/// Hard caps of the format (see docs/FORMAT.md "Caps").
pub mod caps {
    pub use crate::layout::{
        MAX_DIMS, MAX_FILE_LEN, MAX_LAYERS, MAX_NAME_LEN, MAX_NETWORKS, MAX_PAIRS, MAX_SECTIONS,
        MAX_SENSOR_DIM, MAX_STRING_LEN, MAX_TARGET_LAYERS, MAX_TENSORS, MAX_WORKSPACE_RECORDS,
    };
}
