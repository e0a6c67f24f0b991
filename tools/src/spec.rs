//! The model spec (TOML) that `hdon export --spec` reads: serde structs that mirror the file
//! exactly (unknown keys are errors), and [`Spec::validate`], which checks every size against
//! the family's rules and returns a [`ModelPlan`] in the format crate's vocabulary.
//! The format is documented in docs/EXPORT.md.

use anyhow::{anyhow, bail, Context, Result};
use hdon_format::{Activation, Family, Role};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// The spec file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// `[model]`
    pub model: ModelSection,
    /// `[sensors]`
    pub sensors: SensorsSection,
    /// `[domain]`
    pub domain: DomainSection,
    /// `[normalization]`
    #[serde(default)]
    pub normalization: NormalizationSection,
    /// `[networks.<role>]`
    #[serde(default)]
    pub networks: BTreeMap<String, NetworkSection>,
    /// `[target]` (hyper, chunked_hyper)
    pub target: Option<NetworkSection>,
    /// `[chunks]` (chunked_hyper)
    pub chunks: Option<ChunksSection>,
    /// `[provenance]`
    #[serde(default)]
    pub provenance: ProvenanceSection,
    /// `[tensors]`: slot name -> checkpoint name.
    #[serde(default)]
    pub tensors: BTreeMap<String, String>,
    /// `[extra]`: free-form string pairs.
    #[serde(default)]
    pub extra: BTreeMap<String, String>,
}

/// `[model]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSection {
    /// Free text.
    pub name: String,
    /// deeponet | shift | flex | nomad | hyper | chunked_hyper
    pub family: String,
    /// Query-point dimension.
    pub d_y: u32,
    /// Output dimension.
    pub d_out: u32,
    /// `out_in` or `in_out`; default `in_out` for preset `flax`, else `out_in`.
    pub layout: Option<String>,
    /// `hdon` (default), `torch_sequential` or `flax`.
    #[serde(default = "default_preset")]
    pub preset: String,
    /// Basis size (deeponet, shift, flex, nomad).
    pub p: Option<u32>,
    /// deeponet/shift: the checkpoint has tensor `b0` `[d_out]`.
    #[serde(default)]
    pub b0: bool,
}

fn default_preset() -> String {
    "hdon".into()
}

/// `[sensors]`: exactly one of `linspace` and `x`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SensorsSection {
    /// A 1-D uniform grid.
    pub linspace: Option<Linspace>,
    /// Explicit locations: a list of numbers (1-D) or of lists (one per sensor).
    pub x: Option<toml::Value>,
}

/// `linspace = { start, stop, num }` (both ends included, like numpy).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Linspace {
    /// First location.
    pub start: f64,
    /// Last location.
    pub stop: f64,
    /// Number of sensors.
    pub num: u32,
}

/// `[domain]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DomainSection {
    /// Lower corner, length d_y.
    pub lower: Vec<f64>,
    /// Upper corner, length d_y.
    pub upper: Vec<f64>,
}

/// `[normalization]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NormalizationSection {
    /// Sensor values: scalars or lists of length m.
    pub sensors: Option<AffineSection>,
    /// Query points: lists of length d_y.
    pub points: Option<AffineSection>,
    /// Outputs: lists of length d_out.
    pub output: Option<AffineSection>,
}

/// `{ mean = .., std = .. }`; `x_n = (x - mean) / std`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AffineSection {
    /// Scalar or list.
    pub mean: ScalarOrList,
    /// Scalar or list; every entry must be positive and finite.
    pub std: ScalarOrList,
}

/// A number or a list of numbers.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum ScalarOrList {
    /// One value.
    Scalar(f64),
    /// One value per entry.
    List(Vec<f64>),
}

impl ScalarOrList {
    fn to_vec(&self) -> Vec<f32> {
        match self {
            ScalarOrList::Scalar(x) => vec![*x as f32],
            ScalarOrList::List(v) => v.iter().map(|&x| x as f32).collect(),
        }
    }
}

/// `[networks.<role>]` and `[target]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkSection {
    /// `[input, hidden..., output]`.
    pub sizes: Vec<u32>,
    /// Hidden-layer activation.
    pub activation: String,
    /// Last-layer activation (default identity).
    #[serde(default = "default_identity")]
    pub output_activation: String,
    /// Slope when an activation is `prelu`.
    pub prelu_slope: Option<f64>,
}

fn default_identity() -> String {
    "identity".into()
}

/// `[chunks]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChunksSection {
    /// Number of chunk embeddings z_j.
    pub n_chunks: u32,
    /// Outputs of the shared hypernetwork per run.
    pub chunk_size: u32,
    /// Embedding dimension.
    pub d_z: u32,
}

/// `[provenance]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvenanceSection {
    /// Training framework and version.
    #[serde(default)]
    pub framework: String,
    /// Training data description.
    #[serde(default)]
    pub dataset: String,
    /// Measured test relative L2 error.
    pub test_rel_l2: Option<f64>,
}

/// How checkpoint weight matrices are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// `[out, in]` (PyTorch nn.Linear).
    OutIn,
    /// `[in, out]` (JAX/Flax Dense kernel).
    InOut,
}

impl Layout {
    /// The spec spelling.
    pub fn name(self) -> &'static str {
        match self {
            Layout::OutIn => "out_in",
            Layout::InOut => "in_out",
        }
    }
}

/// Checkpoint tensor naming scheme (see [`crate::preset`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Preset {
    /// Slot names as they are (`branch.0.weight`).
    Hdon,
    /// `branch_net.<2i>.weight` (nn.Sequential with activations between Linear layers).
    TorchSequential,
    /// `branch/Dense_<i>/kernel` and `.../bias`.
    Flax,
}

/// One network after validation.
#[derive(Clone, Debug, PartialEq)]
pub struct NetPlan {
    /// Its role.
    pub role: Role,
    /// `[input, hidden..., output]` as in the checkpoint.
    pub sizes: Vec<u32>,
    /// Activation of every layer but the last.
    pub activation: Activation,
    /// Activation of the last layer.
    pub output_activation: Activation,
}

impl NetPlan {
    /// Number of dense layers.
    pub fn layer_count(&self) -> usize {
        self.sizes.len() - 1
    }
    /// Activation of layer `i`.
    pub fn activation_of(&self, i: usize) -> Activation {
        if i + 1 == self.layer_count() {
            self.output_activation
        } else {
            self.activation
        }
    }
}

/// Chunked-hypernetwork sizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkPlan {
    /// Number of chunk embeddings.
    pub n_chunks: u32,
    /// Outputs per hypernetwork run.
    pub chunk_size: u32,
    /// Embedding dimension.
    pub d_z: u32,
}

/// `x_n = (x - mean) / std`.
#[derive(Clone, Debug, PartialEq)]
pub struct AffinePlan {
    /// Means.
    pub mean: Vec<f32>,
    /// Standard deviations (positive).
    pub std: Vec<f32>,
}

/// A validated spec: everything the export needs except the weights.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelPlan {
    /// Model name.
    pub name: String,
    /// Family.
    pub family: Family,
    /// Number of sensors m.
    pub n_sensors: u32,
    /// Sensor locations `[m, sensor_dim]` row-major.
    pub sensors: Vec<f32>,
    /// Coordinates per sensor location.
    pub sensor_dim: u32,
    /// Query dimension.
    pub d_y: u32,
    /// Output dimension.
    pub d_out: u32,
    /// Basis size (0 for hyper families).
    pub p: u32,
    /// Checkpoint has `b0`.
    pub b0: bool,
    /// Checkpoint weight layout.
    pub layout: Layout,
    /// Checkpoint naming preset.
    pub preset: Preset,
    /// Networks in the family's role order.
    pub networks: Vec<NetPlan>,
    /// Target net (hyper families), role field unused.
    pub target: Option<NetPlan>,
    /// Chunk sizes (chunked_hyper).
    pub chunks: Option<ChunkPlan>,
    /// Query domain lower corner.
    pub domain_lower: Vec<f32>,
    /// Query domain upper corner.
    pub domain_upper: Vec<f32>,
    /// Sensor normalization (length 1 or m).
    pub sensor_norm: Option<AffinePlan>,
    /// Point normalization (length d_y).
    pub point_norm: Option<AffinePlan>,
    /// Output normalization (length d_out).
    pub output_norm: Option<AffinePlan>,
    /// Provenance.
    pub framework: String,
    /// Provenance.
    pub dataset: String,
    /// Provenance.
    pub test_rel_l2: Option<f32>,
    /// Slot -> checkpoint name overrides.
    pub tensors: BTreeMap<String, String>,
    /// Free-form pairs.
    pub extra: Vec<(String, String)>,
}

impl ModelPlan {
    /// The network with `role`.
    pub fn network(&self, role: Role) -> Option<&NetPlan> {
        self.networks.iter().find(|n| n.role == role)
    }
    /// Target-net layer sizes `[d_y, n_1, ..., d_out]` (hyper families).
    pub fn target_sizes(&self) -> Option<Vec<usize>> {
        self.target
            .as_ref()
            .map(|t| t.sizes.iter().map(|&s| s as usize).collect())
    }
    /// Parameter count of the hyper families' target net (paper layout).
    pub fn n_theta(&self) -> u64 {
        self.target.as_ref().map_or(0, |t| theta_len(&t.sizes))
    }
}

/// Parameter count of an MLP with these sizes (weights + biases).
pub fn theta_len(sizes: &[u32]) -> u64 {
    sizes
        .windows(2)
        .map(|w| w[1] as u64 * (w[0] as u64 + 1))
        .sum()
}

/// Parses a family name as written in specs.
pub fn parse_family(s: &str) -> Option<Family> {
    [
        Family::DeepONet,
        Family::ShiftDeepONet,
        Family::FlexDeepONet,
        Family::Nomad,
        Family::HyperDeepONet,
        Family::ChunkedHyperDeepONet,
    ]
    .into_iter()
    .find(|f| f.name() == s)
}

/// Parses a role name.
pub fn parse_role(s: &str) -> Option<Role> {
    [
        Role::Branch,
        Role::Trunk,
        Role::Hyper,
        Role::Scale,
        Role::Shift,
        Role::Pre,
        Role::Decoder,
    ]
    .into_iter()
    .find(|r| r.name() == s)
}

/// Parses an activation name; `slope` is used for prelu.
pub fn parse_activation(s: &str, slope: Option<f64>) -> Option<Activation> {
    Some(match s {
        "identity" | "linear" | "none" => Activation::Identity,
        "relu" => Activation::Relu,
        "prelu" => Activation::Prelu(slope.unwrap_or(0.25) as f32),
        "tanh" => Activation::Tanh,
        "sigmoid" => Activation::Sigmoid,
        "sin" => Activation::Sin,
        "gelu" => Activation::Gelu,
        "silu" | "swish" => Activation::Silu,
        "softplus" => Activation::Softplus,
        _ => return None,
    })
}

const ACTIVATIONS: &str = "identity relu prelu tanh sigmoid sin gelu silu softplus";

impl Spec {
    /// Reads and parses a spec file (syntax and unknown keys only; see [`Spec::validate`]).
    pub fn read(path: &Path) -> Result<Spec> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read spec {}", path.display()))?;
        Self::parse(&text).map_err(|e| anyhow!("{}: {e}", path.display()))
    }

    /// Parses spec text.
    pub fn parse(text: &str) -> Result<Spec> {
        toml::from_str(text).map_err(|e| anyhow!("invalid spec: {e}"))
    }

    /// Checks the spec against the family's rules (see the module doc) and returns the plan.
    /// Errors name the field, expected vs found.
    pub fn validate(&self) -> Result<ModelPlan> {
        let m = &self.model;
        let family = parse_family(&m.family).ok_or_else(|| {
            anyhow!("model.family: unknown family '{}'; expected one of deeponet, shift, flex, nomad, hyper, chunked_hyper", m.family)
        })?;
        let default_layout = if m.preset == "flax" {
            "in_out"
        } else {
            "out_in"
        };
        let layout = match m.layout.as_deref().unwrap_or(default_layout) {
            "out_in" => Layout::OutIn,
            "in_out" => Layout::InOut,
            other => bail!("model.layout: unknown layout '{other}'; expected out_in (PyTorch nn.Linear [out, in]) or in_out (JAX/Flax Dense kernel [in, out])"),
        };
        let preset = match m.preset.as_str() {
            "hdon" => Preset::Hdon,
            "torch_sequential" => Preset::TorchSequential,
            "flax" => Preset::Flax,
            other => bail!(
                "model.preset: unknown preset '{other}'; expected hdon, torch_sequential or flax"
            ),
        };
        if !(1..=4).contains(&m.d_y) {
            bail!("model.d_y: expected 1..=4, found {}", m.d_y);
        }
        if m.d_out == 0 {
            bail!("model.d_out: expected >= 1, found 0");
        }
        let (sensors, sensor_dim) = self.sensor_locations()?;
        let n_sensors = (sensors.len() / sensor_dim as usize) as u32;

        let d_y = m.d_y;
        let d_out = m.d_out;
        let is_hyper = family.is_hyper();
        let p = match (is_hyper, m.p) {
            (false, Some(p)) if p > 0 => p,
            (false, _) => bail!(
                "model.p: family {} needs the basis size p >= 1",
                family.name()
            ),
            (true, Some(p)) if p != 0 => bail!(
                "model.p: family {} has no basis size; remove p (found {p})",
                family.name()
            ),
            (true, _) => 0,
        };
        if m.b0 && !matches!(family, Family::DeepONet | Family::ShiftDeepONet) {
            bail!("model.b0: only deeponet and shift have a constant bias b0 (flex's b0(u) comes from the branch)");
        }

        for name in self.networks.keys() {
            let role = parse_role(name).ok_or_else(|| {
                anyhow!("networks.{name}: unknown network role; expected branch, trunk, hyper, scale, shift, pre or decoder")
            })?;
            if !family.roles().contains(&role) {
                let need: Vec<&str> = family.roles().iter().map(|r| r.name()).collect();
                bail!(
                    "networks.{name}: family {} has no {name} network; it needs exactly: {}",
                    family.name(),
                    need.join(", ")
                );
            }
        }
        let mut networks = Vec::new();
        for &role in family.roles() {
            let sec = self.networks.get(role.name()).ok_or_else(|| {
                anyhow!(
                    "networks.{}: missing; family {} needs a [networks.{}] table",
                    role.name(),
                    family.name(),
                    role.name()
                )
            })?;
            networks.push(net_plan(role, sec, &format!("networks.{}", role.name()))?);
        }
        let target = match (is_hyper, &self.target) {
            (true, Some(t)) => Some(net_plan(Role::Trunk, t, "target")?),
            (true, None) => bail!("target: missing; family {} needs a [target] table (the target net's sizes)", family.name()),
            (false, Some(_)) => bail!("target: family {} has no separate target table (its target net is the trunk/decoder)", family.name()),
            (false, None) => None,
        };
        let chunks = match (family, &self.chunks) {
            (Family::ChunkedHyperDeepONet, Some(c)) => Some(ChunkPlan {
                n_chunks: c.n_chunks,
                chunk_size: c.chunk_size,
                d_z: c.d_z,
            }),
            (Family::ChunkedHyperDeepONet, None) => {
                bail!("chunks: missing; chunked_hyper needs [chunks] n_chunks, chunk_size, d_z")
            }
            (_, Some(_)) => bail!("chunks: only chunked_hyper has chunks"),
            (_, None) => None,
        };

        // Sizes per family (docs/FORMAT.md "The six families").
        let net = |r: Role| {
            networks
                .iter()
                .find(|n| n.role == r)
                .expect("role checked above")
        };
        let expect = |field: &str, what: &str, expected: u32, found: u32| -> Result<()> {
            if expected != found {
                bail!("{field}: {what} must be {expected}, found {found}");
            }
            Ok(())
        };
        let first = |n: &NetPlan| n.sizes[0];
        let last = |n: &NetPlan| *n.sizes.last().expect("sizes has >= 2 entries");
        match family {
            Family::DeepONet | Family::ShiftDeepONet | Family::FlexDeepONet => {
                let (b, t) = (net(Role::Branch), net(Role::Trunk));
                expect(
                    "networks.branch.sizes[0]",
                    "the branch input (number of sensors m)",
                    n_sensors,
                    first(b),
                )?;
                let per = if family == Family::FlexDeepONet {
                    p + 1
                } else {
                    p
                };
                let what = if family == Family::FlexDeepONet {
                    "the branch output d_out*(p+1)"
                } else {
                    "the branch output d_out*p"
                };
                expect("networks.branch.sizes[-1]", what, d_out * per, last(b))?;
                expect(
                    "networks.trunk.sizes[0]",
                    "the trunk input d_y",
                    d_y,
                    first(t),
                )?;
                expect("networks.trunk.sizes[-1]", "the trunk output p", p, last(t))?;
                if family == Family::ShiftDeepONet {
                    for r in [Role::Scale, Role::Shift] {
                        let n = net(r);
                        expect(
                            &format!("networks.{}.sizes[0]", r.name()),
                            "the input (m)",
                            n_sensors,
                            first(n),
                        )?;
                        expect(
                            &format!("networks.{}.sizes[-1]", r.name()),
                            "the output d_y",
                            d_y,
                            last(n),
                        )?;
                    }
                }
                if family == Family::FlexDeepONet {
                    let pre = net(Role::Pre);
                    expect(
                        "networks.pre.sizes[0]",
                        "the input (m)",
                        n_sensors,
                        first(pre),
                    )?;
                    expect(
                        "networks.pre.sizes[-1]",
                        "the output (the trunk's first hidden width)",
                        t.sizes[1],
                        last(pre),
                    )?;
                }
            }
            Family::Nomad => {
                let (b, dec) = (net(Role::Branch), net(Role::Decoder));
                expect(
                    "networks.branch.sizes[0]",
                    "the branch input (m)",
                    n_sensors,
                    first(b),
                )?;
                expect(
                    "networks.branch.sizes[-1]",
                    "the branch output p",
                    p,
                    last(b),
                )?;
                expect(
                    "networks.decoder.sizes[0]",
                    "the decoder input p + d_y",
                    p + d_y,
                    first(dec),
                )?;
                expect(
                    "networks.decoder.sizes[-1]",
                    "the decoder output d_out",
                    d_out,
                    last(dec),
                )?;
            }
            Family::HyperDeepONet | Family::ChunkedHyperDeepONet => {
                let t = target.as_ref().expect("checked above");
                expect("target.sizes[0]", "the target input d_y", d_y, first(t))?;
                expect(
                    "target.sizes[-1]",
                    "the target output d_out",
                    d_out,
                    last(t),
                )?;
                let n_theta = theta_len(&t.sizes);
                let h = net(Role::Hyper);
                if let Some(c) = chunks {
                    if c.n_chunks == 0 || c.chunk_size == 0 || c.d_z == 0 {
                        bail!("chunks: n_chunks, chunk_size and d_z must be >= 1");
                    }
                    expect(
                        "networks.hyper.sizes[0]",
                        "the hypernetwork input m + d_z",
                        n_sensors + c.d_z,
                        first(h),
                    )?;
                    expect(
                        "networks.hyper.sizes[-1]",
                        "the hypernetwork output chunk_size",
                        c.chunk_size,
                        last(h),
                    )?;
                    if (c.n_chunks as u64) * (c.chunk_size as u64) < n_theta {
                        bail!(
                            "chunks: n_chunks * chunk_size = {} is less than the target net's parameter count N_theta = {n_theta}",
                            c.n_chunks as u64 * c.chunk_size as u64
                        );
                    }
                } else {
                    expect(
                        "networks.hyper.sizes[0]",
                        "the hypernetwork input (m)",
                        n_sensors,
                        first(h),
                    )?;
                    if last(h) as u64 != n_theta {
                        bail!("networks.hyper.sizes[-1]: the hypernetwork output must be N_theta = {n_theta} (target sizes {:?}), found {}", t.sizes, last(h));
                    }
                }
            }
        }

        let dl = &self.domain.lower;
        let du = &self.domain.upper;
        if dl.len() != d_y as usize || du.len() != d_y as usize {
            bail!(
                "domain: lower and upper must have d_y = {d_y} entries each, found {} and {}",
                dl.len(),
                du.len()
            );
        }
        for i in 0..dl.len() {
            if !(dl[i].is_finite() && du[i].is_finite() && dl[i] < du[i]) {
                bail!(
                    "domain: need finite lower[{i}] < upper[{i}], found {} and {}",
                    dl[i],
                    du[i]
                );
            }
        }
        let norm = &self.normalization;
        let sensor_norm = affine(
            norm.sensors.as_ref(),
            "normalization.sensors",
            &[1, n_sensors as usize],
        )?;
        let point_norm = affine(
            norm.points.as_ref(),
            "normalization.points",
            &[d_y as usize],
        )?;
        let output_norm = affine(
            norm.output.as_ref(),
            "normalization.output",
            &[d_out as usize],
        )?;

        Ok(ModelPlan {
            name: m.name.clone(),
            family,
            n_sensors,
            sensors,
            sensor_dim,
            d_y,
            d_out,
            p,
            b0: m.b0,
            layout,
            preset,
            networks,
            target,
            chunks,
            domain_lower: dl.iter().map(|&x| x as f32).collect(),
            domain_upper: du.iter().map(|&x| x as f32).collect(),
            sensor_norm,
            point_norm,
            output_norm,
            framework: self.provenance.framework.clone(),
            dataset: self.provenance.dataset.clone(),
            test_rel_l2: self.provenance.test_rel_l2.map(|x| x as f32),
            tensors: self.tensors.clone(),
            extra: self
                .extra
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        })
    }

    fn sensor_locations(&self) -> Result<(Vec<f32>, u32)> {
        let s = &self.sensors;
        match (&s.linspace, &s.x) {
            (Some(_), Some(_)) => bail!("sensors: give exactly one of linspace and x, found both"),
            (None, None) => bail!("sensors: give exactly one of linspace = {{ start, stop, num }} and x = [...], found neither"),
            (Some(l), None) => {
                if l.num == 0 {
                    bail!("sensors.linspace.num: expected >= 1, found 0");
                }
                if !(l.start.is_finite() && l.stop.is_finite()) {
                    bail!("sensors.linspace: start and stop must be finite");
                }
                let n = l.num as usize;
                let step = if n > 1 { (l.stop - l.start) / (n - 1) as f64 } else { 0.0 };
                Ok(((0..n).map(|i| (l.start + step * i as f64) as f32).collect(), 1))
            }
            (None, Some(x)) => {
                let arr = x.as_array().ok_or_else(|| anyhow!("sensors.x: expected a list, found {}", x.type_str()))?;
                if arr.is_empty() {
                    bail!("sensors.x: expected at least one sensor location, found an empty list");
                }
                let num = |v: &toml::Value, at: String| -> Result<f32> {
                    v.as_float()
                        .or_else(|| v.as_integer().map(|i| i as f64))
                        .map(|f| f as f32)
                        .ok_or_else(|| anyhow!("{at}: expected a number, found {}", v.type_str()))
                };
                if arr[0].is_array() {
                    let dim = arr[0].as_array().expect("checked").len();
                    if !(1..=4).contains(&dim) {
                        bail!("sensors.x[0]: expected 1..=4 coordinates, found {dim}");
                    }
                    let mut out = Vec::with_capacity(arr.len() * dim);
                    for (i, row) in arr.iter().enumerate() {
                        let row = row.as_array().ok_or_else(|| anyhow!("sensors.x[{i}]: expected a list of {dim} coordinates"))?;
                        if row.len() != dim {
                            bail!("sensors.x[{i}]: expected {dim} coordinates (as x[0]), found {}", row.len());
                        }
                        for (j, v) in row.iter().enumerate() {
                            out.push(num(v, format!("sensors.x[{i}][{j}]"))?);
                        }
                    }
                    Ok((out, dim as u32))
                } else {
                    let v = arr.iter().enumerate().map(|(i, v)| num(v, format!("sensors.x[{i}]"))).collect::<Result<_>>()?;
                    Ok((v, 1))
                }
            }
        }
    }
}

fn net_plan(role: Role, sec: &NetworkSection, field: &str) -> Result<NetPlan> {
    if sec.sizes.len() < 2 {
        bail!(
            "{field}.sizes: expected [input, ..., output] with at least 2 entries, found {:?}",
            sec.sizes
        );
    }
    if let Some(i) = sec.sizes.iter().position(|&s| s == 0) {
        bail!("{field}.sizes[{i}]: sizes must be >= 1, found 0");
    }
    let act = |name: &str, key: &str| {
        parse_activation(name, sec.prelu_slope).ok_or_else(|| {
            anyhow!("{field}.{key}: unknown activation '{name}'; expected one of: {ACTIVATIONS}")
        })
    };
    Ok(NetPlan {
        role,
        sizes: sec.sizes.clone(),
        activation: act(&sec.activation, "activation")?,
        output_activation: act(&sec.output_activation, "output_activation")?,
    })
}

fn affine(sec: Option<&AffineSection>, field: &str, lens: &[usize]) -> Result<Option<AffinePlan>> {
    let Some(sec) = sec else { return Ok(None) };
    let mean = sec.mean.to_vec();
    let std = sec.std.to_vec();
    let want = lens
        .iter()
        .map(|l| l.to_string())
        .collect::<Vec<_>>()
        .join(" or ");
    // A scalar broadcasts only where length 1 is allowed; otherwise expand it.
    let fit = |v: Vec<f32>, key: &str| -> Result<Vec<f32>> {
        if lens.contains(&v.len()) {
            Ok(v)
        } else if v.len() == 1 {
            Ok(vec![v[0]; lens[0]])
        } else {
            bail!("{field}.{key}: expected length {want}, found {}", v.len())
        }
    };
    let mean = fit(mean, "mean")?;
    let std = fit(std, "std")?;
    if mean.len() != std.len() {
        bail!(
            "{field}: mean has {} entries but std has {}",
            mean.len(),
            std.len()
        );
    }
    if let Some(i) = mean.iter().position(|x| !x.is_finite()) {
        bail!(
            "{field}.mean[{i}]: expected a finite number, found {}",
            mean[i]
        );
    }
    if let Some(i) = std.iter().position(|x| !(x.is_finite() && *x > 0.0)) {
        bail!(
            "{field}.std[{i}]: expected a finite positive number, found {}",
            std[i]
        );
    }
    Ok(Some(AffinePlan { mean, std }))
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) const HYPER: &str = r#"
[model]
name = "t"
family = "hyper"
d_y = 1
d_out = 1
[sensors]
linspace = { start = 0.0, stop = 1.0, num = 5 }
[domain]
lower = [0.0]
upper = [1.0]
[networks.hyper]
sizes = [5, 8, 31]
activation = "tanh"
[target]
sizes = [1, 10, 1]
activation = "tanh"
"#;

    #[test]
    fn minimal_hyper_spec_validates() {
        let plan = Spec::parse(HYPER).unwrap().validate().unwrap();
        assert_eq!(plan.family, Family::HyperDeepONet);
        assert_eq!(plan.n_sensors, 5);
        assert_eq!(plan.sensors, vec![0.0, 0.25, 0.5, 0.75, 1.0]);
        assert_eq!(plan.n_theta(), 31);
        assert_eq!(plan.layout, Layout::OutIn);
        assert_eq!(plan.networks[0].activation_of(1), Activation::Identity);
    }

    fn err(text: &str) -> String {
        match Spec::parse(text).and_then(|s| s.validate()) {
            Ok(_) => panic!("accepted"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn size_and_name_errors_name_the_field() {
        let e = err(&HYPER.replace("[5, 8, 31]", "[5, 8, 30]"));
        assert!(
            e.contains("networks.hyper.sizes[-1]") && e.contains("31") && e.contains("30"),
            "{e}"
        );
        let e = err(&HYPER.replace(
            "activation = \"tanh\"\n[target]",
            "activation = \"swishy\"\n[target]",
        ));
        assert!(
            e.contains("networks.hyper.activation") && e.contains("'swishy'"),
            "{e}"
        );
        let e = err(&HYPER.replace("family = \"hyper\"", "family = \"hyperx\""));
        assert!(e.contains("model.family"), "{e}");
        let e = err(&HYPER.replace("d_out = 1", "d_out = 1\nlayout = \"row\""));
        assert!(e.contains("model.layout") && e.contains("'row'"), "{e}");
        let e = err(&HYPER.replace("d_out = 1", "d_out = 1\ncolour = 3"));
        assert!(e.contains("colour"), "{e}");
        let e = err(&HYPER.replace(
            "[target]",
            "[networks.trunk]\nsizes=[1,2]\nactivation=\"tanh\"\n[target]",
        ));
        assert!(
            e.contains("networks.trunk") && e.contains("no trunk"),
            "{e}"
        );
        let e = err(&HYPER.replace("upper = [1.0]", "upper = [1.0, 2.0]"));
        assert!(e.contains("domain"), "{e}");
    }

    #[test]
    fn deeponet_and_explicit_2d_sensors() {
        let text = r#"
[model]
name = "d"
family = "deeponet"
d_y = 2
d_out = 2
p = 3
b0 = true
[sensors]
x = [[0.0, 0.0], [1.0, 0.0], [0.0, 1]]
[domain]
lower = [0.0, 0.0]
upper = [1.0, 1.0]
[normalization]
sensors = { mean = 0.5, std = 2.0 }
points = { mean = [0.5, 0.5], std = [0.3, 0.3] }
[networks.branch]
sizes = [3, 4, 6]
activation = "relu"
[networks.trunk]
sizes = [2, 4, 3]
activation = "prelu"
prelu_slope = 0.1
output_activation = "tanh"
"#;
        let plan = Spec::parse(text).unwrap().validate().unwrap();
        assert_eq!((plan.n_sensors, plan.sensor_dim), (3, 2));
        assert_eq!(plan.sensor_norm.as_ref().unwrap().mean, vec![0.5]);
        assert_eq!(
            plan.network(Role::Trunk).unwrap().activation,
            Activation::Prelu(0.1)
        );
        let e = err(&text.replace("sizes = [3, 4, 6]", "sizes = [3, 4, 8]"));
        assert!(
            e.contains("d_out*p") && e.contains("must be 6, found 8"),
            "{e}"
        );
        let e = err(&text.replace("[0.0, 1]]", "[0.0]]"));
        assert!(e.contains("sensors.x[2]"), "{e}");
        let e = err(&text.replace("std = [0.3, 0.3]", "std = [0.3, 0.0]"));
        assert!(e.contains("normalization.points.std[1]"), "{e}");
    }
}
