//! [`FormatError`]: one variant per failure class, each naming where the problem is.
//!
//! Errors are `Copy` and carry no borrow of the input: a tensor is named by [`TensorName`]
//! (its index plus the first bytes of its name, copied), a shape by [`Shape`].

use crate::codes::{DType, Family, Role};
use core::fmt;

/// A section of the file, as named in errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Section {
    /// The header and its section table (not a section of the table itself).
    Header,
    /// Section kind 1.
    Metadata,
    /// Section kind 2.
    Architecture,
    /// Section kind 3.
    TensorTable,
    /// Section kind 4.
    TensorData,
    /// A section kind this version does not know (skipped, but still checked for placement
    /// and checksum).
    Other(u32),
}

impl Section {
    /// The section kind code stored in the section table (`Header` has none and maps to 0).
    pub const fn code(self) -> u32 {
        match self {
            Section::Header => 0,
            Section::Metadata => 1,
            Section::Architecture => 2,
            Section::TensorTable => 3,
            Section::TensorData => 4,
            Section::Other(c) => c,
        }
    }

    /// Decodes a section-table kind code (unknown codes become `Other`).
    pub const fn from_code(code: u32) -> Self {
        match code {
            1 => Section::Metadata,
            2 => Section::Architecture,
            3 => Section::TensorTable,
            4 => Section::TensorData,
            c => Section::Other(c),
        }
    }
}

impl fmt::Display for Section {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Section::Header => f.write_str("header"),
            Section::Metadata => f.write_str("metadata section"),
            Section::Architecture => f.write_str("architecture section"),
            Section::TensorTable => f.write_str("tensor table section"),
            Section::TensorData => f.write_str("tensor data section"),
            Section::Other(c) => write!(f, "section of unknown kind {c}"),
        }
    }
}

/// Which network an architecture error is about: a role's network or the generated target net.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Net {
    /// The network with this role.
    Role(Role),
    /// The target net of hyper / chunked_hyper (the architecture's target-layer table).
    Target,
}

impl fmt::Display for Net {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Net::Role(r) => write!(f, "network {r}"),
            Net::Target => f.write_str("target net"),
        }
    }
}

/// A hard limit of the format (see docs/FORMAT.md "Caps").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cap {
    /// Sections in the section table.
    Sections,
    /// Tensors in the tensor table.
    Tensors,
    /// Dimensions of one tensor.
    TensorDims,
    /// Bytes in a tensor name.
    NameLen,
    /// Networks in the architecture.
    Networks,
    /// Layers in one network.
    LayersPerNetwork,
    /// Layers of the target net.
    TargetLayers,
    /// Workspace records.
    WorkspaceRecords,
    /// Free-form metadata pairs.
    MetadataPairs,
    /// Bytes in a metadata string (name, framework, dataset, pair key or value).
    StringLen,
    /// Bytes in the file.
    FileSize,
    /// Coordinates per sensor location.
    SensorDim,
}

impl Cap {
    /// Human-readable description used in messages.
    pub const fn what(self) -> &'static str {
        match self {
            Cap::Sections => "sections",
            Cap::Tensors => "tensors",
            Cap::TensorDims => "tensor dimensions",
            Cap::NameLen => "bytes in a tensor name",
            Cap::Networks => "networks",
            Cap::LayersPerNetwork => "layers in a network",
            Cap::TargetLayers => "target-net layers",
            Cap::WorkspaceRecords => "workspace records",
            Cap::MetadataPairs => "metadata pairs",
            Cap::StringLen => "bytes in a metadata string",
            Cap::FileSize => "bytes in the file",
            Cap::SensorDim => "coordinates per sensor",
        }
    }
}

const NAME_BYTES: usize = 40;

/// A tensor as named in an error: its index in the tensor table and (up to) the first 40 bytes
/// of its name, copied so the error does not borrow the file.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TensorName {
    index: u32,
    len: u8,
    truncated: bool,
    bytes: [u8; NAME_BYTES],
}

impl TensorName {
    /// Records tensor `index` with name `name` (invalid UTF-8 is shown lossily).
    pub fn new(index: u32, name: &[u8]) -> Self {
        let n = name.len().min(NAME_BYTES);
        let mut bytes = [0u8; NAME_BYTES];
        bytes[..n].copy_from_slice(&name[..n]);
        TensorName {
            index,
            len: n as u8,
            truncated: name.len() > NAME_BYTES,
            bytes,
        }
    }

    /// Index of the tensor in the tensor table.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// The copied name: its longest valid UTF-8 prefix (at most 40 bytes).
    pub fn name(&self) -> &str {
        let b = &self.bytes[..self.len as usize];
        match core::str::from_utf8(b) {
            Ok(s) => s,
            Err(e) => core::str::from_utf8(&b[..e.valid_up_to()]).unwrap_or(""),
        }
    }
}

impl fmt::Display for TensorName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dots = if self.truncated { "..." } else { "" };
        write!(f, "tensor #{} \"{}{}\"", self.index, self.name(), dots)
    }
}

impl fmt::Debug for TensorName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A tensor shape held by value (at most 4 dimensions), for errors.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Shape {
    dims: [u32; 4],
    ndim: u8,
}

impl Shape {
    /// Copies up to the first 4 dimensions of `dims`.
    pub fn new(dims: &[u32]) -> Self {
        let n = dims.len().min(4);
        let mut d = [0u32; 4];
        d[..n].copy_from_slice(&dims[..n]);
        Shape {
            dims: d,
            ndim: n as u8,
        }
    }

    /// The dimensions.
    pub fn dims(&self) -> &[u32] {
        &self.dims[..self.ndim as usize]
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, d) in self.dims().iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{d}")?;
        }
        f.write_str("]")
    }
}

impl fmt::Debug for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Everything that can be wrong with a file (and, for the writer, with its input).
///
/// Offsets and lengths are in bytes; offsets of sections are from the start of the file,
/// offsets of tensors from the start of the tensor data section.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum FormatError {
    /// The parser runs on a big-endian target; the format is little-endian only.
    BigEndianTarget,
    /// The caller's buffer does not start at a multiple of `required` bytes (zero-copy views
    /// need it; the parser never copies).
    BufferMisaligned {
        /// Required alignment of the buffer's start, in bytes.
        required: usize,
        /// The buffer's start address modulo `required`.
        found: usize,
    },
    /// The file is shorter than its header (fixed part, section table and padding).
    TruncatedHeader {
        /// Bytes the header needs.
        needed: u64,
        /// Bytes present.
        found: u64,
    },
    /// The file does not start with [`crate::MAGIC`].
    BadMagic {
        /// The first 8 bytes found.
        found: [u8; 8],
    },
    /// The major version is not [`crate::VERSION_MAJOR`].
    UnsupportedVersion {
        /// Major version in the file.
        major: u16,
        /// Minor version in the file.
        minor: u16,
    },
    /// A flags field has bits this version does not define.
    UnsupportedFlags {
        /// Where the flags field is.
        section: Section,
        /// The flags found.
        found: u32,
    },
    /// The header's alignment field is not [`crate::ALIGN`].
    BadAlignment {
        /// The alignment recorded.
        found: u32,
    },
    /// The header's `header_len` field disagrees with its section count.
    HeaderLength {
        /// `align64(48 + 32 * section_count)`.
        expected: u64,
        /// The recorded value.
        found: u64,
    },
    /// A reserved field is not zero.
    ReservedNonZero {
        /// Section holding the field.
        section: Section,
        /// Offset of the field within the section (within the file for the header).
        offset: u64,
    },
    /// The header's CRC32C does not match.
    HeaderChecksum {
        /// CRC recorded in the header.
        expected: u32,
        /// CRC computed over the bytes.
        found: u32,
    },
    /// A section does not start at a multiple of 64.
    SectionMisaligned {
        /// The section.
        section: Section,
        /// Its offset in the file.
        offset: u64,
    },
    /// A section starts before the previous one (or the header) ends.
    SectionOverlap {
        /// The section.
        section: Section,
        /// Its offset in the file.
        offset: u64,
        /// End of the previous section (or of the header).
        previous_end: u64,
    },
    /// A section starts later than the first multiple of 64 after the previous one.
    SectionHole {
        /// The section.
        section: Section,
        /// Its offset in the file.
        offset: u64,
        /// Where it must start.
        expected: u64,
    },
    /// A section ends past the file length recorded in the header.
    SectionPastEnd {
        /// The section.
        section: Section,
        /// Its end offset.
        end: u64,
        /// The recorded file length.
        file_len: u64,
    },
    /// A known section kind appears twice in the section table.
    DuplicateSection {
        /// The section kind.
        section: Section,
    },
    /// A required section kind is absent.
    MissingSection {
        /// The section kind.
        section: Section,
    },
    /// The buffer is longer than the file: bytes after the end of the last section's padding.
    TrailingBytes {
        /// The file's length (the header's `file_len`, equal to the end of the last section
        /// rounded up to 64).
        expected: u64,
        /// The buffer's length.
        found: u64,
    },
    /// The header's `file_len` field is not the end of the last section rounded up to 64.
    FileLength {
        /// End of the last section, rounded up to 64.
        expected: u64,
        /// The recorded `file_len`.
        found: u64,
    },
    /// The buffer ends inside a section (or its padding): the file was cut.
    TruncatedSection {
        /// The section cut.
        section: Section,
        /// Where it (with padding) should end.
        end: u64,
        /// Bytes present in the buffer.
        found: u64,
    },
    /// A padding byte (after the header or a section, or between tensors) is not zero.
    NonZeroPadding {
        /// The header or section the padding follows (`TensorData` for padding between
        /// tensors).
        section: Section,
        /// Offset of the byte in the file.
        offset: u64,
    },
    /// A section's CRC32C does not match.
    SectionChecksum {
        /// The section.
        section: Section,
        /// CRC recorded in the section table.
        expected: u32,
        /// CRC computed over the section's bytes.
        found: u32,
    },
    /// A section's length disagrees with what its contents need.
    SectionLength {
        /// The section.
        section: Section,
        /// Length its contents need (or, for fixed parts, the minimum).
        expected: u64,
        /// Length recorded.
        found: u64,
    },
    /// A field's (offset, length) range lies outside its section.
    FieldOutOfBounds {
        /// The section.
        section: Section,
        /// The field.
        field: &'static str,
        /// End offset of the range (saturated).
        end: u64,
        /// Section length.
        section_len: u64,
    },
    /// A field's offset is not a multiple of the alignment its type needs.
    FieldMisaligned {
        /// The section.
        section: Section,
        /// The field.
        field: &'static str,
        /// Offset of the field within the section.
        offset: u64,
        /// Required alignment in bytes.
        required: u32,
    },
    /// A metadata string is not UTF-8.
    InvalidUtf8 {
        /// The field.
        field: &'static str,
    },
    /// A tensor name is empty or not UTF-8.
    BadTensorName {
        /// The tensor.
        tensor: TensorName,
    },
    /// A tensor's dtype code is unknown.
    UnknownDType {
        /// The tensor.
        tensor: TensorName,
        /// The code found.
        code: u32,
    },
    /// A layer's activation code is unknown.
    UnknownActivation {
        /// The network.
        net: Net,
        /// Layer index (0-based).
        layer: u32,
        /// The code found.
        code: u32,
    },
    /// The family code is unknown.
    UnknownFamily {
        /// The code found.
        code: u32,
    },
    /// A network's role code is unknown.
    UnknownRole {
        /// The code found.
        code: u32,
    },
    /// A tensor has no dimensions or a zero dimension.
    BadShape {
        /// The tensor.
        tensor: TensorName,
        /// What is wrong.
        reason: &'static str,
    },
    /// The product of a tensor's dimensions times its element size overflows u64 (or usize).
    ShapeOverflow {
        /// The tensor.
        tensor: TensorName,
    },
    /// A tensor's byte length disagrees with its shape and dtype.
    TensorLength {
        /// The tensor.
        tensor: TensorName,
        /// `values` or `scales`.
        part: &'static str,
        /// Bytes the shape needs.
        expected: u64,
        /// Bytes recorded.
        found: u64,
    },
    /// A tensor's data (or scales) offset is not a multiple of 64.
    MisalignedTensor {
        /// The tensor.
        tensor: TensorName,
        /// The offset within the tensor data section.
        offset: u64,
    },
    /// A tensor's data starts before the previous tensor's data ends.
    TensorOverlap {
        /// The tensor.
        tensor: TensorName,
        /// Its offset within the tensor data section.
        offset: u64,
        /// End of the previous region.
        previous_end: u64,
    },
    /// A tensor's data starts later than the first multiple of 64 after the previous region.
    TensorHole {
        /// The tensor.
        tensor: TensorName,
        /// Its offset within the tensor data section.
        offset: u64,
        /// Where it must start.
        expected: u64,
    },
    /// A tensor's data ends past the end of the tensor data section.
    TensorPastEnd {
        /// The tensor.
        tensor: TensorName,
        /// End offset of its data within the section.
        end: u64,
        /// Length of the tensor data section.
        section_len: u64,
    },
    /// A layer (or `chunk_embeddings`) refers to a tensor index that does not exist.
    TensorIndex {
        /// The field holding the reference (`weight`, `bias`, `chunk_embeddings`).
        field: &'static str,
        /// The network (`Target` for `chunk_embeddings`).
        net: Net,
        /// Layer index.
        layer: u32,
        /// The index found.
        index: u32,
        /// Number of tensors.
        count: u32,
    },
    /// A tensor's shape disagrees with the architecture.
    ShapeMismatch {
        /// The tensor.
        tensor: TensorName,
        /// Shape the architecture needs.
        expected: Shape,
        /// Shape stored.
        found: Shape,
    },
    /// A tensor's dtype is not allowed where it is used (packed blocks, biases, chunk
    /// embeddings and scales must be f32).
    DTypeMismatch {
        /// The tensor.
        tensor: TensorName,
        /// The dtype needed.
        expected: DType,
        /// The dtype stored.
        found: DType,
    },
    /// The family needs a network that is absent.
    MissingNetwork {
        /// The role.
        role: Role,
        /// The family.
        family: Family,
    },
    /// The family does not use a network of this role.
    UnexpectedNetwork {
        /// The role.
        role: Role,
        /// The family.
        family: Family,
    },
    /// Two networks have the same role.
    DuplicateNetwork {
        /// The role.
        role: Role,
    },
    /// A width or count disagrees with the architecture (chain of layers, d_y, d_out, p, ...).
    DimMismatch {
        /// The network.
        net: Net,
        /// Layer index.
        layer: u32,
        /// Which quantity (e.g. `n_in`, `n_out`).
        what: &'static str,
        /// Value required.
        expected: u64,
        /// Value found.
        found: u64,
    },
    /// A target-side layer (trunk, decoder) has a separate bias; its bias lives in the packed
    /// block.
    UnexpectedBias {
        /// The role.
        role: Role,
        /// Layer index.
        layer: u32,
    },
    /// `n_theta` disagrees with the target net: it must be `sum n_out * (n_in + 1)`.
    ThetaCount {
        /// The sum over target layers.
        expected: u64,
        /// The recorded `n_theta`.
        found: u64,
    },
    /// `n_chunks * chunk_size < n_theta`: the chunks cannot cover theta.
    ChunksTooSmall {
        /// Number of chunks.
        n_chunks: u32,
        /// Outputs per chunk.
        chunk_size: u32,
        /// Parameters of the target net.
        n_theta: u32,
    },
    /// The theta layout id is not one this version knows (1 or 2).
    ThetaLayout {
        /// The id found.
        found: u32,
    },
    /// An architecture field has a value this family does not allow.
    FamilyField {
        /// The family.
        family: Family,
        /// The field.
        field: &'static str,
        /// What the family requires (e.g. `0`, `>= 1`).
        requirement: &'static str,
        /// The value found.
        found: u64,
    },
    /// A metadata array has the wrong length for the architecture.
    MetadataLength {
        /// The field.
        field: &'static str,
        /// Elements required.
        expected: u64,
        /// Elements found.
        found: u64,
    },
    /// Workspace records are not sorted by strictly increasing batch size >= 1.
    WorkspaceOrder {
        /// Record index.
        index: u32,
        /// Its batch size.
        batch: u32,
        /// The previous record's batch size (0 for the first).
        previous: u32,
    },
    /// A hard cap of the format is exceeded.
    CapExceeded {
        /// The cap.
        cap: Cap,
        /// Its limit.
        limit: u64,
        /// The value found.
        found: u64,
    },
    /// Writer: two tensors have the same name.
    DuplicateTensorName {
        /// The second tensor with the name.
        tensor: TensorName,
    },
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use FormatError::*;
        match *self {
            BigEndianTarget => f.write_str("hdon files are little-endian and this target is big-endian"),
            BufferMisaligned { required, found } => write!(
                f,
                "buffer start is not {required}-byte aligned (address mod {required} = {found}); load the file into an aligned buffer"
            ),
            TruncatedHeader { needed, found } => {
                write!(f, "header truncated: expected at least {needed} bytes, found {found}")
            }
            BadMagic { found } => write!(f, "not an hdon file: expected magic {:02x?}, found {found:02x?}", crate::MAGIC),
            UnsupportedVersion { major, minor } => write!(
                f,
                "unsupported format version {major}.{minor}: expected major version {}",
                crate::VERSION_MAJOR
            ),
            UnsupportedFlags { section, found } => {
                write!(f, "{section}: unsupported flags: expected 0, found {found:#x}")
            }
            BadAlignment { found } => {
                write!(f, "header: alignment field: expected {}, found {found}", crate::ALIGN)
            }
            HeaderLength { expected, found } => {
                write!(f, "header: header_len: expected {expected}, found {found}")
            }
            ReservedNonZero { section, offset } => {
                write!(f, "{section}: reserved field at offset {offset}: expected 0")
            }
            HeaderChecksum { expected, found } => write!(
                f,
                "header: CRC32C mismatch: expected {expected:#010x}, found {found:#010x}"
            ),
            SectionMisaligned { section, offset } => {
                write!(f, "{section}: offset {offset} is not a multiple of 64")
            }
            SectionOverlap { section, offset, previous_end } => write!(
                f,
                "{section}: starts at {offset}, before the previous part ends at {previous_end}"
            ),
            SectionHole { section, offset, expected } => write!(
                f,
                "{section}: hole before the section: expected offset {expected}, found {offset}"
            ),
            SectionPastEnd { section, end, file_len } => write!(
                f,
                "{section}: ends at {end}, past the recorded file length {file_len}"
            ),
            DuplicateSection { section } => write!(f, "{section}: appears twice in the section table"),
            MissingSection { section } => write!(f, "{section}: missing from the section table"),
            TrailingBytes { expected, found } => write!(
                f,
                "trailing bytes: the file is {expected} bytes long (header file_len), the buffer holds {found}"
            ),
            FileLength { expected, found } => write!(
                f,
                "header: file_len: expected {expected} (end of the last section, rounded up to 64), found {found}"
            ),
            TruncatedSection { section, end, found } => write!(
                f,
                "{section}: truncated: expected the file to reach {end} bytes, found {found}"
            ),
            NonZeroPadding { section, offset } => {
                write!(f, "{section}: padding byte at file offset {offset} is not zero")
            }
            SectionChecksum { section, expected, found } => write!(
                f,
                "{section}: CRC32C mismatch: expected {expected:#010x}, found {found:#010x}"
            ),
            SectionLength { section, expected, found } => write!(
                f,
                "{section}: length: expected {expected} bytes, found {found}"
            ),
            FieldOutOfBounds { section, field, end, section_len } => write!(
                f,
                "{section}: field {field} ends at {end}, past the section length {section_len}"
            ),
            FieldMisaligned { section, field, offset, required } => write!(
                f,
                "{section}: field {field} at offset {offset} is not {required}-byte aligned"
            ),
            InvalidUtf8 { field } => write!(f, "metadata section: field {field} is not UTF-8"),
            BadTensorName { tensor } => {
                write!(f, "tensor table section: {tensor}: name is empty or not UTF-8")
            }
            UnknownDType { tensor, code } => {
                write!(f, "tensor table section: {tensor}: unknown dtype code {code}")
            }
            UnknownActivation { net, layer, code } => write!(
                f,
                "architecture section: {net} layer {layer}: unknown activation code {code}"
            ),
            UnknownFamily { code } => write!(f, "architecture section: unknown family code {code}"),
            UnknownRole { code } => write!(f, "architecture section: unknown network role code {code}"),
            BadShape { tensor, reason } => write!(f, "tensor table section: {tensor}: {reason}"),
            ShapeOverflow { tensor } => write!(
                f,
                "tensor table section: {tensor}: shape times element size overflows"
            ),
            TensorLength { tensor, part, expected, found } => write!(
                f,
                "tensor table section: {tensor}: {part} length: expected {expected} bytes, found {found}"
            ),
            MisalignedTensor { tensor, offset } => write!(
                f,
                "tensor data section: {tensor}: offset {offset} is not a multiple of 64"
            ),
            TensorOverlap { tensor, offset, previous_end } => write!(
                f,
                "tensor data section: {tensor}: starts at {offset}, before the previous data ends at {previous_end}"
            ),
            TensorHole { tensor, offset, expected } => write!(
                f,
                "tensor data section: {tensor}: hole: expected offset {expected}, found {offset}"
            ),
            TensorPastEnd { tensor, end, section_len } => write!(
                f,
                "tensor data section: {tensor}: ends at {end}, past the section length {section_len}"
            ),
            TensorIndex { field, net, layer, index, count } => write!(
                f,
                "architecture section: {net} layer {layer}: {field} tensor index {index} out of range (tensor count {count})"
            ),
            ShapeMismatch { tensor, expected, found } => write!(
                f,
                "{tensor}: shape disagrees with the architecture: expected {expected}, found {found}"
            ),
            DTypeMismatch { tensor, expected, found } => {
                write!(f, "{tensor}: dtype: expected {expected}, found {found}")
            }
            MissingNetwork { role, family } => {
                write!(f, "architecture section: family {family} needs network {role}, which is missing")
            }
            UnexpectedNetwork { role, family } => {
                write!(f, "architecture section: family {family} has no network {role}")
            }
            DuplicateNetwork { role } => write!(f, "architecture section: network {role} appears twice"),
            DimMismatch { net, layer, what, expected, found } => write!(
                f,
                "architecture section: {net} layer {layer}: {what}: expected {expected}, found {found}"
            ),
            UnexpectedBias { role, layer } => write!(
                f,
                "architecture section: network {role} layer {layer}: target-side layers keep their bias in the packed block, found a separate bias"
            ),
            ThetaCount { expected, found } => write!(
                f,
                "architecture section: n_theta: expected {expected} (sum of n_out * (n_in + 1) over target layers), found {found}"
            ),
            ChunksTooSmall { n_chunks, chunk_size, n_theta } => write!(
                f,
                "architecture section: n_chunks * chunk_size = {n_chunks} * {chunk_size} < n_theta = {n_theta}"
            ),
            ThetaLayout { found } => {
                write!(f, "architecture section: theta layout: expected 1 or 2, found {found}")
            }
            FamilyField { family, field, requirement, found } => write!(
                f,
                "architecture section: family {family}: {field}: expected {requirement}, found {found}"
            ),
            MetadataLength { field, expected, found } => write!(
                f,
                "metadata section: {field}: expected {expected} values, found {found}"
            ),
            WorkspaceOrder { index, batch, previous } => write!(
                f,
                "architecture section: workspace record {index}: batch {batch} must be greater than {previous}"
            ),
            CapExceeded { cap, limit, found } => {
                write!(f, "too many {}: limit {limit}, found {found}", cap.what())
            }
            DuplicateTensorName { tensor } => write!(f, "{tensor}: duplicate tensor name"),
        }
    }
}

impl core::error::Error for FormatError {}
