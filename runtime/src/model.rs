//! [`Model`]: a validated, zero-copy view of a model file plus its workspace plan.

use hdon_format::{Family, ModelFile, ParseOptions, Role, TensorData};
use hdon_kernels::{Activation as KAct, KernelError, MatRef, WeightData, MAX_LAYERS};

use crate::plan::{kernel_activation, Plan, MAX_NET_LAYERS};
use crate::{Error, Options};

/// One dense layer of a generate-side network: `y = act(W x + b)`, W `[n_out, n_in]`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct GenLayer<'a> {
    pub w: MatRef<'a>,
    pub bias: Option<&'a [f32]>,
    pub act: KAct,
}

/// A generate-side network: its layers, resolved to borrowed tensor data.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Net<'a> {
    pub len: usize,
    pub layers: [Option<GenLayer<'a>>; MAX_NET_LAYERS],
}

impl<'a> Net<'a> {
    const EMPTY: Net<'static> = Net {
        len: 0,
        layers: [None; MAX_NET_LAYERS],
    };

    pub fn layer(&self, i: usize) -> Result<&GenLayer<'a>, Error> {
        self.layers
            .get(i)
            .and_then(Option::as_ref)
            .ok_or(Error::Tensor {
                what: "generate-side network",
                layer: i,
                problem: "layer missing",
            })
    }

    /// Output width of the last layer.
    pub fn n_out(&self) -> usize {
        self.len
            .checked_sub(1)
            .and_then(|i| self.layers.get(i))
            .and_then(|l| l.as_ref())
            .map_or(0, |l| l.w.rows)
    }
}

/// `x_n = (x - mean) / std`, mean and std each of length 1 (broadcast) or the full length.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Norm<'a> {
    pub mean: &'a [f32],
    pub std: &'a [f32],
}

impl Norm<'_> {
    /// `(mean_i, std_i)`, broadcasting length-1 vectors. Lengths were checked at load.
    #[inline]
    pub fn at(&self, i: usize) -> (f32, f32) {
        let mean = self
            .mean
            .get(i)
            .or(self.mean.first())
            .copied()
            .unwrap_or(0.0);
        let std = self.std.get(i).or(self.std.first()).copied().unwrap_or(1.0);
        (mean, std)
    }
}

/// Slots of [`Model::nets`].
pub(crate) const NET_MAIN: usize = 0; // branch (deeponet/shift/flex/nomad) or hyper
pub(crate) const NET_AUX_A: usize = 1; // scale (shift) or pre (flex)
pub(crate) const NET_AUX_B: usize = 2; // shift (shift)

/// A loaded model: the parsed file (borrowed, zero-copy), every tensor resolved, and the
/// workspace plan. Construction validates everything once; `generate`/`eval` then only check
/// their own arguments. Holds no heap memory; `Model` is plain data of a few KiB.
#[derive(Debug)]
pub struct Model<'a> {
    pub(crate) file: ModelFile<'a>,
    pub(crate) opts: Options,
    pub(crate) plan: Plan,
    pub(crate) nets: [Net<'a>; 3],
    /// Packed blocks `[n_out, n_in + 1]` of the target-side network stored in the file (trunk
    /// or decoder layer i); empty for hyper families.
    pub(crate) target_file: [&'a [f32]; MAX_LAYERS],
    /// Chunk embeddings `[n_chunks, d_z]` (chunked only, else empty).
    pub(crate) chunk_embeddings: &'a [f32],
    pub(crate) sensor_norm: Option<Norm<'a>>,
    pub(crate) point_norm: Option<Norm<'a>>,
    pub(crate) output_norm: Option<Norm<'a>>,
}

fn tensor_err(what: &'static str, layer: usize, problem: &'static str) -> Error {
    Error::Tensor {
        what,
        layer,
        problem,
    }
}

fn check_norm<'a>(
    what: &'static str,
    aff: Option<hdon_format::Affine<'a>>,
    full: usize,
) -> Result<Option<Norm<'a>>, Error> {
    let Some(aff) = aff else { return Ok(None) };
    for v in [aff.mean, aff.std] {
        if v.len() != 1 && v.len() != full {
            return Err(Error::Normalization {
                what,
                field: "length",
                index: v.len(),
            });
        }
    }
    if let Some(index) = aff.mean.iter().position(|x| !x.is_finite()) {
        return Err(Error::Normalization {
            what,
            field: "mean",
            index,
        });
    }
    if let Some(index) = aff.std.iter().position(|x| !x.is_finite() || *x == 0.0) {
        return Err(Error::Normalization {
            what,
            field: "std",
            index,
        });
    }
    Ok(Some(Norm {
        mean: aff.mean,
        std: aff.std,
    }))
}

impl<'a> Model<'a> {
    /// Parses and validates a model file (structure and checksums) with default [`Options`].
    ///
    /// `bytes` must be at least 4-byte aligned (tensors are borrowed in place); a file embedded
    /// with `include_bytes!` needs an aligned wrapper (see docs/EMBEDDING.md). Allocates
    /// nothing.
    ///
    /// # Errors
    /// [`Error::Format`] for a malformed file, [`Error::WorkspaceMismatch`] if the file's
    /// workspace records disagree with this runtime, [`Error::Unsupported`] /
    /// [`Error::Tensor`] / [`Error::Normalization`] for a file this runtime cannot run.
    pub fn from_bytes(bytes: &'a [u8]) -> Result<Self, Error> {
        Self::from_bytes_with(bytes, Options::default())
    }

    /// As [`Model::from_bytes`], with options (skip checksums, non-finite policy).
    ///
    /// # Errors
    /// As [`Model::from_bytes`].
    pub fn from_bytes_with(bytes: &'a [u8], opts: Options) -> Result<Self, Error> {
        let file = ModelFile::parse_with(
            bytes,
            ParseOptions {
                verify_checksums: opts.verify_checksums,
            },
        )?;
        Self::from_file(file, opts)
    }

    /// Builds a model from an already parsed file.
    ///
    /// # Errors
    /// As [`Model::from_bytes`] (except format errors, already handled by the parse).
    pub fn from_file(file: ModelFile<'a>, opts: Options) -> Result<Self, Error> {
        let arch = file.arch();
        let plan = Plan::new(arch)?;
        for (batch, recorded) in arch.workspace_records() {
            let computed = plan
                .workspace_len(batch as usize)
                .map_or(u64::MAX, |v| v as u64);
            if computed != recorded {
                return Err(Error::WorkspaceMismatch {
                    batch,
                    recorded,
                    computed,
                });
            }
        }
        let meta = file.metadata();
        let sensor_norm = check_norm("sensors", meta.sensor_norm, plan.m)?;
        let point_norm = check_norm("points", meta.point_norm, plan.d_y)?;
        let output_norm = check_norm("output", meta.output_norm, plan.d_out)?;

        let mut model = Model {
            file,
            opts,
            plan,
            nets: [Net::EMPTY; 3],
            target_file: [&[]; MAX_LAYERS],
            chunk_embeddings: &[],
            sensor_norm,
            point_norm,
            output_norm,
        };
        let roles: [Option<Role>; 3] = match plan.family {
            Family::DeepONet | Family::Nomad => [Some(Role::Branch), None, None],
            Family::ShiftDeepONet => [Some(Role::Branch), Some(Role::Scale), Some(Role::Shift)],
            Family::FlexDeepONet => [Some(Role::Branch), Some(Role::Pre), None],
            Family::HyperDeepONet | Family::ChunkedHyperDeepONet => [Some(Role::Hyper), None, None],
        };
        for (slot, role) in roles.iter().enumerate() {
            if let Some(role) = role {
                model.nets[slot] = model.resolve_net(*role)?;
            }
        }
        let target_role = match plan.family {
            Family::DeepONet | Family::ShiftDeepONet | Family::FlexDeepONet => Some(Role::Trunk),
            Family::Nomad => Some(Role::Decoder),
            _ => None,
        };
        if let Some(role) = target_role {
            model.resolve_target_side(role)?;
        }
        if plan.family == Family::ChunkedHyperDeepONet {
            model.resolve_chunks()?;
        }
        model.check_widths()?;
        Ok(model)
    }

    fn resolve_net(&self, role: Role) -> Result<Net<'a>, Error> {
        let what = role.name();
        let net = self
            .file
            .arch()
            .network(role)
            .ok_or(tensor_err(what, 0, "network missing"))?;
        let mut out = Net::EMPTY;
        for (i, l) in net.layers().enumerate() {
            let dst = out.layers.get_mut(i).ok_or(Error::Unsupported {
                what: "layers per generate-side network",
                found: i + 1,
                max: MAX_NET_LAYERS,
            })?;
            let t =
                self.file
                    .tensor(l.weight)
                    .ok_or(tensor_err(what, i, "weight tensor missing"))?;
            let data = match t.data {
                TensorData::F32(d) => WeightData::F32(d),
                TensorData::F16(d) => WeightData::F16(d),
                TensorData::Bf16(d) => WeightData::Bf16(d),
                TensorData::I8 { values, scales } => WeightData::I8 { values, scales },
                TensorData::I8Blocked { values, scales } => {
                    WeightData::I8Blocked { values, scales }
                }
                // Rows start on 64-byte boundaries; the kernels skip the padding.
                TensorData::F32Padded(values) => WeightData::F32Strided {
                    values,
                    lda: hdon_format::f32_padded_lda(u64::from(l.n_in))
                        .and_then(|v| usize::try_from(v).ok())
                        .ok_or(tensor_err(what, i, "f32-padded row stride overflows"))?,
                },
            };
            let w = MatRef {
                rows: l.n_out as usize,
                cols: l.n_in as usize,
                data,
            };
            w.validate().map_err(|e| {
                let why = match e {
                    KernelError::BlockedTooWide { .. } => {
                        "i8-blocked weight has more than 1024 columns (QMAX_COLS)"
                    }
                    _ => "weight length is not n_out * n_in",
                };
                tensor_err(what, i, why)
            })?;
            let bias = match l.bias {
                None => None,
                Some(b) => match self.file.tensor(b).map(|t| t.data) {
                    Some(TensorData::F32(d)) if d.len() == w.rows => Some(d),
                    _ => return Err(tensor_err(what, i, "bias is not f32 of length n_out")),
                },
            };
            *dst = Some(GenLayer {
                w,
                bias,
                act: kernel_activation(l.activation),
            });
            out.len = i + 1;
        }
        if out.len == 0 {
            return Err(tensor_err(what, 0, "network has no layers"));
        }
        Ok(out)
    }

    fn resolve_target_side(&mut self, role: Role) -> Result<(), Error> {
        let what = role.name();
        let net = self
            .file
            .arch()
            .network(role)
            .ok_or(tensor_err(what, 0, "network missing"))?;
        for (i, l) in net.layers().enumerate() {
            let len = (l.n_out as usize).saturating_mul(l.n_in as usize + 1);
            let block = match self.file.tensor(l.weight).map(|t| t.data) {
                Some(TensorData::F32(d)) if d.len() == len => d,
                _ => {
                    return Err(tensor_err(
                        what,
                        i,
                        "packed block is not f32 of length n_out * (n_in + 1)",
                    ))
                }
            };
            let dst = self.target_file.get_mut(i).ok_or(Error::Unsupported {
                what: "target-side layers",
                found: i + 1,
                max: MAX_LAYERS,
            })?;
            *dst = block;
        }
        Ok(())
    }

    fn resolve_chunks(&mut self) -> Result<(), Error> {
        let arch = self.file.arch();
        let what = "chunk_embeddings";
        let idx = arch
            .chunk_embeddings
            .ok_or(tensor_err(what, 0, "tensor missing"))?;
        let len = self.plan.n_chunks.saturating_mul(self.plan.d_z);
        self.chunk_embeddings = match self.file.tensor(idx).map(|t| t.data) {
            Some(TensorData::F32(d)) if d.len() == len => d,
            _ => return Err(tensor_err(what, 0, "not f32 [n_chunks, d_z]")),
        };
        let hyper = &self.nets[NET_MAIN];
        let first = hyper.layer(0)?;
        let last = hyper.layer(hyper.len - 1)?;
        if first.w.cols != self.plan.m + self.plan.d_z || last.w.rows != self.plan.chunk_size {
            return Err(tensor_err(
                "hyper",
                0,
                "chunked hypernet must map m + d_z inputs to chunk_size outputs",
            ));
        }
        if self.plan.n_chunks.saturating_mul(self.plan.chunk_size) < self.plan.n_theta
            || self.plan.n_theta != self.plan.state_len
        {
            return Err(tensor_err(
                "hyper",
                0,
                "n_chunks * chunk_size must cover n_theta of the target net",
            ));
        }
        Ok(())
    }

    /// Cross-checks the generate-side output widths against the state the plan expects.
    fn check_widths(&self) -> Result<(), Error> {
        let p = &self.plan;
        let bad = |what: &'static str| {
            Err(tensor_err(
                what,
                0,
                "output width disagrees with the architecture",
            ))
        };
        let main = &self.nets[NET_MAIN];
        if main.layer(0)?.w.cols != p.m && p.family != Family::ChunkedHyperDeepONet {
            return Err(tensor_err(
                main_name(p.family),
                0,
                "input width is not the sensor count m",
            ));
        }
        match p.family {
            Family::DeepONet | Family::ShiftDeepONet | Family::FlexDeepONet => {
                if main.n_out() != p.d_out * (p.p + 1) {
                    return bad("branch");
                }
                let first = &p.target[0];
                if first.n_in != p.d_y || p.target[p.n_target - 2].n_out != p.p {
                    return bad("trunk");
                }
                if p.family == Family::ShiftDeepONet
                    && (self.nets[NET_AUX_A].n_out() != p.d_y
                        || self.nets[NET_AUX_B].n_out() != p.d_y)
                {
                    return bad("scale/shift");
                }
                if p.family == Family::FlexDeepONet && self.nets[NET_AUX_A].n_out() != first.n_out {
                    return bad("pre");
                }
            }
            Family::Nomad => {
                if main.n_out() != p.p {
                    return bad("branch");
                }
                let n1 = p.target[0].n_out;
                if self.target_file[0].len() != n1 * (1 + p.p + p.d_y) {
                    return bad("decoder");
                }
            }
            Family::HyperDeepONet => {
                if main.n_out() != p.n_theta || p.n_theta != p.state_len {
                    return bad("hyper");
                }
            }
            Family::ChunkedHyperDeepONet => {}
        }
        if p.target[0].n_in != p.d_y || p.target[p.n_target - 1].n_out != p.d_out {
            return bad("target");
        }
        for net in &self.nets {
            for w in net.layers[..net.len].windows(2) {
                if let [Some(a), Some(b)] = w {
                    if a.w.rows != b.w.cols {
                        return bad("generate-side network chain");
                    }
                }
            }
        }
        Ok(())
    }

    /// The parsed file (architecture, metadata, tensors).
    pub fn file(&self) -> &ModelFile<'a> {
        &self.file
    }

    /// Model family.
    pub fn family(&self) -> Family {
        self.plan.family
    }

    /// Sensor values per input function (`m`).
    pub fn n_sensors(&self) -> usize {
        self.plan.m
    }

    /// Query point dimension `d_y`.
    pub fn d_y(&self) -> usize {
        self.plan.d_y
    }

    /// Output components per query point `d_out`.
    pub fn d_out(&self) -> usize {
        self.plan.d_out
    }

    /// The options this model was loaded with.
    pub fn options(&self) -> Options {
        self.opts
    }

    /// Exact f32 count (not bytes) of the workspace that `generate` (batch 1) or
    /// `generate_batch` (batch functions) needs; equals the file's workspace record for
    /// that batch size. `batch * workspace_len(1)`, saturating at `usize::MAX` if that
    /// overflows (no slice is that long, so `generate_batch` then reports
    /// [`Error::WorkspaceTooShort`]).
    pub fn workspace_len(&self, batch: usize) -> usize {
        self.plan.workspace_len(batch).unwrap_or(usize::MAX)
    }

    /// Floating-point operations of one `generate` (2 per multiply-add, plus bias adds).
    pub fn flops_generate(&self) -> u64 {
        let p = &self.plan;
        let dense = |l: &GenLayer<'_>| {
            let (r, c) = (l.w.rows as u64, l.w.cols as u64);
            2 * r * c + if l.bias.is_some() { r } else { 0 }
        };
        let mut total = 0u64;
        for (slot, net) in self.nets.iter().enumerate() {
            for l in net.layers[..net.len].iter().flatten() {
                let rows = if slot == NET_MAIN && p.family == Family::ChunkedHyperDeepONet {
                    p.n_chunks as u64
                } else {
                    1
                };
                total += rows * dense(l);
            }
        }
        if p.family == Family::Nomad {
            total += 2 * (p.target[0].n_out * p.p) as u64;
        }
        total
    }

    /// Floating-point operations per query point of `eval` (2 per multiply-add, plus bias
    /// adds).
    pub fn flops_per_point(&self) -> u64 {
        self.plan.target[..self.plan.n_target]
            .iter()
            .map(|s| (2 * s.n_in * s.n_out + s.n_out) as u64)
            .sum()
    }
}

fn main_name(f: Family) -> &'static str {
    match f {
        Family::HyperDeepONet | Family::ChunkedHyperDeepONet => "hyper",
        _ => "branch",
    }
}

/// Builds the eval layer array from a state region (used by generate and the batch helpers).
pub(crate) fn eval_layers<'w>(
    model: &'w Model<'_>,
    state: &'w [f32],
) -> Result<[hdon_kernels::Layer<'w>; MAX_LAYERS], Error> {
    let mut layers = [hdon_kernels::Layer {
        n_in: 0,
        n_out: 0,
        act: KAct::Identity,
        params: &[],
    }; MAX_LAYERS];
    let p = &model.plan;
    for (dst, slot) in layers.iter_mut().zip(&p.target[..p.n_target]) {
        let len = slot.block_len();
        let params: &'w [f32] = match slot.src {
            crate::plan::Src::File(i) => model.target_file.get(i).copied().unwrap_or(&[]),
            crate::plan::Src::State(off) => state.get(off..off + len).unwrap_or(&[]),
        };
        if params.len() != len {
            return Err(tensor_err("target", 0, "parameter block length"));
        }
        *dst = hdon_kernels::Layer {
            n_in: slot.n_in,
            n_out: slot.n_out,
            act: slot.act,
            params,
        };
    }
    Ok(layers)
}
