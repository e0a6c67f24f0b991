//! The writer (feature `std`): [`ModelBuilder`] produces deterministic bytes and checks its
//! output with the parser before returning it.

use crate::arch::{Layer, TargetLayer};
use crate::codes::{DType, Family, Role};
use crate::crc32c::{crc32c, crc32c_append};
use crate::error::{Cap, FormatError, TensorName};
use crate::layout::*;
use crate::model::ModelFile;
use std::string::String;
use std::vec::Vec;

/// Owned tensor elements for the writer.
#[derive(Clone, Debug, PartialEq)]
pub enum TensorBuf {
    /// f32 elements, row-major.
    F32(Vec<f32>),
    /// f16 elements, row-major.
    F16(Vec<half::f16>),
    /// bf16 elements, row-major.
    Bf16(Vec<half::bf16>),
    /// int8 elements, row-major, with one f32 scale per row (first dimension).
    I8 {
        /// Quantized values in [-127, 127].
        values: Vec<i8>,
        /// One scale per row.
        scales: Vec<f32>,
    },
    /// int8 in the blocked layout ([`crate::i8_blocked_len`] values, padding zero), with one
    /// f32 scale per row.
    I8Blocked {
        /// Quantized values, blocked.
        values: Vec<i8>,
        /// One scale per row.
        scales: Vec<f32>,
    },
    /// f32 with padded rows: all `rows * lda` values (`lda` = [`crate::f32_padded_lda`]`(cols)`),
    /// padding zero; [`pad_rows_f32`] builds it from row-major values.
    F32Padded(Vec<f32>),
}

impl TensorBuf {
    /// The element type.
    pub fn dtype(&self) -> DType {
        match self {
            TensorBuf::F32(_) => DType::F32,
            TensorBuf::F16(_) => DType::F16,
            TensorBuf::Bf16(_) => DType::Bf16,
            TensorBuf::I8 { .. } => DType::I8,
            TensorBuf::I8Blocked { .. } => DType::I8Blocked,
            TensorBuf::F32Padded(_) => DType::F32Padded,
        }
    }

    fn values_le(&self) -> Vec<u8> {
        match self {
            TensorBuf::F32(v) | TensorBuf::F32Padded(v) => {
                v.iter().flat_map(|x| x.to_le_bytes()).collect()
            }
            TensorBuf::F16(v) => v.iter().flat_map(|x| x.to_bits().to_le_bytes()).collect(),
            TensorBuf::Bf16(v) => v.iter().flat_map(|x| x.to_bits().to_le_bytes()).collect(),
            TensorBuf::I8 { values, .. } | TensorBuf::I8Blocked { values, .. } => {
                values.iter().map(|&x| x as u8).collect()
            }
        }
    }
}

/// The values of a [`TensorBuf::F32Padded`] `[rows, cols]` tensor from its row-major `values`:
/// each row followed by zeros up to [`crate::f32_padded_lda`]`(cols)` values.
///
/// # Panics
/// If `values.len() != rows * cols`.
pub fn pad_rows_f32(values: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    assert_eq!(
        Some(values.len()),
        rows.checked_mul(cols),
        "pad_rows_f32: {} values for [{rows}, {cols}]",
        values.len()
    );
    let lda = crate::f32_padded_lda(cols as u64).expect("a row that fits in memory pads") as usize;
    let mut out = std::vec![0.0; rows * lda];
    if cols > 0 {
        for (row, src) in out.chunks_exact_mut(lda).zip(values.chunks_exact(cols)) {
            row[..cols].copy_from_slice(src);
        }
    }
    out
}

/// Owned network description for the writer.
#[derive(Clone, Debug, PartialEq)]
pub struct NetworkSpec {
    /// Role of the network.
    pub role: Role,
    /// Its layers in order (tensor indices as returned by [`ModelBuilder::add_tensor`]).
    pub layers: Vec<Layer>,
}

/// Owned architecture for the writer (fields as in [`crate::Architecture`]).
#[derive(Clone, Debug, PartialEq)]
pub struct ArchSpec {
    /// Family.
    pub family: Family,
    /// m, sensors.
    pub n_sensors: u32,
    /// Query dimension.
    pub d_y: u32,
    /// Output dimension.
    pub d_out: u32,
    /// Basis size (deeponet, shift, flex, nomad), else 0.
    pub p: u32,
    /// Theta layout id: [`crate::THETA_LAYOUT_ROWS`] or, hyper only,
    /// [`crate::THETA_LAYOUT_FOLDED`].
    pub theta_layout: u32,
    /// Target-net parameter count (hyper families), else 0.
    pub n_theta: u32,
    /// Chunks (chunked_hyper), else 0.
    pub n_chunks: u32,
    /// Outputs per chunk (chunked_hyper), else 0.
    pub chunk_size: u32,
    /// Chunk embedding dimension (chunked_hyper), else 0.
    pub d_z: u32,
    /// Tensor index of `chunk_embeddings` (chunked_hyper).
    pub chunk_embeddings: Option<u32>,
    /// Networks, in the order they are stored.
    pub networks: Vec<NetworkSpec>,
    /// Target-net layers (hyper families), else empty.
    pub target: Vec<TargetLayer>,
}

/// Owned affine normalization for the writer.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AffineSpec {
    /// Means.
    pub mean: Vec<f32>,
    /// Standard deviations.
    pub std: Vec<f32>,
}

/// Owned metadata for the writer (fields as in [`crate::Metadata`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MetadataSpec {
    /// Free-text model name.
    pub model_name: String,
    /// Sensor locations `[m, sensor_dim]` row-major.
    pub sensors: Vec<f32>,
    /// Coordinates per sensor.
    pub sensor_dim: u32,
    /// Query-domain lower corner (d_y).
    pub domain_lower: Vec<f32>,
    /// Query-domain upper corner (d_y).
    pub domain_upper: Vec<f32>,
    /// Sensor normalization (length 1 or m).
    pub sensor_norm: Option<AffineSpec>,
    /// Point normalization (d_y).
    pub point_norm: Option<AffineSpec>,
    /// Output de-normalization (d_out).
    pub output_norm: Option<AffineSpec>,
    /// Training framework.
    pub framework: String,
    /// Training data set.
    pub dataset: String,
    /// Measured test error.
    pub test_rel_l2: Option<f32>,
    /// Free-form string pairs, stored in this order.
    pub pairs: Vec<(String, String)>,
}

impl From<&crate::Affine<'_>> for AffineSpec {
    fn from(a: &crate::Affine<'_>) -> Self {
        Self {
            mean: a.mean.to_vec(),
            std: a.std.to_vec(),
        }
    }
}

/// The owned copy of a parsed file's metadata: what a tool that rewrites a file (re-quantize,
/// re-export) passes back to [`ModelBuilder::set_metadata`] to keep it unchanged.
impl From<&crate::Metadata<'_>> for MetadataSpec {
    fn from(m: &crate::Metadata<'_>) -> Self {
        Self {
            model_name: m.model_name.into(),
            sensors: m.sensors.to_vec(),
            sensor_dim: m.sensor_dim,
            domain_lower: m.domain_lower.to_vec(),
            domain_upper: m.domain_upper.to_vec(),
            sensor_norm: m.sensor_norm.as_ref().map(AffineSpec::from),
            point_norm: m.point_norm.as_ref().map(AffineSpec::from),
            output_norm: m.output_norm.as_ref().map(AffineSpec::from),
            framework: m.framework.into(),
            dataset: m.dataset.into(),
            test_rel_l2: m.test_rel_l2,
            pairs: m.pairs().map(|(k, v)| (k.into(), v.into())).collect(),
        }
    }
}

#[derive(Clone, Debug)]
struct TensorEntry {
    name: String,
    shape: Vec<u32>,
    data: TensorBuf,
}

/// Builds a model file. Deterministic: the same calls give the same bytes.
#[derive(Clone, Debug)]
pub struct ModelBuilder {
    arch: ArchSpec,
    tensors: Vec<TensorEntry>,
    metadata: MetadataSpec,
    workspace: Vec<(u32, u64)>,
}

impl ModelBuilder {
    /// Starts a file with this architecture (tensors, metadata and workspace records follow).
    pub fn new(arch: ArchSpec) -> Self {
        ModelBuilder {
            arch,
            tensors: Vec::new(),
            metadata: MetadataSpec::default(),
            workspace: Vec::new(),
        }
    }

    /// Appends a tensor; returns its index (0, 1, 2, ... in call order). Shape and data are
    /// checked against each other and the architecture by [`ModelBuilder::to_bytes`].
    pub fn add_tensor(&mut self, name: &str, shape: &[u32], data: TensorBuf) -> u32 {
        self.tensors.push(TensorEntry {
            name: name.into(),
            shape: shape.to_vec(),
            data,
        });
        (self.tensors.len() - 1) as u32
    }

    /// Replaces the architecture (e.g. once tensor indices are known).
    pub fn set_arch(&mut self, arch: ArchSpec) {
        self.arch = arch;
    }

    /// The architecture as given.
    pub fn arch(&self) -> &ArchSpec {
        &self.arch
    }

    /// Sets the metadata.
    pub fn set_metadata(&mut self, meta: MetadataSpec) {
        self.metadata = meta;
    }

    /// Sets the workspace records `(batch, f32 count)` (sorted by batch when written).
    pub fn set_workspace(&mut self, records: &[(u32, u64)]) {
        let mut r = records.to_vec();
        r.sort_unstable();
        self.workspace = r;
    }

    /// Serializes the model and validates the result with [`ModelFile::parse`]; any problem
    /// (wrong shapes, missing networks, caps, ...) is returned as the parser's error.
    pub fn to_bytes(&self) -> Result<Vec<u8>, FormatError> {
        self.check_caps()?;
        let sections: [(u32, Vec<u8>); 4] = [
            (KIND_ARCHITECTURE, self.architecture_section()),
            (KIND_METADATA, self.metadata_section()?),
            (KIND_TENSOR_TABLE, self.tensor_table_section()),
            (KIND_TENSOR_DATA, self.tensor_data_section()),
        ];
        let header_len = align64_usize(HEADER_FIXED + sections.len() * SECTION_ENTRY);
        let mut out = std::vec![0u8; header_len];
        let mut entries = Vec::new();
        for (kind, body) in &sections {
            let offset = out.len();
            out.extend_from_slice(body);
            out.resize(align64_usize(out.len()), 0);
            entries.push((*kind, offset as u64, body.len() as u64, crc32c(body)));
        }
        let file_len = out.len() as u64;
        if file_len > MAX_FILE_LEN {
            return Err(FormatError::CapExceeded {
                cap: Cap::FileSize,
                limit: MAX_FILE_LEN,
                found: file_len,
            });
        }
        out[H_MAGIC..H_MAGIC + 8].copy_from_slice(&crate::MAGIC);
        put16(&mut out, H_MAJOR, crate::VERSION_MAJOR);
        put16(&mut out, H_MINOR, crate::VERSION_MINOR);
        put32(&mut out, H_FLAGS, 0);
        put64(&mut out, H_FILE_LEN, file_len);
        put32(&mut out, H_ALIGN, crate::ALIGN as u32);
        put32(&mut out, H_SECTION_COUNT, sections.len() as u32);
        put32(&mut out, H_HEADER_LEN, header_len as u32);
        for (i, &(kind, offset, len, crc)) in entries.iter().enumerate() {
            let e = HEADER_FIXED + i * SECTION_ENTRY;
            put32(&mut out, e + S_KIND, kind);
            put64(&mut out, e + S_OFFSET, offset);
            put64(&mut out, e + S_LENGTH, len);
            put32(&mut out, e + S_CRC, crc);
        }
        let c = crc32c_append(crc32c(&out[..H_CRC]), &[0; 4]);
        let c = crc32c_append(c, &out[H_CRC + 4..header_len]);
        put32(&mut out, H_CRC, c);

        let aligned = AlignedBytes::from_slice(&out);
        ModelFile::parse(&aligned)?;
        Ok(out)
    }

    fn check_caps(&self) -> Result<(), FormatError> {
        let cap = |cap: Cap, limit: u64, found: usize| {
            if found as u64 > limit {
                Err(FormatError::CapExceeded {
                    cap,
                    limit,
                    found: found as u64,
                })
            } else {
                Ok(())
            }
        };
        cap(Cap::Tensors, MAX_TENSORS as u64, self.tensors.len())?;
        for (i, t) in self.tensors.iter().enumerate() {
            cap(Cap::NameLen, MAX_NAME_LEN as u64, t.name.len())?;
            cap(Cap::TensorDims, MAX_DIMS as u64, t.shape.len())?;
            let tensor = TensorName::new(i as u32, t.name.as_bytes());
            if self.tensors[..i].iter().any(|o| o.name == t.name) && self.tensors.len() <= 64 {
                return Err(FormatError::DuplicateTensorName { tensor });
            }
        }
        if self.tensors.len() > 64 {
            let mut names: Vec<(&str, usize)> = self
                .tensors
                .iter()
                .enumerate()
                .map(|(i, t)| (t.name.as_str(), i))
                .collect();
            names.sort_unstable();
            for w in names.windows(2) {
                if w[0].0 == w[1].0 {
                    let i = w[0].1.max(w[1].1);
                    return Err(FormatError::DuplicateTensorName {
                        tensor: TensorName::new(i as u32, w[0].0.as_bytes()),
                    });
                }
            }
        }
        cap(Cap::Networks, MAX_NETWORKS as u64, self.arch.networks.len())?;
        for n in &self.arch.networks {
            cap(Cap::LayersPerNetwork, MAX_LAYERS as u64, n.layers.len())?;
        }
        cap(
            Cap::TargetLayers,
            MAX_TARGET_LAYERS as u64,
            self.arch.target.len(),
        )?;
        cap(
            Cap::WorkspaceRecords,
            MAX_WORKSPACE_RECORDS as u64,
            self.workspace.len(),
        )?;
        let m = &self.metadata;
        cap(Cap::MetadataPairs, MAX_PAIRS as u64, m.pairs.len())?;
        for s in [&m.model_name, &m.framework, &m.dataset]
            .into_iter()
            .chain(m.pairs.iter().flat_map(|(k, v)| [k, v]))
        {
            cap(Cap::StringLen, MAX_STRING_LEN as u64, s.len())?;
        }
        // Float arrays: their counts are stored as u32 and the file is capped at 4 GiB.
        let floats = m.sensors.len() + m.domain_lower.len() + m.domain_upper.len();
        cap(Cap::FileSize, MAX_FILE_LEN / 4, floats)?;
        for t in &self.tensors {
            let bytes = t.data.values_len_bytes();
            cap(Cap::FileSize, MAX_FILE_LEN, bytes)?;
        }
        Ok(())
    }

    fn architecture_section(&self) -> Vec<u8> {
        let a = &self.arch;
        let mut s = std::vec![0u8; ARCH_FIXED];
        put32(&mut s, FIXED_LEN, ARCH_FIXED as u32);
        put32(&mut s, A_FAMILY, a.family.code());
        put32(&mut s, A_N_SENSORS, a.n_sensors);
        put32(&mut s, A_D_Y, a.d_y);
        put32(&mut s, A_D_OUT, a.d_out);
        put32(&mut s, A_P, a.p);
        put32(&mut s, A_THETA_LAYOUT, a.theta_layout);
        put32(&mut s, A_N_THETA, a.n_theta);
        put32(&mut s, A_N_CHUNKS, a.n_chunks);
        put32(&mut s, A_CHUNK_SIZE, a.chunk_size);
        put32(&mut s, A_D_Z, a.d_z);
        put32(
            &mut s,
            A_CHUNK_EMBEDDINGS,
            a.chunk_embeddings.unwrap_or(NO_TENSOR),
        );
        put32(&mut s, A_NETWORK_COUNT, a.networks.len() as u32);
        put32(&mut s, A_TARGET_COUNT, a.target.len() as u32);
        put32(&mut s, A_WORKSPACE_COUNT, self.workspace.len() as u32);
        for n in &a.networks {
            push32(&mut s, n.role.code());
            push32(&mut s, n.layers.len() as u32);
        }
        for n in &a.networks {
            for l in &n.layers {
                push32(&mut s, l.n_in);
                push32(&mut s, l.n_out);
                push32(&mut s, l.activation.code());
                push32(&mut s, l.activation.slope().to_bits());
                push32(&mut s, l.weight);
                push32(&mut s, l.bias.unwrap_or(NO_TENSOR));
            }
        }
        for l in &a.target {
            push32(&mut s, l.n_in);
            push32(&mut s, l.n_out);
            push32(&mut s, l.activation.code());
            push32(&mut s, l.activation.slope().to_bits());
        }
        for &(batch, len) in &self.workspace {
            push32(&mut s, batch);
            push32(&mut s, 0);
            s.extend_from_slice(&len.to_le_bytes());
        }
        s
    }

    fn metadata_section(&self) -> Result<Vec<u8>, FormatError> {
        let m = &self.metadata;
        let mut s = std::vec![0u8; META_FIXED];
        let mut flags = 0u32;
        put32(&mut s, FIXED_LEN, META_FIXED as u32);
        put32(&mut s, M_SENSOR_DIM, m.sensor_dim);
        if let Some(e) = m.test_rel_l2 {
            flags |= MF_TEST_REL_L2;
            put32(&mut s, M_TEST_REL_L2, e.to_bits());
        }
        let floats = |s: &mut Vec<u8>, at: usize, v: &[f32]| {
            if !v.is_empty() {
                let off = s.len() as u32;
                for x in v {
                    s.extend_from_slice(&x.to_le_bytes());
                }
                put32(s, at, off);
                put32(s, at + 4, v.len() as u32);
            }
        };
        floats(&mut s, M_SENSORS, &m.sensors);
        floats(&mut s, M_DOMAIN_LOWER, &m.domain_lower);
        floats(&mut s, M_DOMAIN_UPPER, &m.domain_upper);
        for (flag, at, std_at, a) in [
            (
                MF_SENSOR_NORM,
                M_SENSOR_NORM_MEAN,
                M_SENSOR_NORM_STD,
                &m.sensor_norm,
            ),
            (
                MF_POINT_NORM,
                M_POINT_NORM_MEAN,
                M_POINT_NORM_STD,
                &m.point_norm,
            ),
            (
                MF_OUTPUT_NORM,
                M_OUTPUT_NORM_MEAN,
                M_OUTPUT_NORM_STD,
                &m.output_norm,
            ),
        ] {
            if let Some(a) = a {
                flags |= flag;
                floats(&mut s, at, &a.mean);
                floats(&mut s, std_at, &a.std);
            }
        }
        put32(&mut s, M_FLAGS, flags);
        // Pair records, then all strings.
        let pairs_off = s.len();
        if !m.pairs.is_empty() {
            put32(&mut s, M_PAIRS, pairs_off as u32);
            put32(&mut s, M_PAIRS + 4, m.pairs.len() as u32);
        }
        s.resize(pairs_off + m.pairs.len() * PAIR_RECORD, 0);
        let string = |s: &mut Vec<u8>, at: usize, text: &str| {
            if !text.is_empty() {
                let off = s.len() as u32;
                put32(s, at, off);
                put32(s, at + 4, text.len() as u32);
                s.extend_from_slice(text.as_bytes());
            }
        };
        string(&mut s, M_MODEL_NAME, &m.model_name);
        string(&mut s, M_FRAMEWORK, &m.framework);
        string(&mut s, M_DATASET, &m.dataset);
        for (i, (k, v)) in m.pairs.iter().enumerate() {
            let r = pairs_off + i * PAIR_RECORD;
            string(&mut s, r, k);
            string(&mut s, r + 8, v);
        }
        if s.len() as u64 > MAX_FILE_LEN {
            return Err(FormatError::CapExceeded {
                cap: Cap::FileSize,
                limit: MAX_FILE_LEN,
                found: s.len() as u64,
            });
        }
        Ok(s)
    }

    fn tensor_table_section(&self) -> Vec<u8> {
        let n = self.tensors.len();
        let mut s = std::vec![0u8; TT_FIXED + n * TENSOR_RECORD];
        put32(&mut s, TT_COUNT, n as u32);
        put32(&mut s, TT_RECORD_LEN, TENSOR_RECORD as u32);
        let mut data_end = 0u64;
        for (i, t) in self.tensors.iter().enumerate() {
            let r = TT_FIXED + i * TENSOR_RECORD;
            let name_off = s.len() as u32;
            s.extend_from_slice(t.name.as_bytes());
            put32(&mut s, r + T_NAME_OFFSET, name_off);
            put32(&mut s, r + T_NAME_LEN, t.name.len() as u32);
            put32(&mut s, r + T_DTYPE, t.data.dtype().code());
            put32(&mut s, r + T_NDIM, t.shape.len() as u32);
            for (d, &v) in t.shape.iter().enumerate() {
                put32(&mut s, r + T_SHAPE + 4 * d, v);
            }
            let off = align64_u64(data_end);
            let len = t.data.values_len_bytes() as u64;
            put64(&mut s, r + T_DATA_OFFSET, off);
            put64(&mut s, r + T_DATA_LEN, len);
            data_end = off + len;
            if let TensorBuf::I8 { scales, .. } | TensorBuf::I8Blocked { scales, .. } = &t.data {
                let off = align64_u64(data_end);
                let len = scales.len() as u64 * 4;
                put64(&mut s, r + T_SCALES_OFFSET, off);
                put64(&mut s, r + T_SCALES_LEN, len);
                data_end = off + len;
            }
        }
        s
    }

    fn tensor_data_section(&self) -> Vec<u8> {
        let mut s = Vec::new();
        for t in &self.tensors {
            s.resize(align64_usize(s.len()), 0);
            s.extend_from_slice(&t.data.values_le());
            if let TensorBuf::I8 { scales, .. } | TensorBuf::I8Blocked { scales, .. } = &t.data {
                s.resize(align64_usize(s.len()), 0);
                for x in scales {
                    s.extend_from_slice(&x.to_le_bytes());
                }
            }
        }
        s
    }
}

impl TensorBuf {
    fn values_len_bytes(&self) -> usize {
        match self {
            TensorBuf::F32(v) | TensorBuf::F32Padded(v) => v.len() * 4,
            TensorBuf::F16(v) => v.len() * 2,
            TensorBuf::Bf16(v) => v.len() * 2,
            TensorBuf::I8 { values, .. } | TensorBuf::I8Blocked { values, .. } => values.len(),
        }
    }
}

/// An owned byte buffer whose start is 64-byte aligned, for parsing bytes read from a file
/// (`Vec<u8>` gives no alignment guarantee).
#[derive(Clone, Debug, Default)]
pub struct AlignedBytes {
    blocks: Vec<Block>,
    len: usize,
}

#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(C, align(64))]
struct Block([u8; 64]);

impl AlignedBytes {
    /// Copies `bytes` into a new aligned buffer.
    pub fn from_slice(bytes: &[u8]) -> Self {
        let mut blocks = std::vec![Block([0; 64]); bytes.len().div_ceil(64)];
        let dst: &mut [u8] = bytemuck::cast_slice_mut(&mut blocks);
        dst[..bytes.len()].copy_from_slice(bytes);
        AlignedBytes {
            blocks,
            len: bytes.len(),
        }
    }

    /// Reads a whole file into an aligned buffer.
    pub fn read(path: impl AsRef<std::path::Path>) -> std::io::Result<Self> {
        Ok(Self::from_slice(&std::fs::read(path)?))
    }
}

impl core::ops::Deref for AlignedBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        let all: &[u8] = bytemuck::cast_slice(&self.blocks);
        &all[..self.len]
    }
}

fn align64_usize(x: usize) -> usize {
    x.div_ceil(64) * 64
}

fn align64_u64(x: u64) -> u64 {
    x.div_ceil(64) * 64
}

fn put16(b: &mut [u8], off: usize, v: u16) {
    b[off..off + 2].copy_from_slice(&v.to_le_bytes());
}

fn put32(b: &mut [u8], off: usize, v: u32) {
    b[off..off + 4].copy_from_slice(&v.to_le_bytes());
}

fn put64(b: &mut [u8], off: usize, v: u64) {
    b[off..off + 8].copy_from_slice(&v.to_le_bytes());
}

fn push32(b: &mut Vec<u8>, v: u32) {
    b.extend_from_slice(&v.to_le_bytes());
}
