//! Builds a valid `.hdon` file from a [`PaperModel`], applying the transforms the export tool
//! applies (docs/FORMAT.md "The six families"): branch rows for b0, the theta
//! permutation of the hypernet's last layer, packing of trunk/decoder layers.

use hdon_format::{
    Activation, AffineSpec, ArchSpec, Family, Layer, MetadataSpec, ModelBuilder, NetworkSpec, Role,
    TargetLayer, TensorBuf,
};

use crate::random::{quantize_i8, WeightType};
use crate::reference::{Act, Affine, Dense, Mlp, Nets, PaperModel};

/// File activation of a reference activation.
pub fn file_act(a: Act) -> Activation {
    match a {
        Act::Identity => Activation::Identity,
        Act::Relu => Activation::Relu,
        Act::Prelu(s) => Activation::Prelu(s as f32),
        Act::Tanh => Activation::Tanh,
        Act::Sigmoid => Activation::Sigmoid,
        Act::Sin => Activation::Sin,
        Act::Gelu => Activation::Gelu,
        Act::Silu => Activation::Silu,
        Act::Softplus => Activation::Softplus,
    }
}

fn f32s(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&x| x as f32).collect()
}

fn weight_buf(w: &[f32], rows: usize, cols: usize, t: WeightType) -> TensorBuf {
    match t {
        WeightType::F32 => TensorBuf::F32(w.to_vec()),
        WeightType::F16 => TensorBuf::F16(w.iter().map(|&v| half::f16::from_f32(v)).collect()),
        WeightType::Bf16 => TensorBuf::Bf16(w.iter().map(|&v| half::bf16::from_f32(v)).collect()),
        WeightType::I8 => {
            let (values, scales) = quantize_i8(w, rows, cols);
            TensorBuf::I8 { values, scales }
        }
    }
}

/// Packs a dense layer into kernel layout `[n_out, n_in + 1]`, bias first in each row.
pub fn pack(l: &Dense) -> Vec<f32> {
    let mut out = Vec::with_capacity(l.n_out * (l.n_in + 1));
    for o in 0..l.n_out {
        out.push(l.b[o] as f32);
        out.extend(l.w[o * l.n_in..(o + 1) * l.n_in].iter().map(|&v| v as f32));
    }
    out
}

struct Builder {
    b: ModelBuilder,
    networks: Vec<NetworkSpec>,
    weights: WeightType,
}

impl Builder {
    /// A generate-side network; `last` optionally replaces the last layer's (w, b).
    fn gen_net(&mut self, role: Role, net: &Mlp, last: Option<(Vec<f32>, Vec<f32>, usize)>) {
        let name = role.name();
        let k = net.len();
        let mut layers = Vec::new();
        for (i, l) in net.iter().enumerate() {
            let (w, b, n_out) = match (&last, i + 1 == k) {
                (Some((w, b, n)), true) => (w.clone(), b.clone(), *n),
                _ => (f32s(&l.w), f32s(&l.b), l.n_out),
            };
            let wi = self.b.add_tensor(
                &format!("{name}.{i}.weight"),
                &[n_out as u32, l.n_in as u32],
                weight_buf(&w, n_out, l.n_in, self.weights),
            );
            let bi = self.b.add_tensor(
                &format!("{name}.{i}.bias"),
                &[n_out as u32],
                TensorBuf::F32(b),
            );
            layers.push(Layer {
                n_in: l.n_in as u32,
                n_out: n_out as u32,
                activation: file_act(l.act),
                weight: wi,
                bias: Some(bi),
            });
        }
        self.networks.push(NetworkSpec { role, layers });
    }

    /// A target-side network (trunk, decoder): packed f32 blocks, no bias tensor.
    fn packed_net(&mut self, role: Role, net: &Mlp) {
        let name = role.name();
        let mut layers = Vec::new();
        for (i, l) in net.iter().enumerate() {
            let wi = self.b.add_tensor(
                &format!("{name}.{i}.packed"),
                &[l.n_out as u32, l.n_in as u32 + 1],
                TensorBuf::F32(pack(l)),
            );
            layers.push(Layer {
                n_in: l.n_in as u32,
                n_out: l.n_out as u32,
                activation: file_act(l.act),
                weight: wi,
                bias: None,
            });
        }
        self.networks.push(NetworkSpec { role, layers });
    }
}

/// DeepONet/Shift branch last layer with a zero-weight row per output j whose bias is b0_j:
/// output blocks `[b0_j, c_{j,0..p}]`.
fn branch_with_b0(last: &Dense, b0: &[f64], d_out: usize, p: usize) -> (Vec<f32>, Vec<f32>, usize) {
    let h = last.n_in;
    let mut w = Vec::new();
    let mut b = Vec::new();
    for j in 0..d_out {
        w.extend(std::iter::repeat_n(0.0f32, h));
        b.push(b0[j] as f32);
        for k in 0..p {
            let r = j * p + k;
            w.extend(last.w[r * h..(r + 1) * h].iter().map(|&v| v as f32));
            b.push(last.b[r] as f32);
        }
    }
    (w, b, d_out * (p + 1))
}

fn affine(a: &Option<Affine>) -> Option<AffineSpec> {
    a.as_ref().map(|a| AffineSpec {
        mean: f32s(&a.mean),
        std: f32s(&a.std),
    })
}

fn target_sizes(target: &[(usize, usize, Act)]) -> Vec<usize> {
    let mut s = vec![target[0].0];
    s.extend(target.iter().map(|t| t.1));
    s
}

/// The `.hdon` bytes of `pm`, generate-side weights stored as `weights`, with the workspace
/// records the runtime computes for batch 1, 2, 4, ..., 64 (as `hdon export` writes them).
pub fn to_hdon(pm: &PaperModel, weights: WeightType) -> Vec<u8> {
    let builder = builder(pm, weights);
    let first = builder.to_bytes().expect("model builds");
    let aligned = hdon_format::AlignedBytes::from_slice(&first);
    let file = hdon_format::ModelFile::parse(&aligned).expect("model parses");
    let records: Vec<(u32, u64)> = [1u32, 2, 4, 8, 16, 32, 64]
        .iter()
        .map(|&b| {
            (
                b,
                hdon_runtime::workspace_len_for(file.arch(), b as usize) as u64,
            )
        })
        .collect();
    let mut builder = builder;
    builder.set_workspace(&records);
    builder.to_bytes().expect("model builds")
}

/// The builder before workspace records are set (tests use it to write wrong records).
pub fn builder(pm: &PaperModel, weights: WeightType) -> ModelBuilder {
    let (family, p) = match &pm.nets {
        Nets::DeepONet { .. } => (Family::DeepONet, pm.p),
        Nets::Shift { .. } => (Family::ShiftDeepONet, pm.p),
        Nets::Flex { .. } => (Family::FlexDeepONet, pm.p),
        Nets::Nomad { .. } => (Family::Nomad, pm.p),
        Nets::Hyper { .. } => (Family::HyperDeepONet, 0),
        Nets::Chunked { .. } => (Family::ChunkedHyperDeepONet, 0),
    };
    let mut arch = ArchSpec {
        family,
        n_sensors: pm.m as u32,
        d_y: pm.d_y as u32,
        d_out: pm.d_out as u32,
        p: p as u32,
        theta_layout: 1,
        n_theta: 0,
        n_chunks: 0,
        chunk_size: 0,
        d_z: 0,
        chunk_embeddings: None,
        networks: Vec::new(),
        target: Vec::new(),
    };
    let mut bld = Builder {
        b: ModelBuilder::new(arch.clone()),
        networks: Vec::new(),
        weights,
    };
    let target_layers = |t: &[(usize, usize, Act)]| -> Vec<TargetLayer> {
        t.iter()
            .map(|&(i, o, a)| TargetLayer {
                n_in: i as u32,
                n_out: o as u32,
                activation: file_act(a),
            })
            .collect()
    };
    match &pm.nets {
        Nets::DeepONet { branch, trunk, b0 } => {
            let last = branch_with_b0(branch.last().unwrap(), b0, pm.d_out, pm.p);
            bld.gen_net(Role::Branch, branch, Some(last));
            bld.packed_net(Role::Trunk, trunk);
        }
        Nets::Shift {
            branch,
            trunk,
            b0,
            scale,
            shift,
        } => {
            let last = branch_with_b0(branch.last().unwrap(), b0, pm.d_out, pm.p);
            bld.gen_net(Role::Branch, branch, Some(last));
            bld.packed_net(Role::Trunk, trunk);
            bld.gen_net(Role::Scale, scale, None);
            bld.gen_net(Role::Shift, shift, None);
        }
        Nets::Flex { branch, trunk, pre } => {
            bld.gen_net(Role::Branch, branch, None);
            bld.packed_net(Role::Trunk, trunk);
            bld.gen_net(Role::Pre, pre, None);
        }
        Nets::Nomad { branch, decoder } => {
            bld.gen_net(Role::Branch, branch, None);
            bld.packed_net(Role::Decoder, decoder);
        }
        Nets::Hyper { hyper, target } => {
            let sizes = target_sizes(target);
            let nt = hdon_kernels::theta_len(&sizes);
            let mut perm = vec![0u32; nt];
            hdon_kernels::theta_permutation(&sizes, &mut perm).unwrap();
            let last = hyper.last().unwrap();
            let h = last.n_in;
            let mut w = Vec::with_capacity(nt * h);
            let mut b = Vec::with_capacity(nt);
            for &src in &perm {
                let r = src as usize;
                w.extend(last.w[r * h..(r + 1) * h].iter().map(|&v| v as f32));
                b.push(last.b[r] as f32);
            }
            bld.gen_net(Role::Hyper, hyper, Some((w, b, nt)));
            arch.n_theta = nt as u32;
            arch.target = target_layers(target);
        }
        Nets::Chunked { hyper, target, z } => {
            bld.gen_net(Role::Hyper, hyper, None);
            let nt = crate::reference::n_theta(target);
            let d_z = z[0].len();
            let flat: Vec<f32> = z.iter().flat_map(|r| r.iter().map(|&v| v as f32)).collect();
            let idx = bld.b.add_tensor(
                "chunk_embeddings",
                &[z.len() as u32, d_z as u32],
                TensorBuf::F32(flat),
            );
            arch.n_theta = nt as u32;
            arch.n_chunks = z.len() as u32;
            arch.chunk_size = hyper.last().unwrap().n_out as u32;
            arch.d_z = d_z as u32;
            arch.chunk_embeddings = Some(idx);
            arch.target = target_layers(target);
        }
    }
    arch.networks = std::mem::take(&mut bld.networks);
    let mut b = bld.b;
    b.set_arch(arch);
    b.set_metadata(MetadataSpec {
        model_name: "random test model".into(),
        sensors: (0..pm.m).map(|i| i as f32 / pm.m as f32).collect(),
        sensor_dim: 1,
        domain_lower: vec![0.0; pm.d_y],
        domain_upper: vec![1.0; pm.d_y],
        sensor_norm: affine(&pm.sensor_norm),
        point_norm: affine(&pm.point_norm),
        output_norm: affine(&pm.output_norm),
        framework: "hdon-tests".into(),
        dataset: "random".into(),
        test_rel_l2: None,
        pairs: Vec::new(),
    });
    b
}
