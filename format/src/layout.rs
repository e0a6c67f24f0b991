//! Byte offsets and sizes of every fixed structure (docs/FORMAT.md is the prose version).
//! Shared by the parser and the writer so the two cannot disagree.

/// Header: fixed part length; the section table follows.
pub const HEADER_FIXED: usize = 48;
/// Header field offsets.
pub const H_MAGIC: usize = 0;
pub const H_MAJOR: usize = 8;
pub const H_MINOR: usize = 10;
pub const H_FLAGS: usize = 12;
pub const H_FILE_LEN: usize = 16;
pub const H_ALIGN: usize = 24;
pub const H_SECTION_COUNT: usize = 28;
pub const H_HEADER_LEN: usize = 32;
pub const H_CRC: usize = 36;
pub const H_RESERVED: usize = 40;

/// One section-table entry.
pub const SECTION_ENTRY: usize = 32;
pub const S_KIND: usize = 0;
pub const S_FLAGS: usize = 4;
pub const S_OFFSET: usize = 8;
pub const S_LENGTH: usize = 16;
pub const S_CRC: usize = 24;
pub const S_RESERVED: usize = 28;

/// Section kind codes.
pub const KIND_METADATA: u32 = 1;
pub const KIND_ARCHITECTURE: u32 = 2;
pub const KIND_TENSOR_TABLE: u32 = 3;
pub const KIND_TENSOR_DATA: u32 = 4;

/// Tensor table: fixed part (count, record_len, 2 reserved u32), then records.
pub const TT_FIXED: usize = 16;
pub const TT_COUNT: usize = 0;
pub const TT_RECORD_LEN: usize = 4;
pub const TT_RESERVED: usize = 8;
/// One tensor record in version 1.0.
pub const TENSOR_RECORD: usize = 64;
pub const T_NAME_OFFSET: usize = 0;
pub const T_NAME_LEN: usize = 4;
pub const T_DTYPE: usize = 8;
pub const T_NDIM: usize = 12;
pub const T_SHAPE: usize = 16;
pub const T_DATA_OFFSET: usize = 32;
pub const T_DATA_LEN: usize = 40;
pub const T_SCALES_OFFSET: usize = 48;
pub const T_SCALES_LEN: usize = 56;

/// Architecture: fixed part, then network records, layer records, target-layer records,
/// workspace records.
pub const ARCH_FIXED: usize = 64;
pub const A_FAMILY: usize = 4;
pub const A_N_SENSORS: usize = 8;
pub const A_D_Y: usize = 12;
pub const A_D_OUT: usize = 16;
pub const A_P: usize = 20;
pub const A_THETA_LAYOUT: usize = 24;
pub const A_N_THETA: usize = 28;
pub const A_N_CHUNKS: usize = 32;
pub const A_CHUNK_SIZE: usize = 36;
pub const A_D_Z: usize = 40;
pub const A_CHUNK_EMBEDDINGS: usize = 44;
pub const A_NETWORK_COUNT: usize = 48;
pub const A_TARGET_COUNT: usize = 52;
pub const A_WORKSPACE_COUNT: usize = 56;
pub const A_RESERVED: usize = 60;
pub const NETWORK_RECORD: usize = 8;
pub const LAYER_RECORD: usize = 24;
pub const TARGET_RECORD: usize = 16;
pub const WORKSPACE_RECORD: usize = 16;
/// "No tensor" in a tensor-index field.
pub const NO_TENSOR: u32 = u32::MAX;

/// Metadata: fixed part of ranges (offset u32, count u32) relative to the section start.
pub const META_FIXED: usize = 128;
pub const M_FLAGS: usize = 4;
pub const M_SENSOR_DIM: usize = 8;
pub const M_TEST_REL_L2: usize = 12;
pub const M_MODEL_NAME: usize = 16;
pub const M_FRAMEWORK: usize = 24;
pub const M_DATASET: usize = 32;
pub const M_SENSORS: usize = 40;
pub const M_DOMAIN_LOWER: usize = 48;
pub const M_DOMAIN_UPPER: usize = 56;
pub const M_SENSOR_NORM_MEAN: usize = 64;
pub const M_SENSOR_NORM_STD: usize = 72;
pub const M_POINT_NORM_MEAN: usize = 80;
pub const M_POINT_NORM_STD: usize = 88;
pub const M_OUTPUT_NORM_MEAN: usize = 96;
pub const M_OUTPUT_NORM_STD: usize = 104;
pub const M_PAIRS: usize = 112;
pub const M_RESERVED: usize = 120;
pub const PAIR_RECORD: usize = 16;
/// Metadata flag bits.
pub const MF_TEST_REL_L2: u32 = 1;
pub const MF_SENSOR_NORM: u32 = 2;
pub const MF_POINT_NORM: u32 = 4;
pub const MF_OUTPUT_NORM: u32 = 8;
pub const MF_ALL: u32 = 15;

/// Caps (docs/FORMAT.md "Caps").
/// Sections in the section table.
pub const MAX_SECTIONS: u32 = 16;
/// Tensors in the tensor table.
pub const MAX_TENSORS: u32 = 4096;
/// Dimensions of one tensor.
pub const MAX_DIMS: u32 = 4;
/// Bytes of a tensor name.
pub const MAX_NAME_LEN: u32 = 255;
/// Networks in the architecture.
pub const MAX_NETWORKS: u32 = 8;
/// Layers of one network.
pub const MAX_LAYERS: u32 = 16;
/// Layers of the target net.
pub const MAX_TARGET_LAYERS: u32 = 16;
/// Workspace records.
pub const MAX_WORKSPACE_RECORDS: u32 = 64;
/// Free-form metadata pairs.
pub const MAX_PAIRS: u32 = 256;
/// Bytes of one metadata string.
pub const MAX_STRING_LEN: u32 = 4096;
/// Bytes of a file (4 GiB).
pub const MAX_FILE_LEN: u64 = 1 << 32;
/// Coordinates per sensor location.
pub const MAX_SENSOR_DIM: u32 = 16;

/// Offset of `fixed_len` in the architecture and metadata sections.
pub const FIXED_LEN: usize = 0;

/// Reads and checks the `fixed_len` field (offset [`FIXED_LEN`]) of a section whose fixed part is at
/// least `min` bytes: `min <= fixed_len <= section length`, multiple of 8.
pub fn fixed_len(
    sec: &[u8],
    section: crate::error::Section,
    min: usize,
) -> Result<usize, crate::error::FormatError> {
    use crate::error::FormatError;
    let len = sec.len() as u64;
    if sec.len() < min {
        return Err(FormatError::SectionLength {
            section,
            expected: min as u64,
            found: len,
        });
    }
    let fixed_len = u32_at(sec, FIXED_LEN).unwrap_or(0);
    if (fixed_len as usize) < min || fixed_len as u64 > len {
        return Err(FormatError::FieldOutOfBounds {
            section,
            field: "fixed_len",
            end: fixed_len as u64,
            section_len: len,
        });
    }
    if !fixed_len.is_multiple_of(8) {
        return Err(FormatError::FieldMisaligned {
            section,
            field: "fixed_len",
            offset: fixed_len as u64,
            required: 8,
        });
    }
    Ok(fixed_len as usize)
}

/// `Err(CapExceeded)` when `found > limit`.
pub fn check_cap(
    cap: crate::error::Cap,
    limit: u64,
    found: u64,
) -> Result<(), crate::error::FormatError> {
    if found > limit {
        Err(crate::error::FormatError::CapExceeded { cap, limit, found })
    } else {
        Ok(())
    }
}

/// Rounds `x` up to a multiple of 64; `None` on overflow.
pub const fn align64(x: u64) -> Option<u64> {
    match x.checked_add(63) {
        Some(v) => Some(v & !63),
        None => None,
    }
}

/// Reads a little-endian u32 at `off`; `None` when out of range.
#[inline]
pub fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    let s = b.get(off..off.checked_add(4)?)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// Reads a little-endian u16 at `off`; `None` when out of range.
#[inline]
pub fn u16_at(b: &[u8], off: usize) -> Option<u16> {
    let s = b.get(off..off.checked_add(2)?)?;
    Some(u16::from_le_bytes([s[0], s[1]]))
}

/// Reads a little-endian u64 at `off`; `None` when out of range.
#[inline]
pub fn u64_at(b: &[u8], off: usize) -> Option<u64> {
    let s = b.get(off..off.checked_add(8)?)?;
    let mut w = [0u8; 8];
    w.copy_from_slice(s);
    Some(u64::from_le_bytes(w))
}
