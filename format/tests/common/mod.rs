//! Small valid models of every family, shared by the format tests.
#![allow(dead_code)]

use hdon_format::*;

/// xorshift64* generator: deterministic test data without dependencies.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    pub fn f32(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
    }
    pub fn f32s(&mut self, n: usize) -> Vec<f32> {
        (0..n).map(|_| self.f32()).collect()
    }
}

/// Everything a model is made of, kept so tests can compare the parse against it.
#[derive(Clone, Debug)]
pub struct Fixture {
    pub arch: ArchSpec,
    pub tensors: Vec<(String, Vec<u32>, TensorBuf)>,
    pub meta: MetadataSpec,
    pub workspace: Vec<(u32, u64)>,
}

impl Fixture {
    pub fn builder(&self) -> ModelBuilder {
        let mut b = ModelBuilder::new(self.arch.clone());
        for (name, shape, data) in &self.tensors {
            b.add_tensor(name, shape, data.clone());
        }
        b.set_metadata(self.meta.clone());
        b.set_workspace(&self.workspace);
        b
    }

    pub fn bytes(&self) -> AlignedBytes {
        AlignedBytes::from_slice(&self.builder().to_bytes().expect("fixture is valid"))
    }
}

pub const M: u32 = 3;
pub const D_Y: u32 = 2;
pub const D_OUT: u32 = 2;
pub const P: u32 = 3;

struct Acc {
    rng: Rng,
    tensors: Vec<(String, Vec<u32>, TensorBuf)>,
}

impl Acc {
    fn add(&mut self, name: String, shape: Vec<u32>, dtype: DType) -> u32 {
        // Stored elements: blocked int8 includes its padding (the format does not check that
        // the padding is zero); padded f32 gets its zero padding from `pad_rows_f32` below.
        let n = match dtype {
            DType::I8Blocked => {
                hdon_format::i8_blocked_len(shape[0] as u64, shape[1] as u64).unwrap() as usize
            }
            _ => shape.iter().map(|&d| d as usize).product(),
        };
        let v = self.rng.f32s(n);
        let q = |v: &[f32]| v.iter().map(|&x| (x * 127.0) as i8).collect();
        let mut scales = || -> Vec<f32> {
            let s = self.rng.f32s(shape[0] as usize);
            s.iter().map(|s| s.abs() + 0.01).collect()
        };
        let data = match dtype {
            DType::F32 => TensorBuf::F32(v),
            DType::F16 => TensorBuf::F16(v.iter().map(|&x| half::f16::from_f32(x)).collect()),
            DType::Bf16 => TensorBuf::Bf16(v.iter().map(|&x| half::bf16::from_f32(x)).collect()),
            DType::I8 => TensorBuf::I8 {
                values: q(&v),
                scales: scales(),
            },
            DType::I8Blocked => TensorBuf::I8Blocked {
                values: q(&v),
                scales: scales(),
            },
            DType::F32Padded => {
                TensorBuf::F32Padded(pad_rows_f32(&v, shape[0] as usize, shape[1] as usize))
            }
        };
        self.tensors.push((name, shape, data));
        (self.tensors.len() - 1) as u32
    }

    /// A generate-side network `sizes[0] -> ... -> sizes[last]`, layer i with dtypes[i % len].
    fn generate(
        &mut self,
        role: Role,
        sizes: &[u32],
        acts: &[Activation],
        dtypes: &[DType],
    ) -> NetworkSpec {
        let mut layers = Vec::new();
        for i in 0..sizes.len() - 1 {
            let (n_in, n_out) = (sizes[i], sizes[i + 1]);
            let w = self.add(
                format!("{role}.{i}.weight"),
                vec![n_out, n_in],
                dtypes[i % dtypes.len()],
            );
            let b = self.add(format!("{role}.{i}.bias"), vec![n_out], DType::F32);
            layers.push(Layer {
                n_in,
                n_out,
                activation: acts[i % acts.len()],
                weight: w,
                bias: Some(b),
            });
        }
        NetworkSpec { role, layers }
    }

    /// A target-side network of packed blocks.
    fn packed(&mut self, role: Role, sizes: &[u32], acts: &[Activation]) -> NetworkSpec {
        let mut layers = Vec::new();
        for i in 0..sizes.len() - 1 {
            let (n_in, n_out) = (sizes[i], sizes[i + 1]);
            let w = self.add(
                format!("{role}.{i}.packed"),
                vec![n_out, n_in + 1],
                DType::F32,
            );
            layers.push(Layer {
                n_in,
                n_out,
                activation: acts[i % acts.len()],
                weight: w,
                bias: None,
            });
        }
        NetworkSpec { role, layers }
    }
}

pub const FAMILIES: [Family; 6] = [
    Family::DeepONet,
    Family::ShiftDeepONet,
    Family::FlexDeepONet,
    Family::Nomad,
    Family::HyperDeepONet,
    Family::ChunkedHyperDeepONet,
];

/// A small valid model of `family` (m = 3, d_y = 2, d_out = 2, p = 3), every dtype used.
pub fn fixture(family: Family) -> Fixture {
    use Activation::*;
    let mut a = Acc {
        rng: Rng(0x9E37_79B9_7F4A_7C15 ^ family.code() as u64),
        tensors: Vec::new(),
    };
    let all = [DType::F32, DType::I8, DType::F16, DType::Bf16];
    let mut arch = ArchSpec {
        family,
        n_sensors: M,
        d_y: D_Y,
        d_out: D_OUT,
        p: P,
        theta_layout: 1,
        n_theta: 0,
        n_chunks: 0,
        chunk_size: 0,
        d_z: 0,
        chunk_embeddings: None,
        networks: Vec::new(),
        target: Vec::new(),
    };
    let bo = D_OUT * (P + 1);
    match family {
        Family::DeepONet | Family::ShiftDeepONet | Family::FlexDeepONet => {
            arch.networks
                .push(a.generate(Role::Branch, &[M, 4, bo], &[Tanh, Identity], &all));
            arch.networks
                .push(a.packed(Role::Trunk, &[D_Y, 5, P], &[Tanh]));
            if family == Family::ShiftDeepONet {
                arch.networks
                    .push(a.generate(Role::Scale, &[M, D_Y], &[Softplus], &[DType::F16]));
                arch.networks.push(a.generate(
                    Role::Shift,
                    &[M, 4, D_Y],
                    &[Relu, Identity],
                    &[DType::Bf16, DType::I8Blocked],
                ));
            }
            if family == Family::FlexDeepONet {
                arch.networks
                    .push(a.generate(Role::Pre, &[M, 5], &[Sigmoid], &[DType::I8]));
            }
        }
        Family::Nomad => {
            arch.networks.push(a.generate(
                Role::Branch,
                &[M, 4, P],
                &[Relu, Identity],
                &[DType::I8Blocked, DType::F16],
            ));
            arch.networks.push(a.packed(
                Role::Decoder,
                &[P + D_Y, 6, D_OUT],
                &[Prelu(0.25), Identity],
            ));
        }
        Family::HyperDeepONet | Family::ChunkedHyperDeepONet => {
            arch.p = 0;
            arch.target = vec![
                TargetLayer {
                    n_in: D_Y,
                    n_out: 3,
                    activation: Sin,
                },
                TargetLayer {
                    n_in: 3,
                    n_out: D_OUT,
                    activation: Identity,
                },
            ];
            arch.n_theta = 3 * (D_Y + 1) + D_OUT * 4;
            if family == Family::HyperDeepONet {
                arch.networks.push(a.generate(
                    Role::Hyper,
                    &[M, 4, arch.n_theta],
                    &[Silu, Identity],
                    &all,
                ));
            } else {
                arch.d_z = 2;
                arch.chunk_size = 6;
                arch.n_chunks = arch.n_theta.div_ceil(6);
                arch.networks.push(a.generate(
                    Role::Hyper,
                    &[M + 2, 4, 6],
                    &[Gelu, Identity],
                    &[DType::F32Padded, DType::I8],
                ));
                arch.chunk_embeddings = Some(a.add(
                    "chunk_embeddings".into(),
                    vec![arch.n_chunks, 2],
                    DType::F32,
                ));
            }
        }
    }
    let rng = &mut a.rng;
    let meta = MetadataSpec {
        model_name: format!("tiny-{family}"),
        sensors: rng.f32s(M as usize),
        sensor_dim: 1,
        domain_lower: vec![0.0; D_Y as usize],
        domain_upper: vec![1.0; D_Y as usize],
        sensor_norm: Some(AffineSpec {
            mean: vec![0.5],
            std: vec![2.0],
        }),
        point_norm: Some(AffineSpec {
            mean: rng.f32s(D_Y as usize),
            std: vec![0.3; D_Y as usize],
        }),
        output_norm: if family == Family::Nomad {
            None
        } else {
            Some(AffineSpec {
                mean: vec![0.1, 0.2],
                std: vec![3.0, 4.0],
            })
        },
        framework: "test".into(),
        dataset: "synthetic ünïcode".into(),
        test_rel_l2: Some(0.0125),
        pairs: vec![
            ("git".into(), "abc123".into()),
            ("empty".into(), String::new()),
        ],
    };
    Fixture {
        arch,
        tensors: a.tensors,
        meta,
        workspace: vec![(1, 100), (2, 180), (4, 340)],
    }
}

/// A file under edit, with the spec's offsets.
pub struct File {
    pub b: Vec<u8>,
}

impl File {
    pub fn new(family: Family) -> Self {
        File {
            b: fixture(family).builder().to_bytes().unwrap(),
        }
    }
    pub fn u32(&self, off: usize) -> u32 {
        u32::from_le_bytes(self.b[off..off + 4].try_into().unwrap())
    }
    pub fn u64(&self, off: usize) -> u64 {
        u64::from_le_bytes(self.b[off..off + 8].try_into().unwrap())
    }
    pub fn set32(&mut self, off: usize, v: u32) {
        self.b[off..off + 4].copy_from_slice(&v.to_le_bytes());
    }
    pub fn set64(&mut self, off: usize, v: u64) {
        self.b[off..off + 8].copy_from_slice(&v.to_le_bytes());
    }
    /// Offset of the section-table entry of section kind `kind`.
    pub fn entry(&self, kind: u32) -> usize {
        (0..self.u32(28) as usize)
            .map(|i| 48 + 32 * i)
            .find(|&e| self.u32(e) == kind)
            .unwrap()
    }
    pub fn section(&self, kind: u32) -> usize {
        self.u64(self.entry(kind) + 8) as usize
    }
    pub fn meta(&self) -> usize {
        self.section(1)
    }
    pub fn arch(&self) -> usize {
        self.section(2)
    }
    pub fn table(&self) -> usize {
        self.section(3)
    }
    pub fn data(&self) -> usize {
        self.section(4)
    }
    /// Tensor record `i`.
    pub fn tensor(&self, i: usize) -> usize {
        self.table() + 16 + 64 * i
    }
    /// The record of the first tensor of dtype `code` (4 i8-blocked, 5 f32-padded, ...).
    pub fn tensor_of_dtype(&self, code: u32) -> usize {
        let count = self.u32(self.table()) as usize;
        (0..count)
            .map(|i| self.tensor(i))
            .find(|&t| self.u32(t + 8) == code)
            .unwrap_or_else(|| panic!("the fixture has no tensor of dtype {code}"))
    }
    /// Network record `i`.
    pub fn network(&self, i: usize) -> usize {
        self.arch() + 64 + 8 * i
    }
    pub fn network_count(&self) -> usize {
        self.u32(self.arch() + 48) as usize
    }
    pub fn total_layers(&self) -> usize {
        (0..self.network_count())
            .map(|i| self.u32(self.network(i) + 4) as usize)
            .sum()
    }
    /// Layer record `k`, counting layers over all networks in file order.
    pub fn layer(&self, k: usize) -> usize {
        self.arch() + 64 + 8 * self.network_count() + 24 * k
    }
    pub fn target(&self, i: usize) -> usize {
        self.layer(self.total_layers()) + 16 * i
    }
    pub fn workspace(&self, i: usize) -> usize {
        let nt = self.u32(self.arch() + 52) as usize;
        self.target(nt) + 16 * i
    }
    /// Recomputes every section CRC and then the header CRC.
    pub fn reseal(&mut self) {
        if self.b.len() < 48 {
            return;
        }
        let n = (self.u32(28) as usize).min(16);
        for i in 0..n {
            let e = 48 + 32 * i;
            if e + 32 > self.b.len() {
                break;
            }
            let (off, len) = (self.u64(e + 8) as usize, self.u64(e + 16) as usize);
            if let Some(body) = off.checked_add(len).and_then(|end| self.b.get(off..end)) {
                let c = crc32c(body);
                self.set32(e + 24, c);
            }
        }
        let header_len = (self.u32(32) as usize).clamp(40, self.b.len());
        let c = crc32c_append(crc32c(&self.b[..36]), &[0; 4]);
        let c = crc32c_append(c, &self.b[40..header_len]);
        self.set32(36, c);
    }
    pub fn parse(&self) -> Result<(), FormatError> {
        let a = AlignedBytes::from_slice(&self.b);
        ModelFile::parse(&a).map(|_| ())
    }
}
