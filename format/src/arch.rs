//! The architecture section: family, dimensions, networks of dense layers, the target-net
//! table (hyper families) and the workspace records; and its cross-checks against the tensors.

use crate::codes::{Activation, DType, Family, Role};
use crate::error::{Cap, FormatError, Net, Section, Shape};
use crate::layout::*;
use crate::tensor::TensorTable;

/// One dense layer of a network.
///
/// Generate-side layer (branch, hyper, scale, shift, pre): `weight` is a tensor
/// `[n_out, n_in]` row-major of any dtype, `bias` (optional) an f32 tensor `[n_out]`.
/// Target-side layer (trunk, decoder): `weight` is a packed f32 block `[n_out, n_in + 1]` in
/// kernel layout (each row `[b_o, W[o, 0], ..., W[o, n_in - 1]]`), `bias` is `None`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Layer {
    /// Input width (elements).
    pub n_in: u32,
    /// Output width (elements).
    pub n_out: u32,
    /// Activation applied to the output.
    pub activation: Activation,
    /// Tensor index of the weight (or packed block).
    pub weight: u32,
    /// Tensor index of the bias, if any.
    pub bias: Option<u32>,
}

/// One layer of a generated target net (hyper, chunked_hyper): sizes and activation only;
/// its parameters come from theta.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TargetLayer {
    /// Input width.
    pub n_in: u32,
    /// Output width.
    pub n_out: u32,
    /// Activation applied to the output.
    pub activation: Activation,
}

/// A network of the model (a chain of dense layers).
#[derive(Clone, Copy, Debug)]
pub struct Network<'a> {
    /// Its role.
    pub role: Role,
    layers: &'a [u8],
}

impl<'a> Network<'a> {
    /// Number of layers (1..=16).
    pub fn layer_count(&self) -> usize {
        self.layers.len() / LAYER_RECORD
    }

    /// Layer `i`, `None` if out of range.
    pub fn layer(&self, i: usize) -> Option<Layer> {
        let start = i.checked_mul(LAYER_RECORD)?;
        decode_layer(self.layers.get(start..start.checked_add(LAYER_RECORD)?)?)
    }

    /// The layers in order.
    pub fn layers(&self) -> impl Iterator<Item = Layer> + 'a {
        self.layers
            .chunks_exact(LAYER_RECORD)
            .filter_map(decode_layer)
    }

    /// Input width of the first layer.
    pub fn n_in(&self) -> u32 {
        self.layer(0).map_or(0, |l| l.n_in)
    }

    /// Output width of the last layer.
    pub fn n_out(&self) -> u32 {
        self.layer(self.layer_count().wrapping_sub(1))
            .map_or(0, |l| l.n_out)
    }
}

fn decode_layer(r: &[u8]) -> Option<Layer> {
    let activation = Activation::from_code(u32_at(r, 8)?, f32::from_bits(u32_at(r, 12)?))?;
    let bias = u32_at(r, 20)?;
    Some(Layer {
        n_in: u32_at(r, 0)?,
        n_out: u32_at(r, 4)?,
        activation,
        weight: u32_at(r, 16)?,
        bias: (bias != NO_TENSOR).then_some(bias),
    })
}

fn decode_target(r: &[u8]) -> Option<TargetLayer> {
    Some(TargetLayer {
        n_in: u32_at(r, 0)?,
        n_out: u32_at(r, 4)?,
        activation: Activation::from_code(u32_at(r, 8)?, f32::from_bits(u32_at(r, 12)?))?,
    })
}

/// Theta layout 1, "rows, bias first": the hypernetwork's output is the target net's
/// parameters, layer by layer, each output row as `[b_o, W[o, 0], ..., W[o, n_in - 1]]`.
pub const THETA_LAYOUT_ROWS: u32 = 1;

/// Theta layout 2, "rows, folded" (hyper only): layout 1 with the point normalization, the
/// output de-normalization and the folded-tanh rewrite of the hidden tanh layers already
/// applied to the generated parameters (see docs/FORMAT.md), so that a generate is the
/// hypernetwork alone.
pub const THETA_LAYOUT_FOLDED: u32 = 2;

/// The model's architecture (see docs/FORMAT.md, "Architecture section").
#[derive(Clone, Copy, Debug)]
pub struct Architecture<'a> {
    /// The family.
    pub family: Family,
    /// m, the number of sensors.
    pub n_sensors: u32,
    /// Query-point dimension.
    pub d_y: u32,
    /// Output dimension.
    pub d_out: u32,
    /// Basis size (deeponet, shift, flex, nomad); 0 for hyper families.
    pub p: u32,
    /// Theta layout id: [`THETA_LAYOUT_ROWS`] or (hyper only) [`THETA_LAYOUT_FOLDED`].
    pub theta_layout: u32,
    /// Parameter count of the target net (hyper families), else 0.
    pub n_theta: u32,
    /// Number of chunks (chunked_hyper), else 0.
    pub n_chunks: u32,
    /// Hypernetwork outputs per chunk (chunked_hyper), else 0.
    pub chunk_size: u32,
    /// Chunk embedding dimension (chunked_hyper), else 0.
    pub d_z: u32,
    /// Tensor index of `chunk_embeddings` `[n_chunks, d_z]` f32 (chunked_hyper only).
    pub chunk_embeddings: Option<u32>,
    networks: &'a [u8],
    layers: &'a [u8],
    target: &'a [u8],
    workspace: &'a [u8],
}

impl<'a> Architecture<'a> {
    /// The network with this role, if the family has it.
    pub fn network(&self, role: Role) -> Option<Network<'a>> {
        self.networks().find(|n| n.role == role)
    }

    /// The networks in file order.
    pub fn networks(&self) -> impl Iterator<Item = Network<'a>> + 'a {
        let layers = self.layers;
        let mut start = 0usize;
        self.networks
            .chunks_exact(NETWORK_RECORD)
            .filter_map(move |r| {
                let role = Role::from_code(u32_at(r, 0)?)?;
                let n = (u32_at(r, 4)? as usize).checked_mul(LAYER_RECORD)?;
                let end = start.checked_add(n)?;
                let net = Network {
                    role,
                    layers: layers.get(start..end)?,
                };
                start = end;
                Some(net)
            })
    }

    /// The target net's layers (hyper families; empty otherwise).
    pub fn target_layers(&self) -> impl Iterator<Item = TargetLayer> + 'a {
        self.target
            .chunks_exact(TARGET_RECORD)
            .filter_map(decode_target)
    }

    /// Number of target-net layers.
    pub fn target_layer_count(&self) -> usize {
        self.target.len() / TARGET_RECORD
    }

    /// The workspace length (f32 count) the exporter recorded for `batch`, if any.
    /// Not checked by the format (the runtime owns the formula).
    pub fn workspace_len(&self, batch: u32) -> Option<u64> {
        self.workspace_records()
            .find(|&(b, _)| b == batch)
            .map(|(_, l)| l)
    }

    /// All recorded `(batch, workspace f32 count)` pairs, by increasing batch.
    pub fn workspace_records(&self) -> impl Iterator<Item = (u32, u64)> + 'a {
        self.workspace
            .chunks_exact(WORKSPACE_RECORD)
            .filter_map(|r| Some((u32_at(r, 0)?, u64_at(r, 8)?)))
    }

    /// Parses and validates the section on its own (everything except tensor references).
    pub(crate) fn parse(sec: &'a [u8]) -> Result<Self, FormatError> {
        let s = Section::Architecture;
        let len = sec.len() as u64;
        let short = |needed: u64| FormatError::SectionLength {
            section: s,
            expected: needed,
            found: len,
        };
        let fixed_len = fixed_len(sec, s, ARCH_FIXED)?;
        let f = |off: usize| u32_at(sec, off).unwrap_or(0);
        if f(A_RESERVED) != 0 {
            return Err(FormatError::ReservedNonZero {
                section: s,
                offset: A_RESERVED as u64,
            });
        }
        let code = f(A_FAMILY);
        let family = Family::from_code(code).ok_or(FormatError::UnknownFamily { code })?;
        let cap = |cap: Cap, limit: u32, found: u32| {
            check_cap(cap, limit as u64, found as u64).map(|()| found as usize)
        };
        let nn = cap(Cap::Networks, MAX_NETWORKS, f(A_NETWORK_COUNT))?;
        let nt = cap(Cap::TargetLayers, MAX_TARGET_LAYERS, f(A_TARGET_COUNT))?;
        let nw = cap(
            Cap::WorkspaceRecords,
            MAX_WORKSPACE_RECORDS,
            f(A_WORKSPACE_COUNT),
        )?;

        // Record tables, in order; all sizes are small (caps), no overflow possible in usize.
        let net_start = fixed_len;
        let net_end = net_start + nn * NETWORK_RECORD;
        let networks = sec.get(net_start..net_end).ok_or(short(net_end as u64))?;
        let mut total_layers = 0usize;
        for r in networks.chunks_exact(NETWORK_RECORD) {
            let code = u32_at(r, 0).unwrap_or(0);
            let role = Role::from_code(code).ok_or(FormatError::UnknownRole { code })?;
            let n = cap(Cap::LayersPerNetwork, MAX_LAYERS, u32_at(r, 4).unwrap_or(0))?;
            if n == 0 {
                return Err(FormatError::DimMismatch {
                    net: Net::Role(role),
                    layer: 0,
                    what: "layer count (at least 1)",
                    expected: 1,
                    found: 0,
                });
            }
            total_layers += n;
        }
        let layers_end = net_end + total_layers * LAYER_RECORD;
        let target_end = layers_end + nt * TARGET_RECORD;
        let ws_end = target_end + nw * WORKSPACE_RECORD;
        if ws_end as u64 != len {
            return Err(short(ws_end as u64));
        }
        let arch = Architecture {
            family,
            n_sensors: f(A_N_SENSORS),
            d_y: f(A_D_Y),
            d_out: f(A_D_OUT),
            p: f(A_P),
            theta_layout: f(A_THETA_LAYOUT),
            n_theta: f(A_N_THETA),
            n_chunks: f(A_N_CHUNKS),
            chunk_size: f(A_CHUNK_SIZE),
            d_z: f(A_D_Z),
            chunk_embeddings: match f(A_CHUNK_EMBEDDINGS) {
                NO_TENSOR => None,
                i => Some(i),
            },
            networks,
            layers: &sec[net_end..layers_end],
            target: &sec[layers_end..target_end],
            workspace: &sec[target_end..ws_end],
        };
        arch.check_codes()?;
        arch.check_family()?;
        arch.check_networks()?;
        arch.check_target()?;
        arch.check_workspace(target_end)?;
        Ok(arch)
    }

    /// Every activation code known (the iterators skip unknown ones, so check the raw records).
    fn check_codes(&self) -> Result<(), FormatError> {
        let mut start = 0usize;
        for r in self.networks.chunks_exact(NETWORK_RECORD) {
            let role = Role::from_code(u32_at(r, 0).unwrap_or(0)).unwrap_or(Role::Branch);
            let n = u32_at(r, 4).unwrap_or(0) as usize;
            for i in 0..n {
                let rec = start + i * LAYER_RECORD;
                let code = u32_at(self.layers, rec + 8).unwrap_or(u32::MAX);
                if Activation::from_code(code, 0.0).is_none() {
                    return Err(FormatError::UnknownActivation {
                        net: Net::Role(role),
                        layer: i as u32,
                        code,
                    });
                }
            }
            start += n * LAYER_RECORD;
        }
        for (i, r) in self.target.chunks_exact(TARGET_RECORD).enumerate() {
            let code = u32_at(r, 8).unwrap_or(u32::MAX);
            if Activation::from_code(code, 0.0).is_none() {
                return Err(FormatError::UnknownActivation {
                    net: Net::Target,
                    layer: i as u32,
                    code,
                });
            }
        }
        Ok(())
    }

    fn check_family(&self) -> Result<(), FormatError> {
        let family = self.family;
        let need = |field: &'static str, requirement: &'static str, ok: bool, found: u32| {
            if ok {
                Ok(())
            } else {
                Err(FormatError::FamilyField {
                    family,
                    field,
                    requirement,
                    found: found as u64,
                })
            }
        };
        if self.theta_layout != THETA_LAYOUT_ROWS && self.theta_layout != THETA_LAYOUT_FOLDED {
            return Err(FormatError::ThetaLayout {
                found: self.theta_layout,
            });
        }
        need(
            "theta_layout",
            "1 (layout 2 is for hyper only)",
            self.theta_layout == THETA_LAYOUT_ROWS || family == Family::HyperDeepONet,
            self.theta_layout,
        )?;
        need("n_sensors", ">= 1", self.n_sensors >= 1, self.n_sensors)?;
        need("d_y", ">= 1", self.d_y >= 1, self.d_y)?;
        need("d_out", ">= 1", self.d_out >= 1, self.d_out)?;
        let ce = self.chunk_embeddings.unwrap_or(NO_TENSOR);
        if family.is_hyper() {
            need("p", "0", self.p == 0, self.p)?;
            need("n_theta", ">= 1", self.n_theta >= 1, self.n_theta)?;
        } else {
            need("p", ">= 1", self.p >= 1, self.p)?;
            need("n_theta", "0", self.n_theta == 0, self.n_theta)?;
            let nt = self.target_layer_count() as u32;
            need("target layer count", "0", nt == 0, nt)?;
        }
        if family == Family::ChunkedHyperDeepONet {
            need("n_chunks", ">= 1", self.n_chunks >= 1, self.n_chunks)?;
            need("chunk_size", ">= 1", self.chunk_size >= 1, self.chunk_size)?;
            need("d_z", ">= 1", self.d_z >= 1, self.d_z)?;
            need("chunk_embeddings", "a tensor index", ce != NO_TENSOR, ce)?;
            let cover = self.n_chunks as u64 * self.chunk_size as u64;
            if cover < self.n_theta as u64 {
                return Err(FormatError::ChunksTooSmall {
                    n_chunks: self.n_chunks,
                    chunk_size: self.chunk_size,
                    n_theta: self.n_theta,
                });
            }
        } else {
            need("n_chunks", "0", self.n_chunks == 0, self.n_chunks)?;
            need("chunk_size", "0", self.chunk_size == 0, self.chunk_size)?;
            need("d_z", "0", self.d_z == 0, self.d_z)?;
            need("chunk_embeddings", "none (0xFFFFFFFF)", ce == NO_TENSOR, ce)?;
        }
        Ok(())
    }

    /// The (first n_in, last n_out) a network of `role` must have in this family.
    fn expected_io(&self, role: Role) -> (u64, u64) {
        let m = self.n_sensors as u64;
        let p = self.p as u64;
        let (d_y, d_out) = (self.d_y as u64, self.d_out as u64);
        match role {
            Role::Branch if self.family == Family::Nomad => (m, p),
            Role::Branch => (m, d_out * (p + 1)),
            Role::Trunk => (d_y, p),
            Role::Scale | Role::Shift => (m, d_y),
            Role::Pre => {
                let n1 = self
                    .network(Role::Trunk)
                    .and_then(|t| t.layer(0))
                    .map_or(0, |l| l.n_out);
                (m, n1 as u64)
            }
            Role::Decoder => (p + d_y, d_out),
            Role::Hyper if self.family == Family::ChunkedHyperDeepONet => {
                (m + self.d_z as u64, self.chunk_size as u64)
            }
            Role::Hyper => (m, self.n_theta as u64),
        }
    }

    fn check_networks(&self) -> Result<(), FormatError> {
        let family = self.family;
        let mut seen = [false; 7];
        for net in self.networks() {
            let role = net.role;
            if !family.roles().contains(&role) {
                return Err(FormatError::UnexpectedNetwork { role, family });
            }
            let k = role.code() as usize;
            if seen[k] {
                return Err(FormatError::DuplicateNetwork { role });
            }
            seen[k] = true;
        }
        for &role in family.roles() {
            if !seen[role.code() as usize] {
                return Err(FormatError::MissingNetwork { role, family });
            }
        }
        for net in self.networks() {
            let role = net.role;
            let (first_in, last_out) = self.expected_io(role);
            let count = net.layer_count();
            let mut prev_out = first_in;
            for (i, l) in net.layers().enumerate() {
                let dim = |what, expected: u64, found: u32| {
                    if expected == found as u64 {
                        Ok(())
                    } else {
                        Err(FormatError::DimMismatch {
                            net: Net::Role(role),
                            layer: i as u32,
                            what,
                            expected,
                            found: found as u64,
                        })
                    }
                };
                let what_in = if i == 0 {
                    "n_in (network input)"
                } else {
                    "n_in (previous layer's n_out)"
                };
                dim(what_in, prev_out, l.n_in)?;
                if l.n_out == 0 {
                    return Err(FormatError::DimMismatch {
                        net: Net::Role(role),
                        layer: i as u32,
                        what: "n_out (at least 1)",
                        expected: 1,
                        found: 0,
                    });
                }
                if i + 1 == count {
                    dim("n_out (network output)", last_out, l.n_out)?;
                }
                if role.is_target_side() && l.bias.is_some() {
                    return Err(FormatError::UnexpectedBias {
                        role,
                        layer: i as u32,
                    });
                }
                prev_out = l.n_out as u64;
            }
        }
        Ok(())
    }

    fn check_target(&self) -> Result<(), FormatError> {
        if !self.family.is_hyper() {
            return Ok(());
        }
        let count = self.target_layer_count();
        let dim = |layer: usize, what, expected: u64, found: u64| {
            if expected == found {
                Ok(())
            } else {
                Err(FormatError::DimMismatch {
                    net: Net::Target,
                    layer: layer as u32,
                    what,
                    expected,
                    found,
                })
            }
        };
        dim(0, "layer count (at least 1)", 1, count.min(1) as u64)?;
        let mut prev_out = self.d_y as u64;
        let mut theta: u64 = 0;
        for (i, l) in self.target_layers().enumerate() {
            let what_in = if i == 0 {
                "n_in (d_y)"
            } else {
                "n_in (previous layer's n_out)"
            };
            dim(i, what_in, prev_out, l.n_in as u64)?;
            dim(i, "n_out (at least 1)", 1, (l.n_out as u64).min(1))?;
            if i + 1 == count {
                dim(i, "n_out (d_out)", self.d_out as u64, l.n_out as u64)?;
            }
            // n_out, n_in < 2^32: each term < 2^64 / 2^1, and at most 16 terms: saturate.
            theta = theta.saturating_add((l.n_out as u64).saturating_mul(l.n_in as u64 + 1));
            prev_out = l.n_out as u64;
        }
        if theta != self.n_theta as u64 {
            return Err(FormatError::ThetaCount {
                expected: theta,
                found: self.n_theta as u64,
            });
        }
        Ok(())
    }

    /// `start`: offset of the workspace records in the section (for messages).
    fn check_workspace(&self, start: usize) -> Result<(), FormatError> {
        let mut previous = 0u32;
        for (i, r) in self.workspace.chunks_exact(WORKSPACE_RECORD).enumerate() {
            let batch = u32_at(r, 0).unwrap_or(0);
            if u32_at(r, 4) != Some(0) {
                let offset = (start + i * WORKSPACE_RECORD + 4) as u64;
                return Err(FormatError::ReservedNonZero {
                    section: Section::Architecture,
                    offset,
                });
            }
            if batch <= previous {
                return Err(FormatError::WorkspaceOrder {
                    index: i as u32,
                    batch,
                    previous,
                });
            }
            previous = batch;
        }
        Ok(())
    }

    /// Cross-checks every tensor reference against the tensor table.
    pub(crate) fn check_tensors(&self, tensors: &TensorTable<'a>) -> Result<(), FormatError> {
        let count = tensors.count();
        let lookup = |field, net: Net, layer: usize, index: u32| {
            tensors.get(index).ok_or(FormatError::TensorIndex {
                field,
                net,
                layer: layer as u32,
                index,
                count,
            })
        };
        let shape_is = |index: u32, dims: &[u64], found: &[u32]| {
            let same =
                dims.len() == found.len() && dims.iter().zip(found).all(|(&e, &f)| e == f as u64);
            if same {
                Ok(())
            } else {
                let mut e = [0u32; 4];
                for (k, &d) in dims.iter().take(4).enumerate() {
                    e[k] = u32::try_from(d).unwrap_or(u32::MAX);
                }
                Err(FormatError::ShapeMismatch {
                    tensor: tensors.name_of(index),
                    expected: Shape::new(&e[..dims.len().min(4)]),
                    found: Shape::new(found),
                })
            }
        };
        let dtype_is = |index: u32, expected: DType, found: DType| {
            if expected == found {
                Ok(())
            } else {
                Err(FormatError::DTypeMismatch {
                    tensor: tensors.name_of(index),
                    expected,
                    found,
                })
            }
        };
        for net in self.networks() {
            let n = Net::Role(net.role);
            for (i, l) in net.layers().enumerate() {
                let w = lookup("weight", n, i, l.weight)?;
                if net.role.is_target_side() {
                    shape_is(l.weight, &[l.n_out as u64, l.n_in as u64 + 1], w.shape)?;
                    dtype_is(l.weight, DType::F32, w.dtype())?;
                } else {
                    shape_is(l.weight, &[l.n_out as u64, l.n_in as u64], w.shape)?;
                }
                if let Some(bi) = l.bias {
                    let b = lookup("bias", n, i, bi)?;
                    shape_is(bi, &[l.n_out as u64], b.shape)?;
                    dtype_is(bi, DType::F32, b.dtype())?;
                }
            }
        }
        if let Some(ci) = self.chunk_embeddings {
            let c = lookup("chunk_embeddings", Net::Target, 0, ci)?;
            shape_is(ci, &[self.n_chunks as u64, self.d_z as u64], c.shape)?;
            dtype_is(ci, DType::F32, c.dtype())?;
        }
        Ok(())
    }
}
