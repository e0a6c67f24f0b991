//! `hdon export`: checkpoint + validated spec -> `.hdon` bytes.
//!
//! Order of work: fetch every tensor the spec needs and check its shape (nothing is built until
//! every shape is right); bring weights to `[out, in]`; apply the family's stored-layout
//! transforms (docs/FORMAT.md "The six families"):
//! - deeponet/shift: the branch's last layer gains, for each output j, a zero-weight row whose
//!   bias is b0_j, in front of its p coefficient rows, so the branch emits d_out blocks
//!   `[b0_j, c_j0, ..., c_j(p-1)]` (the packed combination layer);
//! - flex: the branch already emits that order; it is stored as is;
//! - hyper: the hypernetwork's last-layer rows are permuted with
//!   [`hdon_kernels::theta_permutation`] so that its output is theta in kernel layout, and
//!   (theta layout 2, on request) rewritten by [`fold_theta_rows`] so that it is the theta
//!   the evaluator runs: normalizations and folded tanh applied;
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
    Affine, AffineSpec, ArchSpec, Family, Layer, MetadataSpec, ModelBuilder, ModelFile,
    NetworkSpec, Role, TargetLayer, TensorBuf,
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
fn stored_layers(
    plan: &ModelPlan,
    fetch: &mut Fetch<'_>,
    net: &NetPlan,
    layout: ThetaLayout,
) -> Result<Vec<Dense>> {
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
            if layout == ThetaLayout::Folded {
                *last = fold_theta_rows(
                    last,
                    &target_layers(plan),
                    plan_affine(&plan.point_norm),
                    plan_affine(&plan.output_norm),
                    FoldDirection::Fold,
                );
            }
        }
        _ => {}
    }
    Ok(layers)
}

/// The theta layout a HyperDeepONet file is written in (docs/FORMAT.md, "Theta layout 2"); the
/// other families always use layout 1.
///
/// Layout 2 trades accuracy for speed. In layout 1 the runtime shifts each bias by the sum of
/// the weights *as generated*, so the generated weights' rounding errors multiply `tanh` in
/// [-1, 1] and the shift cancels them exactly; in layout 2 the shifted bias is generated by
/// its own row, its error does not cancel, and the weights' errors multiply `1 + tanh` in
/// [0, 2]. Measured (max relative error against float64, folded vs rows): f32 on the
/// shipped hyper models up to 1.8x (differentiation 2.2e-5 vs 1.6e-5, burgers 3.7e-6 vs
/// 2.0e-6); int8 1.3-1.4x there and 4.4x on the hyper fixture (1.7e-2 vs 3.8e-3).
/// Also the values of `hdon export --theta-layout`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ThetaLayout {
    /// Layout 1 (the default): the runtime applies the normalization and folded-tanh
    /// rewrites to every generated theta.
    #[default]
    Rows,
    /// Layout 2: those rewrites applied once at export, to the hypernetwork's last layer, so
    /// a generate is the hypernetwork alone (~6 % faster on workload S, ~10 % on B).
    Folded,
}

/// Which way [`fold_theta_rows`] goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FoldDirection {
    /// Layout 1 -> layout 2.
    Fold,
    /// Layout 2 -> layout 1 (the inverse rewrites in reverse order).
    Unfold,
}

/// The rewrites the runtime applies to a generated theta of layout 1 (`fold_theta` in
/// runtime/src/generate.rs: point normalization into the first target layer, output
/// de-normalization into the last, then [`hdon_kernels::fold_tanh`] on the layers that
/// [`hdon_kernels::fold_tanh_acts`] folds), applied to the rows of the hypernetwork's last
/// layer `last` (kernel order, one row per theta element) so that it generates the folded
/// theta; or, with [`FoldDirection::Unfold`], undone. Each rewrite is linear in theta (plus a
/// constant for the output mean), so it acts on rows `[bias, weights]` as it acts on theta
/// values; the rows are combined in f64 and rounded to f32 once.
pub fn fold_theta_rows(
    last: &Dense,
    target: &[TargetLayer],
    point_norm: Option<Affine<'_>>,
    output_norm: Option<Affine<'_>>,
    direction: FoldDirection,
) -> Dense {
    use hdon_kernels::Activation as KAct;
    let (h, w) = (last.n_in, last.n_in + 1);
    // m[e * w] = bias of theta element e, m[e * w + 1 + k] = its weight k.
    let mut m: Vec<f64> = Vec::with_capacity(last.n_out * w);
    for e in 0..last.n_out {
        m.push(f64::from(last.bias[e]));
        m.extend(
            last.weight[e * h..(e + 1) * h]
                .iter()
                .map(|&v| f64::from(v)),
        );
    }
    // theta[dst] += a * theta[src]
    let axpy = |m: &mut [f64], dst: usize, src: usize, a: f64| {
        for k in 0..w {
            let v = m[src * w + k];
            m[dst * w + k] += a * v;
        }
    };
    let scale =
        |m: &mut [f64], e: usize, s: f64| m[e * w..(e + 1) * w].iter_mut().for_each(|v| *v *= s);
    let at = |v: &[f32], i: usize| f64::from(v.get(i).or(v.first()).copied().unwrap_or(0.0));
    let (mut offsets, mut off) = (Vec::with_capacity(target.len()), 0usize);
    for l in target {
        offsets.push(off);
        off += l.n_out as usize * (l.n_in as usize + 1);
    }
    let unfold = direction == FoldDirection::Unfold;
    let n_layers = target.len();
    let mut acts: Vec<KAct> = target
        .iter()
        .map(|l| match l.activation {
            hdon_format::Activation::Tanh => KAct::Tanh,
            _ => KAct::Identity,
        })
        .collect();
    hdon_kernels::fold_tanh_acts(&mut acts);
    let folded = |l: usize| acts[l] == KAct::TanhFolded;

    // First layer reads y_n = y a + d (a = 1 / std, d = -mean / std): b += sum_i W[o, i] d_i,
    // then W[o, i] *= a_i.
    let points = |m: &mut [f64]| {
        let Some(pn) = point_norm else { return };
        let (n_in, row) = (target[0].n_in as usize, target[0].n_in as usize + 1);
        for o in 0..target[0].n_out as usize {
            let b = offsets[0] + o * row;
            for i in 0..n_in {
                let (mean, std) = (at(pn.mean, i), at(pn.std, i));
                if unfold {
                    scale(m, b + 1 + i, std);
                    axpy(m, b, b + 1 + i, mean / std);
                } else {
                    axpy(m, b, b + 1 + i, -mean / std);
                    scale(m, b + 1 + i, 1.0 / std);
                }
            }
        }
    };
    // Last layer: out = raw * std + mean, so row j is scaled by std_j and its bias gains mean_j
    // (a constant: the bias column only).
    let outputs = |m: &mut [f64]| {
        let Some(on) = output_norm else { return };
        let last = &target[n_layers - 1];
        let row = last.n_in as usize + 1;
        for j in 0..last.n_out as usize {
            let b = offsets[n_layers - 1] + j * row;
            let (mean, std) = (at(on.mean, j), at(on.std, j));
            if unfold {
                m[b * w] -= mean;
            }
            for e in b..b + row {
                scale(m, e, if unfold { 1.0 / std } else { std });
            }
            if !unfold {
                m[b * w] += mean;
            }
        }
    };
    // Folded tanh: a layer after a folded one reads 1 + h (b -= sum_i W[o, i]); a folded layer
    // computes c times its pre-activation. Each layer's rewrite uses only its own rows.
    let tanh = |m: &mut [f64]| {
        let c = f64::from(hdon_kernels::TANH_FOLD_SCALE);
        for l in 0..n_layers {
            let input_folded = l > 0 && folded(l - 1);
            let (n_in, row) = (target[l].n_in as usize, target[l].n_in as usize + 1);
            for o in 0..target[l].n_out as usize {
                let b = offsets[l] + o * row;
                if unfold && folded(l) {
                    (b..b + row).for_each(|e| scale(m, e, 1.0 / c));
                }
                if input_folded {
                    let sign = if unfold { 1.0 } else { -1.0 };
                    (0..n_in).for_each(|i| axpy(m, b, b + 1 + i, sign));
                }
                if !unfold && folded(l) {
                    (b..b + row).for_each(|e| scale(m, e, c));
                }
            }
        }
    };
    if unfold {
        tanh(&mut m);
        outputs(&mut m);
        points(&mut m);
    } else {
        points(&mut m);
        outputs(&mut m);
        tanh(&mut m);
    }
    let mut weight = Vec::with_capacity(last.weight.len());
    let mut bias = Vec::with_capacity(last.n_out);
    for r in m.chunks_exact(w) {
        bias.push(r[0] as f32);
        weight.extend(r[1..].iter().map(|&v| v as f32));
    }
    Dense {
        n_out: last.n_out,
        n_in: h,
        weight,
        bias,
    }
}

/// The target-layer table of a hyper plan, as the file stores it.
fn target_layers(plan: &ModelPlan) -> Vec<TargetLayer> {
    plan.target.as_ref().map_or(Vec::new(), |t| {
        (0..t.layer_count())
            .map(|i| TargetLayer {
                n_in: t.sizes[i],
                n_out: t.sizes[i + 1],
                activation: t.activation_of(i),
            })
            .collect()
    })
}

fn plan_affine(a: &Option<crate::spec::AffinePlan>) -> Option<Affine<'_>> {
    a.as_ref().map(|a| Affine {
        mean: &a.mean,
        std: &a.std,
    })
}

/// Builds the model file from a validated plan and a checkpoint (HyperDeepONet in theta
/// layout 1, [`ThetaLayout::Rows`]).
pub fn export(plan: &ModelPlan, ckpt: &Checkpoint, dtype: WeightDtype) -> Result<Exported> {
    export_with(plan, ckpt, dtype, ThetaLayout::Rows)
}

/// [`export`] with an explicit theta layout (ignored for families other than HyperDeepONet,
/// which have no generated theta to fold).
pub fn export_with(
    plan: &ModelPlan,
    ckpt: &Checkpoint,
    dtype: WeightDtype,
    layout: ThetaLayout,
) -> Result<Exported> {
    let layout = if plan.family == Family::HyperDeepONet {
        layout
    } else {
        ThetaLayout::Rows
    };
    let mut fetch = Fetch {
        ckpt,
        plan,
        used: BTreeSet::new(),
    };
    // 1. Fetch and check everything before building anything.
    let mut nets = Vec::new();
    for net in &plan.networks {
        nets.push((net, stored_layers(plan, &mut fetch, net, layout)?));
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
                if dtype.is_lossy() {
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
    let target = target_layers(plan);
    let n_theta = u32::try_from(plan.n_theta())
        .map_err(|_| anyhow!("target net too large: N_theta = {}", plan.n_theta()))?;
    let arch = ArchSpec {
        family: plan.family,
        n_sensors: plan.n_sensors,
        d_y: plan.d_y,
        d_out: plan.d_out,
        p: plan.p,
        theta_layout: match layout {
            ThetaLayout::Rows => hdon_format::THETA_LAYOUT_ROWS,
            ThetaLayout::Folded => hdon_format::THETA_LAYOUT_FOLDED,
        },
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
/// int8 unpacked, padded f32 without its padding).
pub fn tensor_values(t: &hdon_format::Tensor<'_>) -> Vec<f32> {
    use hdon_format::TensorData;
    match t.data {
        TensorData::F32(v) => v.to_vec(),
        TensorData::F32Padded(v) => {
            // The parser guarantees a 2-D shape and rows * lda values.
            let cols = t.shape.get(1).map_or(0, |&c| c as usize);
            let lda = hdon_format::f32_padded_lda(cols as u64).map_or(cols, |l| l as usize);
            v.chunks_exact(lda.max(1))
                .flat_map(|row| &row[..cols])
                .copied()
                .collect()
        }
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
/// Everything else is copied, except that a theta-layout-2 hypernetwork re-stored in a
/// quantized type is unfolded to layout 1 first (see [`ThetaLayout`]). Used by
/// `hdon bench --dtype`.
pub fn requantize(file: &ModelFile<'_>, dtype: WeightDtype) -> Result<Exported> {
    let arch = file.arch();
    // A folded (layout 2) hypernetwork re-stored in a quantized type goes back to layout 1
    // first: quantized folded rows lose accuracy (see `ThetaLayout`).
    let unfold = arch.theta_layout == hdon_format::THETA_LAYOUT_FOLDED && dtype.is_lossy();
    let mut rows: Option<(u32, u32, Dense)> = None;
    if unfold {
        let last = arch
            .network(Role::Hyper)
            .and_then(|n| n.layers().last())
            .ok_or_else(|| anyhow!("theta layout 2 without a hypernetwork"))?;
        let bias = last.bias.ok_or_else(|| {
            anyhow!("theta layout 2: the hypernetwork's last layer has no bias tensor, so it cannot be re-stored in layout 1 (export the checkpoint with --dtype {} instead)", dtype.name())
        })?;
        let values = |i: u32| {
            file.tensor(i)
                .map(|t| tensor_values(&t))
                .ok_or_else(|| anyhow!("tensor {i} missing"))
        };
        let folded = Dense {
            n_out: last.n_out as usize,
            n_in: last.n_in as usize,
            weight: values(last.weight)?,
            bias: values(bias)?,
        };
        let target: Vec<TargetLayer> = arch.target_layers().collect();
        let meta = file.metadata();
        let plain = fold_theta_rows(
            &folded,
            &target,
            meta.point_norm,
            meta.output_norm,
            FoldDirection::Unfold,
        );
        rows = Some((last.weight, bias, plain));
    }
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
        theta_layout: if unfold {
            hdon_format::THETA_LAYOUT_ROWS
        } else {
            arch.theta_layout
        },
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
        let values = match &rows {
            Some((w, _, d)) if *w == index as u32 => d.weight.clone(),
            Some((_, b, d)) if *b == index as u32 => d.bias.clone(),
            _ => tensor_values(&t),
        };
        let buf = if generate_weights.contains(&(index as u32)) {
            let rows = t.shape.first().copied().unwrap_or(1) as usize;
            let cols = values.len() / rows.max(1);
            let (buf, back) = quantize::convert(&values, rows, cols, dtype);
            if dtype.is_lossy() {
                quant.push(quantize::measure(t.name, &values, &back));
            }
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
