//! One bad file per failure class, each derived from a valid file by editing bytes at the
//! offsets docs/FORMAT.md gives (written out here independently of the crate's constants),
//! then (unless the case is about checksums or framing) re-sealing every CRC so the parser
//! reaches the check under test. Each case asserts its variant and that the message names
//! the place.
mod common;
use common::*;
use hdon_format::*;

struct Case {
    name: &'static str,
    family: Family,
    reseal: bool,
    edit: Box<dyn Fn(&mut File)>,
    check: Box<dyn Fn(&FormatError) -> bool>,
    /// A word the message must contain (the section, field or tensor).
    says: &'static str,
}

macro_rules! case {
    ($name:literal, $fam:ident, $seal:ident, $edit:expr, $pat:pat, $says:literal) => {
        Case {
            name: $name,
            family: Family::$fam,
            reseal: stringify!($seal) == "seal",
            edit: Box::new($edit),
            check: Box::new(|e: &FormatError| matches!(e, $pat)),
            says: $says,
        }
    };
}

fn cases() -> Vec<Case> {
    use FormatError as E;
    vec![
        // Framing.
        case!(
            "truncated header",
            DeepONet,
            raw,
            |f| f.b.truncate(100),
            E::TruncatedHeader {
                needed: 192,
                found: 100
            },
            "header"
        ),
        case!(
            "header shorter than its fixed part",
            DeepONet,
            raw,
            |f| f.b.truncate(20),
            E::TruncatedHeader {
                needed: 48,
                found: 20
            },
            "header"
        ),
        case!(
            "wrong magic",
            DeepONet,
            raw,
            |f| f.b[0] = b'X',
            E::BadMagic { .. },
            "magic"
        ),
        case!(
            "future major version",
            DeepONet,
            raw,
            |f| f.b[8] = 2,
            E::UnsupportedVersion { major: 2, minor: 0 },
            "2.0"
        ),
        case!(
            "header_len disagrees",
            DeepONet,
            raw,
            |f| f.set32(32, 256),
            E::HeaderLength {
                expected: 192,
                found: 256
            },
            "header_len"
        ),
        case!(
            "bad header CRC",
            DeepONet,
            raw,
            |f| f.b[36] ^= 1,
            E::HeaderChecksum { .. },
            "header"
        ),
        case!(
            "header flags",
            DeepONet,
            seal,
            |f| f.set32(12, 1),
            E::UnsupportedFlags {
                section: Section::Header,
                found: 1
            },
            "flags"
        ),
        case!(
            "alignment field",
            DeepONet,
            seal,
            |f| f.set32(24, 32),
            E::BadAlignment { found: 32 },
            "alignment"
        ),
        case!(
            "header reserved",
            DeepONet,
            seal,
            |f| f.b[44] = 1,
            E::ReservedNonZero {
                section: Section::Header,
                offset: 44
            },
            "reserved"
        ),
        case!(
            "header padding",
            DeepONet,
            seal,
            |f| f.b[180] = 1,
            E::NonZeroPadding { offset: 180, .. },
            "padding"
        ),
        // Sections.
        case!(
            "section misaligned",
            DeepONet,
            seal,
            |f| {
                let e = f.entry(1) + 8;
                f.set64(e, f.u64(e) + 8)
            },
            E::SectionMisaligned {
                section: Section::Metadata,
                ..
            },
            "metadata"
        ),
        case!(
            "overlapping sections",
            DeepONet,
            seal,
            |f| {
                let a = f.arch() as u64;
                let e = f.entry(1) + 8;
                f.set64(e, a)
            },
            E::SectionOverlap {
                section: Section::Metadata,
                ..
            },
            "metadata"
        ),
        case!(
            "hole between sections",
            DeepONet,
            seal,
            |f| {
                let e = f.entry(1) + 8;
                f.set64(e, f.u64(e) + 64)
            },
            E::SectionHole {
                section: Section::Metadata,
                ..
            },
            "hole"
        ),
        case!(
            "section past end of file",
            DeepONet,
            seal,
            |f| {
                let e = f.entry(4) + 16;
                f.set64(e, f.u64(e) + 10_000)
            },
            E::SectionPastEnd {
                section: Section::TensorData,
                ..
            },
            "tensor data"
        ),
        case!(
            "duplicate section",
            DeepONet,
            seal,
            |f| {
                let e = f.entry(1);
                f.set32(e, 2)
            },
            E::DuplicateSection {
                section: Section::Architecture
            },
            "twice"
        ),
        case!(
            "missing section",
            DeepONet,
            seal,
            |f| {
                let e = f.entry(1);
                f.set32(e, 9)
            },
            E::MissingSection {
                section: Section::Metadata
            },
            "metadata"
        ),
        case!(
            "section flags",
            DeepONet,
            seal,
            |f| {
                let e = f.entry(3) + 4;
                f.set32(e, 2)
            },
            E::UnsupportedFlags {
                section: Section::TensorTable,
                found: 2
            },
            "tensor table"
        ),
        case!(
            "trailing bytes",
            DeepONet,
            raw,
            |f| f.b.extend_from_slice(&[0; 64]),
            E::TrailingBytes { .. },
            "the buffer holds"
        ),
        case!(
            "file length field too long",
            DeepONet,
            seal,
            |f| f.set64(16, f.u64(16) + 64),
            E::FileLength { .. },
            "file_len"
        ),
        case!(
            "truncated section",
            DeepONet,
            raw,
            |f| {
                let d = f.data();
                f.b.truncate(d + 10)
            },
            E::TruncatedSection {
                section: Section::TensorData,
                ..
            },
            "truncated"
        ),
        case!(
            "bad section CRC",
            DeepONet,
            raw,
            |f| {
                let d = f.data();
                f.b[d + 5] ^= 0x10
            },
            E::SectionChecksum {
                section: Section::TensorData,
                ..
            },
            "tensor data"
        ),
        case!(
            "section padding",
            DeepONet,
            seal,
            |f| {
                let e = f.entry(2);
                let end = (f.u64(e + 8) + f.u64(e + 16)) as usize;
                assert!(!end.is_multiple_of(64));
                f.b[end] = 7
            },
            E::NonZeroPadding {
                section: Section::Architecture,
                ..
            },
            "architecture section: padding"
        ),
        // Architecture section.
        case!(
            "architecture length disagrees",
            DeepONet,
            seal,
            |f| {
                let a = f.arch() + 56;
                f.set32(a, 2)
            },
            E::SectionLength {
                section: Section::Architecture,
                ..
            },
            "architecture"
        ),
        case!(
            "architecture reserved",
            DeepONet,
            seal,
            |f| {
                let a = f.arch() + 60;
                f.set32(a, 1)
            },
            E::ReservedNonZero {
                section: Section::Architecture,
                offset: 60
            },
            "reserved"
        ),
        case!(
            "unknown family",
            DeepONet,
            seal,
            |f| {
                let a = f.arch() + 4;
                f.set32(a, 6)
            },
            E::UnknownFamily { code: 6 },
            "family"
        ),
        case!(
            "unknown role",
            DeepONet,
            seal,
            |f| {
                let n = f.network(0);
                f.set32(n, 7)
            },
            E::UnknownRole { code: 7 },
            "role"
        ),
        case!(
            "unknown activation",
            DeepONet,
            seal,
            |f| {
                let l = f.layer(1) + 8;
                f.set32(l, 42)
            },
            E::UnknownActivation {
                net: Net::Role(Role::Branch),
                layer: 1,
                code: 42
            },
            "branch layer 1"
        ),
        case!(
            "unknown target activation",
            HyperDeepONet,
            seal,
            |f| {
                let t = f.target(0) + 8;
                f.set32(t, 9)
            },
            E::UnknownActivation {
                net: Net::Target,
                layer: 0,
                code: 9
            },
            "target net"
        ),
        case!(
            "theta layout",
            DeepONet,
            seal,
            |f| {
                let a = f.arch() + 24;
                f.set32(a, 3)
            },
            E::ThetaLayout { found: 3 },
            "layout"
        ),
        case!(
            "folded theta layout outside hyper",
            DeepONet,
            seal,
            |f| {
                let a = f.arch() + 24;
                f.set32(a, 2)
            },
            E::FamilyField {
                field: "theta_layout",
                found: 2,
                ..
            },
            "hyper only"
        ),
        case!(
            "family field p = 0",
            DeepONet,
            seal,
            |f| {
                let a = f.arch() + 20;
                f.set32(a, 0)
            },
            E::FamilyField { field: "p", .. },
            "p"
        ),
        case!(
            "missing network",
            DeepONet,
            seal,
            |f| {
                let a = f.arch() + 4;
                f.set32(a, Family::FlexDeepONet.code())
            },
            E::MissingNetwork {
                role: Role::Pre,
                ..
            },
            "pre"
        ),
        case!(
            "unexpected network",
            DeepONet,
            seal,
            |f| {
                let n = f.network(1);
                f.set32(n, Role::Hyper.code())
            },
            E::UnexpectedNetwork {
                role: Role::Hyper,
                ..
            },
            "hyper"
        ),
        case!(
            "duplicate network",
            DeepONet,
            seal,
            |f| {
                let n = f.network(1);
                f.set32(n, Role::Branch.code())
            },
            E::DuplicateNetwork { role: Role::Branch },
            "branch"
        ),
        case!(
            "layer chain broken",
            DeepONet,
            seal,
            |f| {
                let l = f.layer(0) + 4;
                f.set32(l, 5)
            },
            E::DimMismatch {
                net: Net::Role(Role::Branch),
                layer: 1,
                expected: 5,
                found: 4,
                ..
            },
            "branch layer 1"
        ),
        case!(
            "branch output vs d_out*(p+1)",
            DeepONet,
            seal,
            |f| {
                let a = f.arch() + 16;
                f.set32(a, 3)
            },
            E::DimMismatch {
                net: Net::Role(Role::Branch),
                layer: 1,
                expected: 12,
                found: 8,
                ..
            },
            "n_out"
        ),
        case!(
            "trunk input vs d_y",
            DeepONet,
            seal,
            |f| {
                let a = f.arch() + 12;
                f.set32(a, 1)
            },
            E::DimMismatch { .. },
            "n_in"
        ),
        case!(
            "target-side bias",
            DeepONet,
            seal,
            |f| {
                let l = f.layer(2) + 20;
                f.set32(l, 1)
            },
            E::UnexpectedBias {
                role: Role::Trunk,
                layer: 0
            },
            "trunk"
        ),
        case!(
            "n_theta disagrees with target net",
            ChunkedHyperDeepONet,
            seal,
            |f| {
                let a = f.arch() + 28;
                f.set32(a, 16)
            },
            E::ThetaCount {
                expected: 17,
                found: 16
            },
            "n_theta"
        ),
        case!(
            "target net output vs d_out",
            HyperDeepONet,
            seal,
            |f| {
                let t = f.target(1) + 4;
                f.set32(t, 3)
            },
            E::DimMismatch {
                net: Net::Target,
                layer: 1,
                ..
            },
            "target net"
        ),
        case!(
            "chunks too small",
            ChunkedHyperDeepONet,
            seal,
            |f| {
                let a = f.arch() + 32;
                f.set32(a, 2)
            },
            E::ChunksTooSmall {
                n_chunks: 2,
                chunk_size: 6,
                n_theta: 17
            },
            "n_chunks"
        ),
        case!(
            "workspace order",
            DeepONet,
            seal,
            |f| {
                let w = f.workspace(1);
                f.set32(w, 1)
            },
            E::WorkspaceOrder {
                index: 1,
                batch: 1,
                previous: 1
            },
            "workspace"
        ),
        case!(
            "tensor index out of range",
            DeepONet,
            seal,
            |f| {
                let l = f.layer(0) + 16;
                f.set32(l, 99)
            },
            E::TensorIndex {
                field: "weight",
                index: 99,
                ..
            },
            "99"
        ),
        // Tensor table and data.
        case!(
            "tensor table reserved",
            DeepONet,
            seal,
            |f| {
                let t = f.table() + 8;
                f.set32(t, 1)
            },
            E::ReservedNonZero {
                section: Section::TensorTable,
                offset: 8
            },
            "tensor table"
        ),
        case!(
            "record length",
            DeepONet,
            seal,
            |f| {
                let t = f.table() + 4;
                f.set32(t, 60)
            },
            E::SectionLength {
                section: Section::TensorTable,
                ..
            },
            "tensor table"
        ),
        case!(
            "tensor table too short for count",
            DeepONet,
            seal,
            |f| {
                let t = f.table();
                f.set32(t, 100)
            },
            E::SectionLength {
                section: Section::TensorTable,
                ..
            },
            "tensor table"
        ),
        case!(
            "tensor name out of bounds",
            DeepONet,
            seal,
            |f| {
                let t = f.tensor(0);
                f.set32(t, 100_000)
            },
            E::FieldOutOfBounds {
                field: "tensor name",
                ..
            },
            "tensor name"
        ),
        case!(
            "empty tensor name",
            DeepONet,
            seal,
            |f| {
                let t = f.tensor(0) + 4;
                f.set32(t, 0)
            },
            E::BadTensorName { .. },
            "tensor #0"
        ),
        case!(
            "tensor name not UTF-8",
            DeepONet,
            seal,
            |f| {
                let t = f.tensor(0);
                let at = f.table() + f.u32(t) as usize;
                f.b[at] = 0xFF
            },
            E::BadTensorName { .. },
            "tensor #0"
        ),
        case!(
            "unknown dtype",
            DeepONet,
            seal,
            |f| {
                let t = f.tensor(0) + 8;
                f.set32(t, 9)
            },
            E::UnknownDType { code: 9, .. },
            "branch.0.weight"
        ),
        case!(
            "i8-blocked values length",
            ShiftDeepONet,
            seal,
            |f| {
                let t = f.tensor_of_dtype(4) + 40;
                f.set64(t, 63)
            },
            E::TensorLength {
                part: "values",
                // shift.1.weight [2, 4]: rows padded to 16, columns to 4.
                expected: 64,
                found: 63,
                ..
            },
            "shift.1.weight"
        ),
        case!(
            "i8-blocked tensor not 2-D",
            ShiftDeepONet,
            seal,
            |f| {
                let t = f.tensor_of_dtype(4);
                f.set32(t + 12, 3);
                f.set32(t + 24, 1)
            },
            E::BadShape {
                reason: "i8-blocked tensors must be 2-D [rows, cols]",
                ..
            },
            "2-D"
        ),
        case!(
            "f32-padded values length without the padding",
            ChunkedHyperDeepONet,
            seal,
            |f| {
                let t = f.tensor_of_dtype(5) + 40;
                f.set64(t, 4 * 4 * 5)
            },
            E::TensorLength {
                part: "values",
                // hyper.0.weight [4, 5]: rows of 16 floats.
                expected: 256,
                found: 80,
                ..
            },
            "hyper.0.weight"
        ),
        case!(
            "f32-padded tensor 1-D",
            ChunkedHyperDeepONet,
            seal,
            |f| {
                let t = f.tensor_of_dtype(5);
                f.set32(t + 12, 1);
                f.set32(t + 20, 0)
            },
            E::BadShape {
                reason: "f32-padded tensors must be 2-D [rows, cols]",
                ..
            },
            "2-D"
        ),
        case!(
            "f32-padded tensor 3-D",
            ChunkedHyperDeepONet,
            seal,
            |f| {
                let t = f.tensor_of_dtype(5);
                f.set32(t + 12, 3);
                f.set32(t + 24, 1)
            },
            E::BadShape {
                reason: "f32-padded tensors must be 2-D [rows, cols]",
                ..
            },
            "hyper.0.weight"
        ),
        case!(
            "no dimensions",
            DeepONet,
            seal,
            |f| {
                let t = f.tensor(0) + 12;
                f.set32(t, 0)
            },
            E::BadShape { .. },
            "branch.0.weight"
        ),
        case!(
            "zero dimension",
            DeepONet,
            seal,
            |f| {
                let t = f.tensor(0) + 16;
                f.set32(t, 0)
            },
            E::BadShape { .. },
            "zero"
        ),
        case!(
            "unused shape entry nonzero",
            DeepONet,
            seal,
            |f| {
                let t = f.tensor(0) + 28;
                f.set32(t, 1)
            },
            E::ReservedNonZero {
                section: Section::TensorTable,
                ..
            },
            "reserved"
        ),
        case!(
            "shape*dtype overflow",
            DeepONet,
            seal,
            |f| {
                let t = f.tensor(0);
                f.set32(t + 12, 4);
                for d in 0..4 {
                    f.set32(t + 16 + 4 * d, u32::MAX)
                }
            },
            E::ShapeOverflow { .. },
            "overflows"
        ),
        case!(
            "shape*dtype overflow in bytes",
            DeepONet,
            seal,
            |f| {
                let t = f.tensor(0);
                f.set32(t + 12, 3);
                f.set32(t + 16, u32::MAX);
                f.set32(t + 20, u32::MAX);
                f.set32(t + 24, 1 << 30)
            },
            E::ShapeOverflow { .. },
            "overflows"
        ),
        case!(
            "values length",
            DeepONet,
            seal,
            |f| {
                let t = f.tensor(0) + 40;
                f.set64(t, 44)
            },
            E::TensorLength {
                part: "values",
                expected: 48,
                found: 44,
                ..
            },
            "values"
        ),
        case!(
            "scales length",
            DeepONet,
            seal,
            |f| {
                let t = f.tensor(2) + 56;
                f.set64(t, 4)
            },
            E::TensorLength {
                part: "scales",
                expected: 32,
                found: 4,
                ..
            },
            "branch.1.weight"
        ),
        case!(
            "scales on a non-int8 tensor",
            DeepONet,
            seal,
            |f| {
                let t = f.tensor(0) + 48;
                f.set64(t, 64)
            },
            E::ReservedNonZero {
                section: Section::TensorTable,
                ..
            },
            "reserved"
        ),
        case!(
            "misaligned tensor",
            DeepONet,
            seal,
            |f| {
                let t = f.tensor(1) + 32;
                f.set64(t, 68)
            },
            E::MisalignedTensor { offset: 68, .. },
            "branch.0.bias"
        ),
        case!(
            "overlapping tensors",
            DeepONet,
            seal,
            |f| {
                let t = f.tensor(1) + 32;
                f.set64(t, 0)
            },
            E::TensorOverlap { .. },
            "branch.0.bias"
        ),
        case!(
            "hole between tensors",
            DeepONet,
            seal,
            |f| {
                let t = f.tensor(1) + 32;
                f.set64(t, 128)
            },
            E::TensorHole {
                offset: 128,
                expected: 64,
                ..
            },
            "hole"
        ),
        case!(
            "tensor past end",
            DeepONet,
            seal,
            |f| {
                let t = f.tensor(5);
                f.set32(t + 16, 30);
                f.set64(t + 40, 30 * 6 * 4)
            },
            E::TensorPastEnd { .. },
            "trunk.1.packed"
        ),
        case!(
            "tensor padding",
            DeepONet,
            seal,
            |f| {
                let d = f.data();
                f.b[d + 50] = 1
            },
            E::NonZeroPadding {
                section: Section::TensorData,
                ..
            },
            "padding"
        ),
        case!(
            "tensor data slack at end",
            DeepONet,
            seal,
            |f| {
                let e = f.entry(4) + 16;
                assert!(f.u64(e) % 64 <= 60);
                f.set64(e, f.u64(e) + 4)
            },
            E::SectionLength {
                section: Section::TensorData,
                ..
            },
            "tensor data"
        ),
        case!(
            "shape disagrees with architecture",
            DeepONet,
            seal,
            |f| {
                let t = f.tensor(0) + 16;
                f.set32(t, 2);
                f.set32(t + 4, 6)
            },
            E::ShapeMismatch { .. },
            "expected [4, 3], found [2, 6]"
        ),
        case!(
            "packed block dtype",
            DeepONet,
            seal,
            |f| {
                let t = f.tensor(4);
                f.set32(t + 8, DType::F16.code());
                f.set64(t + 40, 30);
                let at = f.data() + f.u64(t + 32) as usize;
                f.b[at + 30..at + 60].fill(0);
            },
            E::DTypeMismatch {
                expected: DType::F32,
                found: DType::F16,
                ..
            },
            "trunk.0.packed"
        ),
        // Metadata section.
        case!(
            "metadata flags",
            DeepONet,
            seal,
            |f| {
                let m = f.meta() + 4;
                f.set32(m, 0x100)
            },
            E::UnsupportedFlags {
                section: Section::Metadata,
                ..
            },
            "metadata"
        ),
        case!(
            "metadata field out of bounds",
            DeepONet,
            seal,
            |f| {
                let m = f.meta() + 44;
                f.set32(m, 100_000)
            },
            E::FieldOutOfBounds {
                field: "sensors",
                ..
            },
            "sensors"
        ),
        case!(
            "metadata field misaligned",
            DeepONet,
            seal,
            |f| {
                let m = f.meta() + 40;
                f.set32(m, f.u32(m) + 2)
            },
            E::FieldMisaligned {
                field: "sensors",
                ..
            },
            "sensors"
        ),
        case!(
            "metadata string not UTF-8",
            DeepONet,
            seal,
            |f| {
                let m = f.meta();
                let at = m + f.u32(m + 16) as usize;
                f.b[at] = 0xC3;
                f.b[at + 1] = b'(';
            },
            E::InvalidUtf8 {
                field: "model_name"
            },
            "model_name"
        ),
        case!(
            "sensor count vs architecture",
            DeepONet,
            seal,
            |f| {
                let m = f.meta() + 8;
                f.set32(m, 2)
            },
            E::MetadataLength {
                field: "sensors",
                expected: 6,
                found: 3
            },
            "sensors"
        ),
        case!(
            "output norm length",
            DeepONet,
            seal,
            |f| {
                let m = f.meta() + 100;
                f.set32(m, 1)
            },
            E::MetadataLength {
                field: "output_norm.mean",
                ..
            },
            "output_norm"
        ),
        // Caps.
        case!(
            "cap: sections",
            DeepONet,
            raw,
            |f| f.set32(28, 17),
            E::CapExceeded {
                cap: Cap::Sections,
                limit: 16,
                found: 17
            },
            "sections"
        ),
        case!(
            "cap: file size",
            DeepONet,
            seal,
            |f| f.set64(16, (1 << 32) + 64),
            E::CapExceeded {
                cap: Cap::FileSize,
                ..
            },
            "file"
        ),
        case!(
            "cap: tensors",
            DeepONet,
            seal,
            |f| {
                let t = f.table();
                f.set32(t, 4097)
            },
            E::CapExceeded {
                cap: Cap::Tensors,
                limit: 4096,
                found: 4097
            },
            "tensors"
        ),
        case!(
            "cap: tensor dims",
            DeepONet,
            seal,
            |f| {
                let t = f.tensor(0) + 12;
                f.set32(t, 5)
            },
            E::CapExceeded {
                cap: Cap::TensorDims,
                limit: 4,
                found: 5
            },
            "dimensions"
        ),
        case!(
            "cap: name length",
            DeepONet,
            seal,
            |f| {
                let t = f.tensor(0) + 4;
                f.set32(t, 256)
            },
            E::CapExceeded {
                cap: Cap::NameLen,
                limit: 255,
                found: 256
            },
            "name"
        ),
        case!(
            "cap: networks",
            DeepONet,
            seal,
            |f| {
                let a = f.arch() + 48;
                f.set32(a, 9)
            },
            E::CapExceeded {
                cap: Cap::Networks,
                limit: 8,
                found: 9
            },
            "networks"
        ),
        case!(
            "cap: layers per network",
            DeepONet,
            seal,
            |f| {
                let n = f.network(0) + 4;
                f.set32(n, 17)
            },
            E::CapExceeded {
                cap: Cap::LayersPerNetwork,
                limit: 16,
                found: 17
            },
            "layers"
        ),
        case!(
            "cap: target layers",
            HyperDeepONet,
            seal,
            |f| {
                let a = f.arch() + 52;
                f.set32(a, 17)
            },
            E::CapExceeded {
                cap: Cap::TargetLayers,
                limit: 16,
                found: 17
            },
            "target"
        ),
        case!(
            "cap: workspace records",
            DeepONet,
            seal,
            |f| {
                let a = f.arch() + 56;
                f.set32(a, 65)
            },
            E::CapExceeded {
                cap: Cap::WorkspaceRecords,
                limit: 64,
                found: 65
            },
            "workspace"
        ),
        case!(
            "cap: metadata pairs",
            DeepONet,
            seal,
            |f| {
                let m = f.meta() + 116;
                f.set32(m, 257)
            },
            E::CapExceeded {
                cap: Cap::MetadataPairs,
                limit: 256,
                found: 257
            },
            "pairs"
        ),
        case!(
            "cap: string length",
            DeepONet,
            seal,
            |f| {
                let m = f.meta() + 20;
                f.set32(m, 4097)
            },
            E::CapExceeded {
                cap: Cap::StringLen,
                limit: 4096,
                found: 4097
            },
            "string"
        ),
        case!(
            "cap: sensor dim",
            DeepONet,
            seal,
            |f| {
                let m = f.meta() + 8;
                f.set32(m, 17)
            },
            E::CapExceeded {
                cap: Cap::SensorDim,
                limit: 16,
                found: 17
            },
            "sensor"
        ),
    ]
}

#[test]
fn every_bad_file_gets_its_variant() {
    let mut failures = Vec::new();
    for c in cases() {
        let mut f = File::new(c.family);
        assert!(f.parse().is_ok(), "{}: the base file must be valid", c.name);
        (c.edit)(&mut f);
        if c.reseal {
            f.reseal();
        }
        match f.parse() {
            Ok(()) => failures.push(format!("{}: parsed OK", c.name)),
            Err(e) => {
                let msg = e.to_string();
                if !(c.check)(&e) {
                    failures.push(format!("{}: wrong error {e:?} ({msg})", c.name));
                } else if !msg.contains(c.says) {
                    failures.push(format!(
                        "{}: message {msg:?} does not mention {:?}",
                        c.name, c.says
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failing cases:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn checksums_off_skips_only_checksums() {
    let mut f = File::new(Family::Nomad);
    let d = f.data();
    f.b[d + 3] ^= 0x40; // a tensor value: structure intact
    f.b[36] ^= 1; // header CRC field
    let a = AlignedBytes::from_slice(&f.b);
    assert!(matches!(
        ModelFile::parse(&a),
        Err(FormatError::HeaderChecksum { .. })
    ));
    assert!(ModelFile::parse_with(
        &a,
        ParseOptions {
            verify_checksums: false
        }
    )
    .is_ok());
    // Structure is still checked without checksums.
    let t = f.tensor(0) + 8;
    f.set32(t, 9);
    let a = AlignedBytes::from_slice(&f.b);
    let e = ModelFile::parse_with(
        &a,
        ParseOptions {
            verify_checksums: false,
        },
    )
    .unwrap_err();
    assert!(
        matches!(e, FormatError::UnknownDType { code: 9, .. }),
        "{e}"
    );
}

#[test]
fn writer_caps() {
    let fx = fixture(Family::DeepONet);
    let mut b = fx.builder();
    b.add_tensor(&"x".repeat(256), &[1], TensorBuf::F32(vec![0.0]));
    assert!(matches!(
        b.to_bytes(),
        Err(FormatError::CapExceeded {
            cap: Cap::NameLen,
            ..
        })
    ));
    let mut b = fx.builder();
    for i in 0..4097 {
        b.add_tensor(&format!("extra{i}"), &[1], TensorBuf::F32(vec![0.0]));
    }
    assert!(matches!(
        b.to_bytes(),
        Err(FormatError::CapExceeded {
            cap: Cap::Tensors,
            ..
        })
    ));
    let mut b = fx.builder();
    b.add_tensor("a", &[1, 1, 1, 1, 1], TensorBuf::F32(vec![0.0]));
    assert!(matches!(
        b.to_bytes(),
        Err(FormatError::CapExceeded {
            cap: Cap::TensorDims,
            ..
        })
    ));
    let mut m = fx.meta.clone();
    m.pairs = (0..257).map(|i| (i.to_string(), String::new())).collect();
    let mut b = fx.builder();
    b.set_metadata(m);
    assert!(matches!(
        b.to_bytes(),
        Err(FormatError::CapExceeded {
            cap: Cap::MetadataPairs,
            ..
        })
    ));
}

/// Minor versions are additive: a later minor version and an unknown section kind (placed in
/// the chain, CRC-checked, otherwise skipped) are accepted.
#[test]
fn future_minor_and_unknown_section_are_accepted() {
    let old = File::new(Family::ShiftDeepONet);
    // Rebuild with 5 section entries: header grows from 192 to 256 bytes, every section moves
    // by 64 (their contents use section-relative offsets), and a new kind-77 section of 10
    // bytes goes last.
    let mut f = File { b: vec![0u8; 256] };
    f.b[..48].copy_from_slice(&old.b[..48]);
    f.b[10] = 7; // minor version 7
    f.set32(28, 5);
    f.set32(32, 256);
    for i in 0..4 {
        let (src, dst) = (48 + 32 * i, 48 + 32 * i);
        f.b[dst..dst + 32].copy_from_slice(&old.b[src..src + 32]);
        let off = f.u64(dst + 8);
        f.set64(dst + 8, off + 64);
    }
    f.b.extend_from_slice(&old.b[192..]);
    let unknown_at = f.b.len() as u64;
    f.b.extend_from_slice(b"future!!!!");
    f.b.resize(f.b.len().div_ceil(64) * 64, 0);
    let e = 48 + 32 * 4;
    f.set32(e, 77);
    f.set64(e + 8, unknown_at);
    f.set64(e + 16, 10);
    let len = f.b.len() as u64;
    f.set64(16, len);
    f.reseal();
    let a = AlignedBytes::from_slice(&f.b);
    let file = ModelFile::parse(&a).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(file.version(), (1, 7));
    assert_eq!(file.arch().family, Family::ShiftDeepONet);
    assert_eq!(
        file.tensor_count(),
        fixture(Family::ShiftDeepONet).tensors.len()
    );
    // Its checksum is still verified.
    let mut g = File { b: f.b.clone() };
    g.b[unknown_at as usize] ^= 1;
    let a = AlignedBytes::from_slice(&g.b);
    assert!(matches!(
        ModelFile::parse(&a),
        Err(FormatError::SectionChecksum {
            section: Section::Other(77),
            ..
        })
    ));
}
