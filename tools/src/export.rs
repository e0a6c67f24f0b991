//! `hdon export`: checkpoint + validated spec -> `.hdon` bytes.
//!
//! Order of work: fetch every tensor the spec needs and check its shape (nothing is built until
//! every shape is right); bring weights to `[out, in]`; apply the family's stored-layout
//! transforms (CONTRACTS.md "The six families"):
//! - deeponet/shift: the branch's last layer gains, for each output j, a zero-weight row whose
//!   bias is b0_j, in front of its p coefficient rows, so the branch emits d_out blocks
//!   `[b0_j, c_j0, ..., c_j(p-1)]` (the packed combination layer);
//! - flex: the branch already emits that order; it is stored as is;
//! - hyper: the hypernetwork's last-layer rows are permuted with
//!   [`hdon_kernels::theta_permutation`] so that its output is theta in kernel layout;
//! - chunked_hyper: no permutation (one net serves every chunk); `chunk_embeddings` stored f32;
//! - trunk/decoder layers are packed into `[n_out, n_in + 1]` blocks `[b_o, W[o, :]]`;
//!
//! then converts generate-side weights to the requested dtype (biases stay f32), builds the
//! file, asks the runtime for the workspace lengths of batch 1, 2, 4, ..., 64 on the parsed
//! file, and builds the final bytes with those records.

use crate::checkpoint::Checkpoint;
use crate::npy::Array;
use crate::preset::{layer_tensor_name, plain_tensor_name, slot_name, SlotKind};
use crate::quantize::{self, QuantError, WeightDtype};
use crate::spec::{Layout, ModelPlan, NetPlan};
use anyhow::{anyhow, bail, Result};
use hdon_format::{
    AffineSpec, ArchSpec, Family, Layer, MetadataSpec, ModelBuilder, ModelFile, NetworkSpec, Role,
    TargetLayer, TensorBuf,
};
use std::collections::BTreeSet;

/// `(batch, workspace f32 count)` records, as stored in the file.
pub type WorkspaceRecords = Vec<(u32, u64)>;

/// Batch sizes whose workspace length every exported file records.
pub const WORKSPACE_BATCHES: [u32; 7] = [1, 2, 4, 8, 16, 32, 64];

/// A dense layer as `[out, in]` row-major f32 plus its bias.
#[derive(Clone, Debug, PartialEq)]
pub struct Dense {
    /// Output width.
    pub n_out: usize,
    /// Input width.
    pub n_in: usize,
    /// `[n_out, n_in]` row-major.
    pub weight: Vec<f32>,
    /// `[n_out]`.
    pub bias: Vec<f32>,
}

/// The result of an export.
#[derive(Debug)]
pub struct Exported {
    /// The complete file.
    pub bytes: Vec<u8>,
    /// Conversion error per generate-side weight (empty for f32).
    pub quant: Vec<QuantError>,
    /// Checkpoint tensors the spec did not use.
    pub unused: Vec<String>,
    /// Recorded `(batch, workspace f32 count)`.
    pub workspace: WorkspaceRecords,
}

fn fmt_shape(s: &[usize]) -> String {
    format!(
        "[{}]",
        s.iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// Fetches the checkpoint tensors of every slot, checking shapes, and records which names were used.
struct Fetch<'c> {
    ckpt: &'c Checkpoint,
    plan: &'c ModelPlan,
    used: BTreeSet<String>,
}

impl<'c> Fetch<'c> {
    fn tensor(&mut self, name: &str, slot: &str) -> Result<&'c Array> {
        let a = self.ckpt.get(name, slot)?;
        self.used.insert(name.to_string());
        if let Some(i) = a.data.iter().position(|x| !x.is_finite()) {
            bail!(
                "{}: tensor '{name}' (slot '{slot}') has a non-finite value at element {i}",
                self.ckpt.path.display()
            );
        }
        Ok(a)
    }

    fn shape_error(
        &self,
        name: &str,
        slot: &str,
        expected: &[usize],
        found: &[usize],
        note: &str,
    ) -> anyhow::Error {
        anyhow!(
            "{}: tensor '{name}' (slot '{slot}'): expected shape {}{note}, found {}",
            self.ckpt.path.display(),
            fmt_shape(expected),
            fmt_shape(found)
        )
    }

    /// Layer `i` of `net` as `[out, in]`, checked against the spec sizes.
    fn dense(&mut self, net: &NetPlan, i: usize) -> Result<Dense> {
        let role = net.role.name();
        let (n_in, n_out) = (net.sizes[i] as usize, net.sizes[i + 1] as usize);
        let layout = self.plan.layout;
        let wslot = slot_name(role, i, SlotKind::Weight);
        let wname = layer_tensor_name(
            self.plan.preset,
            &self.plan.tensors,
            role,
            i,
            SlotKind::Weight,
        );
        let w = self.tensor(&wname, &wslot)?;
        let expected = match layout {
            Layout::OutIn => [n_out, n_in],
            Layout::InOut => [n_in, n_out],
        };
        if w.shape != expected {
            let mut note = match layout {
                Layout::OutIn => " (layout out_in: [out, in])".to_string(),
                Layout::InOut => " (layout in_out: [in, out])".to_string(),
            };
            if n_in != n_out && w.shape == [expected[1], expected[0]] {
                let other = if layout == Layout::OutIn {
                    "in_out"
                } else {
                    "out_in"
                };
                note.push_str(&format!(
                    " -- the tensor is transposed: the checkpoint looks like layout {other}; set layout = \"{other}\" in [model]"
                ));
            }
            return Err(self.shape_error(&wname, &wslot, &expected, &w.shape, &note));
        }
        let weight = match layout {
            Layout::OutIn => w.data.clone(),
            Layout::InOut => transpose(&w.data, n_in, n_out),
        };
        let bslot = slot_name(role, i, SlotKind::Bias);
        let bname = layer_tensor_name(
            self.plan.preset,
            &self.plan.tensors,
            role,
            i,
            SlotKind::Bias,
        );
        let b = self.tensor(&bname, &bslot)?;
        if b.shape != [n_out] {
            return Err(self.shape_error(&bname, &bslot, &[n_out], &b.shape, ""));
        }
        Ok(Dense {
            n_out,
            n_in,
            weight,
            bias: b.data.clone(),
        })
    }

    fn vector(&mut self, slot: &str, len: usize) -> Result<Vec<f32>> {
        let name = plain_tensor_name(&self.plan.tensors, slot);
        let a = self.tensor(&name, slot)?;
        let ok = a.shape == [len] || (len == 1 && (a.shape.is_empty() || a.shape == [1, 1]));
        if !ok {
            return Err(self.shape_error(&name, slot, &[len], &a.shape, ""));
        }
        Ok(a.data.clone())
    }

    fn matrix(&mut self, slot: &str, rows: usize, cols: usize) -> Result<Vec<f32>> {
        let name = plain_tensor_name(&self.plan.tensors, slot);
        let a = self.tensor(&name, slot)?;
        if a.shape != [rows, cols] {
            return Err(self.shape_error(&name, slot, &[rows, cols], &a.shape, ""));
        }
        Ok(a.data.clone())
    }
}

/// `[rows, cols]` row-major -> `[cols, rows]` row-major.
pub fn transpose(a: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut t = vec![0f32; a.len()];
    for r in 0..rows {
        for c in 0..cols {
            t[c * rows + r] = a[r * cols + c];
        }
    }
    t
}

/// Packs a dense layer into the kernel's block `[n_out, n_in + 1]`: row o = `[b_o, W[o, :]]`.
pub fn pack_layer(d: &Dense) -> Vec<f32> {
    let mut out = Vec::with_capacity(d.n_out * (d.n_in + 1));
    for o in 0..d.n_out {
        out.push(d.bias[o]);
        out.extend_from_slice(&d.weight[o * d.n_in..(o + 1) * d.n_in]);
    }
    out
}

/// DeepONet/Shift branch output layer: from checkpoint rows `j*p + k` (+ constant `b0`) to
/// stored rows `j*(p+1)` (zero weights, bias b0_j) and `j*(p+1) + 1 + k`.
pub fn insert_b0_rows(last: &Dense, p: usize, d_out: usize, b0: &[f32]) -> Dense {
    let n_in = last.n_in;
    let mut weight = Vec::with_capacity(d_out * (p + 1) * n_in);
    let mut bias = Vec::with_capacity(d_out * (p + 1));
    for j in 0..d_out {
        weight.extend(std::iter::repeat_n(0.0, n_in));
        bias.push(b0[j]);
        for k in 0..p {
            let r = j * p + k;
            weight.extend_from_slice(&last.weight[r * n_in..(r + 1) * n_in]);
            bias.push(last.bias[r]);
        }
    }
    Dense {
        n_out: d_out * (p + 1),
        n_in,
        weight,
        bias,
    }
}

/// Reorders the rows of a layer: new row k = old row `perm[k]`.
pub fn permute_rows(d: &Dense, perm: &[u32]) -> Dense {
    let n_in = d.n_in;
    let mut weight = Vec::with_capacity(d.weight.len());
    let mut bias = Vec::with_capacity(d.bias.len());
    for &src in perm {
        let s = src as usize;
        weight.extend_from_slice(&d.weight[s * n_in..(s + 1) * n_in]);
        bias.push(d.bias[s]);
    }
    Dense {
        n_out: d.n_out,
        n_in,
        weight,
        bias,
    }
}

/// The network's layers as they will be stored (after the family transforms), `[out, in]`
/// dense form; target-side networks are packed later.
fn stored_layers(plan: &ModelPlan, fetch: &mut Fetch<'_>, net: &NetPlan) -> Result<Vec<Dense>> {
    let mut layers = (0..net.layer_count())
        .map(|i| fetch.dense(net, i))
        .collect::<Result<Vec<_>>>()?;
    let last = layers.last_mut().expect("at least one layer");
    match (plan.family, net.role) {
        (Family::DeepONet | Family::ShiftDeepONet, Role::Branch) => {
            let b0 = if plan.b0 {
                fetch.vector("b0", plan.d_out as usize)?
            } else {
                vec![0.0; plan.d_out as usize]
            };
            *last = insert_b0_rows(last, plan.p as usize, plan.d_out as usize, &b0);
        }
        (Family::HyperDeepONet, Role::Hyper) => {
            let sizes = plan.target_sizes().expect("hyper has a target");
            let mut perm = vec![0u32; hdon_kernels::theta_len(&sizes)];
            hdon_kernels::theta_permutation(&sizes, &mut perm)
                .map_err(|e| anyhow!("theta permutation for target sizes {sizes:?}: {e}"))?;
            *last = permute_rows(last, &perm);
        }
        _ => {}
    }
    Ok(layers)
}

/// Builds the model file from a validated plan and a checkpoint.
pub fn export(plan: &ModelPlan, ckpt: &Checkpoint, dtype: WeightDtype) -> Result<Exported> {
    let mut fetch = Fetch {
        ckpt,
        plan,
        used: BTreeSet::new(),
    };
    // 1. Fetch and check everything before building anything.
    let mut nets = Vec::new();
    for net in &plan.networks {
        nets.push((net, stored_layers(plan, &mut fetch, net)?));
    }
    let chunk_embeddings = match plan.chunks {
        Some(c) => Some(fetch.matrix("chunk_embeddings", c.n_chunks as usize, c.d_z as usize)?),
        None => None,
    };
    let unused: Vec<String> = ckpt
        .tensors
        .keys()
        .filter(|k| !fetch.used.contains(*k))
        .cloned()
        .collect();

    // 2. Tensors and architecture.
    let mut tensors: Vec<(String, Vec<u32>, TensorBuf)> = Vec::new();
    let mut quant = Vec::new();
    let mut networks = Vec::new();
    for (net, layers) in &nets {
        let role = net.role;
        let mut specs = Vec::new();
        for (i, d) in layers.iter().enumerate() {
            let wname = slot_name(role.name(), i, SlotKind::Weight);
            let activation = net.activation_of(i);
            let (n_in, n_out) = (d.n_in as u32, d.n_out as u32);
            if role.is_target_side() {
                tensors.push((wname, vec![n_out, n_in + 1], TensorBuf::F32(pack_layer(d))));
                specs.push(Layer {
                    n_in,
                    n_out,
                    activation,
                    weight: (tensors.len() - 1) as u32,
                    bias: None,
                });
            } else {
                let (buf, back) = quantize::convert(&d.weight, d.n_out, d.n_in, dtype);
                if dtype != WeightDtype::F32 {
                    quant.push(quantize::measure(&wname, &d.weight, &back));
                }
                tensors.push((wname, vec![n_out, n_in], buf));
                let weight = (tensors.len() - 1) as u32;
                tensors.push((
                    slot_name(role.name(), i, SlotKind::Bias),
                    vec![n_out],
                    TensorBuf::F32(d.bias.clone()),
                ));
                specs.push(Layer {
                    n_in,
                    n_out,
                    activation,
                    weight,
                    bias: Some((tensors.len() - 1) as u32),
                });
            }
        }
        networks.push(NetworkSpec {
            role,
            layers: specs,
        });
    }
    let chunk_index = chunk_embeddings.map(|ce| {
        let c = plan.chunks.expect("chunks present");
        tensors.push((
            "chunk_embeddings".into(),
            vec![c.n_chunks, c.d_z],
            TensorBuf::F32(ce),
        ));
        (tensors.len() - 1) as u32
    });
    let target = plan.target.as_ref().map_or(Vec::new(), |t| {
        (0..t.layer_count())
            .map(|i| TargetLayer {
                n_in: t.sizes[i],
                n_out: t.sizes[i + 1],
                activation: t.activation_of(i),
            })
            .collect()
    });
    let n_theta = u32::try_from(plan.n_theta())
        .map_err(|_| anyhow!("target net too large: N_theta = {}", plan.n_theta()))?;
    let arch = ArchSpec {
        family: plan.family,
        n_sensors: plan.n_sensors,
        d_y: plan.d_y,
        d_out: plan.d_out,
        p: plan.p,
        theta_layout: 1,
        n_theta,
        n_chunks: plan.chunks.map_or(0, |c| c.n_chunks),
        chunk_size: plan.chunks.map_or(0, |c| c.chunk_size),
        d_z: plan.chunks.map_or(0, |c| c.d_z),
        chunk_embeddings: chunk_index,
        networks,
        target,
    };
    let mut builder = ModelBuilder::new(arch);
    for (name, shape, buf) in tensors {
        builder.add_tensor(&name, &shape, buf);
    }
    let affine = |a: &Option<crate::spec::AffinePlan>| {
        a.as_ref().map(|a| AffineSpec {
            mean: a.mean.clone(),
            std: a.std.clone(),
        })
    };
    builder.set_metadata(MetadataSpec {
        model_name: plan.name.clone(),
        sensors: plan.sensors.clone(),
        sensor_dim: plan.sensor_dim,
        domain_lower: plan.domain_lower.clone(),
        domain_upper: plan.domain_upper.clone(),
        sensor_norm: affine(&plan.sensor_norm),
        point_norm: affine(&plan.point_norm),
        output_norm: affine(&plan.output_norm),
        framework: plan.framework.clone(),
        dataset: plan.dataset.clone(),
        test_rel_l2: plan.test_rel_l2,
        pairs: plan.extra.clone(),
    });

    // 3. Workspace records from the runtime, then the final bytes.
    let (bytes, workspace) = finish(&mut builder)?;
    Ok(Exported {
        bytes,
        quant,
        unused,
        workspace,
    })
}

/// Builds the file once, asks the runtime for the workspace length of every batch in
/// [`WORKSPACE_BATCHES`] on the parsed draft, records them and builds the final bytes.
fn finish(builder: &mut ModelBuilder) -> Result<(Vec<u8>, WorkspaceRecords)> {
    let draft = builder
        .to_bytes()
        .map_err(|e| anyhow!("building the model file: {e}"))?;
    let draft = hdon_format::AlignedBytes::from_slice(&draft);
    let parsed = ModelFile::parse(&draft)
        .map_err(|e| anyhow!("the built model file does not parse: {e}"))?;
    let workspace: WorkspaceRecords = WORKSPACE_BATCHES
        .iter()
        .map(|&b| {
            (
                b,
                hdon_runtime::workspace_len_for(parsed.arch(), b as usize) as u64,
            )
        })
        .collect();
    builder.set_workspace(&workspace);
    let bytes = builder
        .to_bytes()
        .map_err(|e| anyhow!("building the model file: {e}"))?;
    Ok((bytes, workspace))
}

/// The f32 values a stored tensor stands for, row-major (int8 dequantized per row, blocked
/// int8 unpacked).
pub fn tensor_values(t: &hdon_format::Tensor<'_>) -> Vec<f32> {
    use hdon_format::TensorData;
    match t.data {
        TensorData::F32(v) => v.to_vec(),
        TensorData::F16(v) => v.iter().map(|x| x.to_f32()).collect(),
        TensorData::Bf16(v) => v.iter().map(|x| x.to_f32()).collect(),
        TensorData::I8 { values, scales } => {
            let rows = scales.len().max(1);
            let cols = values.len() / rows;
            values
                .iter()
                .enumerate()
                .map(|(k, &q)| scales.get(k / cols.max(1)).copied().unwrap_or(0.0) * q as f32)
                .collect()
        }
        TensorData::I8Blocked { values, scales } => {
            // The parser guarantees a 2-D shape and the blocked length.
            let (rows, cols) = match t.shape {
                [r, c] => (*r as usize, *c as usize),
                _ => (0, 0),
            };
            let mut out = Vec::with_capacity(rows * cols);
            for r in 0..rows {
                for c in 0..cols {
                    let q = values[hdon_kernels::i8_blocked_index(r, c, cols)];
                    out.push(scales[r] * q as f32);
                }
            }
            out
        }
    }
}

/// Rebuilds a parsed file with its generate-side weight matrices stored as `dtype` (from the
/// values they stand for; re-quantizing an already quantized file compounds the error).
/// Everything else is copied. Used by `hdon bench --dtype`.
pub fn requantize(file: &ModelFile<'_>, dtype: WeightDtype) -> Result<Exported> {
    let arch = file.arch();
    let generate_weights: BTreeSet<u32> = arch
        .networks()
        .filter(|n| !n.role.is_target_side())
        .flat_map(|n| n.layers().map(|l| l.weight).collect::<Vec<_>>())
        .collect();
    let spec = ArchSpec {
        family: arch.family,
        n_sensors: arch.n_sensors,
        d_y: arch.d_y,
        d_out: arch.d_out,
        p: arch.p,
        theta_layout: arch.theta_layout,
        n_theta: arch.n_theta,
        n_chunks: arch.n_chunks,
        chunk_size: arch.chunk_size,
        d_z: arch.d_z,
        chunk_embeddings: arch.chunk_embeddings,
        networks: arch
            .networks()
            .map(|n| NetworkSpec {
                role: n.role,
                layers: n.layers().collect(),
            })
            .collect(),
        target: arch.target_layers().collect(),
    };
    let mut builder = ModelBuilder::new(spec);
    let mut quant = Vec::new();
    for (index, t) in file.tensors().enumerate() {
        let values = tensor_values(&t);
        let buf = if generate_weights.contains(&(index as u32)) {
            let rows = t.shape.first().copied().unwrap_or(1) as usize;
            let cols = values.len() / rows.max(1);
            let (buf, back) = quantize::convert(&values, rows, cols, dtype);
            quant.push(quantize::measure(t.name, &values, &back));
            buf
        } else {
            TensorBuf::F32(values)
        };
        builder.add_tensor(t.name, t.shape, buf);
    }
    builder.set_metadata(MetadataSpec::from(file.metadata()));
    let (bytes, workspace) = finish(&mut builder)?;
    Ok(Exported {
        bytes,
        quant,
        unused: Vec::new(),
        workspace,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_and_transpose_and_b0_rows() {
        let d = Dense {
            n_out: 2,
            n_in: 3,
            weight: vec![1., 2., 3., 4., 5., 6.],
            bias: vec![7., 8.],
        };
        assert_eq!(pack_layer(&d), vec![7., 1., 2., 3., 8., 4., 5., 6.]);
        assert_eq!(transpose(&d.weight, 2, 3), vec![1., 4., 2., 5., 3., 6.]);
        // d_out = 2, p = 1: rows [b0_0 row, c_00, b0_1 row, c_10]
        let s = insert_b0_rows(&d, 1, 2, &[0.5, -0.5]);
        assert_eq!(s.n_out, 4);
        assert_eq!(s.bias, vec![0.5, 7., -0.5, 8.]);
        assert_eq!(
            s.weight,
            vec![0., 0., 0., 1., 2., 3., 0., 0., 0., 4., 5., 6.]
        );
        let p = permute_rows(&d, &[1, 0]);
        assert_eq!(p.weight, vec![4., 5., 6., 1., 2., 3.]);
        assert_eq!(p.bias, vec![8., 7.]);
    }
}
