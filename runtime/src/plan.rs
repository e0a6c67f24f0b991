//! The workspace plan: where every f32 of the caller's workspace goes, per family.
//!
//! One input function uses `per_function` f32, laid out as
//!
//! ```text
//! [ state (kept after generate, read by eval) | scratch ]
//! scratch = max(generate scratch, eval tile scratch)     (never live at the same time)
//! ```
//!
//! State per family (`F` = folded copy of the first target layer, `[n_1, d_y + 1]`):
//!
//! | family | state |
//! |---|---|
//! | deeponet, shift, flex | `F`, then `C` = branch output = combination block `[d_out, p + 1]` (output de-normalization folded in) |
//! | nomad | `F` (bias = `b_1 + W_beta beta(u)`, point normalization folded in), then `L` = folded copy of the last decoder layer (if the decoder has more than one layer) |
//! | hyper, chunked_hyper | `theta` `[n_theta]` in kernel layout, normalization folded into its first and last layer in place |
//!
//! Generate scratch, carved in this order (lengths may be 0): `u` normalized sensors `[m]`;
//! `ping`, `pong` hidden activations `[rows * widest hidden]` (rows = 1, or n_chunks for
//! chunked); `aux_a`, `aux_b` (shift: `s(u)`, `c(u)` `[d_y]`; flex: `pre(u)` `[n_1]`; nomad:
//! `beta(u)` `[p]`); chunked only: `h0` first hypernet layer `[n_chunks, h_1]`, `stage` the
//! chunks in paper order `[n_chunks, chunk_size]`, `wu` = `W_u u` `[h_1]`, `tmp` `[n_chunks]`.
//!
//! `workspace_len(batch) = batch * per_function`: a batch is `batch` independent copies, so
//! `generate_batch` can run the very same serial code on each (bit-identical by construction;
//! HyperDeepONet runs groups of functions through `gemv_batch` or, f32, `gemm` with the
//! functions in lanes: see `Model::generate_batch`).

use hdon_format::{Architecture, Family, Role};
use hdon_kernels::{
    fold_tanh_acts, mlp_scratch_len, Activation as KAct, Layer as KLayer, MAX_LAYERS, MAX_WIDTH,
};

use crate::Error;

/// Most layers of one generate-side network this runtime handles (the format's cap).
pub(crate) const MAX_NET_LAYERS: usize = 16;

/// Where a target layer's packed parameter block lives at eval time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Src {
    /// In the file (static trunk/decoder layer `index` of the target-side network).
    File(usize),
    /// In the state region of the workspace at this f32 offset.
    State(usize),
}

/// One layer of the target MLP as eval runs it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TargetSlot {
    pub n_in: usize,
    pub n_out: usize,
    pub act: KAct,
    pub src: Src,
}

impl TargetSlot {
    const EMPTY: TargetSlot = TargetSlot {
        n_in: 0,
        n_out: 0,
        act: KAct::Identity,
        src: Src::State(0),
    };
    pub fn block_len(&self) -> usize {
        self.n_out * (self.n_in + 1)
    }
}

/// Lengths (f32) of the generate scratch buffers, carved in field order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct GenScratch {
    pub u: usize,
    pub ping: usize,
    pub pong: usize,
    pub aux_a: usize,
    pub aux_b: usize,
    pub h0: usize,
    pub stage: usize,
    pub xcat: usize,
}

impl GenScratch {
    fn total(&self) -> Option<usize> {
        [
            self.u, self.ping, self.pong, self.aux_a, self.aux_b, self.h0, self.stage, self.xcat,
        ]
        .iter()
        .try_fold(0usize, |a, &b| a.checked_add(b))
    }
}

/// The workspace plan of one model (see the module docs).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Plan {
    pub family: Family,
    pub m: usize,
    pub d_y: usize,
    pub d_out: usize,
    pub p: usize,
    pub n_chunks: usize,
    pub chunk_size: usize,
    pub d_z: usize,
    pub n_theta: usize,
    /// Theta layout 2: the hypernetwork's output already carries the normalization and
    /// folded-tanh rewrites, so the generate skips [`crate::Model`]'s theta fold.
    pub theta_folded: bool,
    /// Target layers as eval runs them.
    pub target: [TargetSlot; MAX_LAYERS],
    pub n_target: usize,
    /// f32 count of the state region.
    pub state_len: usize,
    pub gen: GenScratch,
    /// `max(gen total, eval tile scratch)`.
    pub scratch_len: usize,
    /// `state_len + scratch_len`.
    pub per_function: usize,
}

/// Maps the file's activation to the kernels' (same enum, same codes).
pub(crate) fn kernel_activation(a: hdon_format::Activation) -> KAct {
    use hdon_format::Activation as F;
    match a {
        F::Identity => KAct::Identity,
        F::Relu => KAct::Relu,
        F::Prelu(s) => KAct::Prelu(s),
        F::Tanh => KAct::Tanh,
        F::Sigmoid => KAct::Sigmoid,
        F::Sin => KAct::Sin,
        F::Gelu => KAct::Gelu,
        F::Silu => KAct::Silu,
        F::Softplus => KAct::Softplus,
    }
}

fn u(x: u32) -> usize {
    x as usize
}

/// Largest output width among the hidden (non-last) layers of a generate-side network.
fn widest_hidden(arch: &Architecture<'_>, role: Role) -> usize {
    match arch.network(role) {
        Some(net) => {
            let n = net.layer_count();
            net.layers()
                .take(n.saturating_sub(1))
                .map(|l| u(l.n_out))
                .max()
                .unwrap_or(0)
        }
        None => 0,
    }
}

fn net_len(arch: &Architecture<'_>, role: Role) -> Result<usize, Error> {
    let n = arch
        .network(role)
        .map(|net| net.layer_count())
        .ok_or(Error::Tensor {
            what: role.name(),
            layer: 0,
            problem: "network missing from the architecture",
        })?;
    if n == 0 || n > MAX_NET_LAYERS {
        return Err(Error::Unsupported {
            what: "layers per generate-side network",
            found: n,
            max: MAX_NET_LAYERS,
        });
    }
    Ok(n)
}

fn overflow() -> Error {
    Error::Unsupported {
        what: "workspace size (overflows usize)",
        found: usize::MAX,
        max: usize::MAX,
    }
}

fn mul(a: usize, b: usize) -> Result<usize, Error> {
    a.checked_mul(b).ok_or_else(overflow)
}

fn add(a: usize, b: usize) -> Result<usize, Error> {
    a.checked_add(b).ok_or_else(overflow)
}

impl Plan {
    /// Computes the plan from the architecture alone (no tensor data needed), so `hdon export`
    /// can ask for workspace lengths before the file exists.
    pub fn new(arch: &Architecture<'_>) -> Result<Plan, Error> {
        let family = arch.family;
        let m = u(arch.n_sensors);
        let d_y = u(arch.d_y);
        let d_out = u(arch.d_out);
        let p = u(arch.p);
        for (what, v) in [("sensor count m", m), ("d_y", d_y), ("d_out", d_out)] {
            if v == 0 {
                return Err(Error::Unsupported {
                    what,
                    found: 0,
                    max: 0,
                });
            }
        }
        let mut plan = Plan {
            family,
            m,
            d_y,
            d_out,
            p,
            n_chunks: u(arch.n_chunks),
            chunk_size: u(arch.chunk_size),
            d_z: u(arch.d_z),
            n_theta: u(arch.n_theta),
            theta_folded: arch.theta_layout == hdon_format::THETA_LAYOUT_FOLDED,
            target: [TargetSlot::EMPTY; MAX_LAYERS],
            n_target: 0,
            state_len: 0,
            gen: GenScratch::default(),
            scratch_len: 0,
            per_function: 0,
        };
        let mut gen = GenScratch {
            u: m,
            ..GenScratch::default()
        };
        let push = |plan: &mut Plan, slot: TargetSlot| -> Result<(), Error> {
            let found = plan.n_target + 1;
            let entry = plan
                .target
                .get_mut(plan.n_target)
                .ok_or(Error::Unsupported {
                    what: "target layers (including the combination layer)",
                    found,
                    max: MAX_LAYERS,
                })?;
            *entry = slot;
            plan.n_target = found;
            Ok(())
        };
        match family {
            Family::DeepONet | Family::ShiftDeepONet | Family::FlexDeepONet => {
                net_len(arch, Role::Branch)?;
                let trunk_len = net_len(arch, Role::Trunk)?;
                let trunk = arch.network(Role::Trunk).ok_or_else(overflow)?;
                let mut first_len = 0;
                for (i, l) in trunk.layers().enumerate() {
                    let src = if i == 0 { Src::State(0) } else { Src::File(i) };
                    let slot = TargetSlot {
                        n_in: u(l.n_in),
                        n_out: u(l.n_out),
                        act: kernel_activation(l.activation),
                        src,
                    };
                    if i == 0 {
                        first_len = slot.block_len();
                    }
                    push(&mut plan, slot)?;
                }
                let _ = trunk_len;
                let comb = TargetSlot {
                    n_in: p,
                    n_out: d_out,
                    act: KAct::Identity,
                    src: Src::State(first_len),
                };
                push(&mut plan, comb)?;
                plan.state_len = add(first_len, comb.block_len())?;
                let mut hidden = widest_hidden(arch, Role::Branch);
                if family == Family::ShiftDeepONet {
                    net_len(arch, Role::Scale)?;
                    net_len(arch, Role::Shift)?;
                    hidden = hidden
                        .max(widest_hidden(arch, Role::Scale))
                        .max(widest_hidden(arch, Role::Shift));
                    gen.aux_a = d_y;
                    gen.aux_b = d_y;
                }
                if family == Family::FlexDeepONet {
                    net_len(arch, Role::Pre)?;
                    hidden = hidden.max(widest_hidden(arch, Role::Pre));
                    gen.aux_a = plan.target[0].n_out;
                }
                gen.ping = hidden;
                gen.pong = hidden;
            }
            Family::Nomad => {
                net_len(arch, Role::Branch)?;
                let n_dec = net_len(arch, Role::Decoder)?;
                let dec = arch.network(Role::Decoder).ok_or_else(overflow)?;
                let mut off = 0usize;
                for (i, l) in dec.layers().enumerate() {
                    let n_in = if i == 0 { d_y } else { u(l.n_in) };
                    let mut slot = TargetSlot {
                        n_in,
                        n_out: u(l.n_out),
                        act: kernel_activation(l.activation),
                        src: Src::File(i),
                    };
                    if i == 0 || i + 1 == n_dec {
                        slot.src = Src::State(off);
                        off = add(off, slot.block_len())?;
                    }
                    push(&mut plan, slot)?;
                }
                plan.state_len = off;
                let hidden = widest_hidden(arch, Role::Branch);
                gen.ping = hidden;
                gen.pong = hidden;
                gen.aux_a = p;
            }
            Family::HyperDeepONet | Family::ChunkedHyperDeepONet => {
                let n_hyper = net_len(arch, Role::Hyper)?;
                let mut off = 0usize;
                for l in arch.target_layers() {
                    let slot = TargetSlot {
                        n_in: u(l.n_in),
                        n_out: u(l.n_out),
                        act: kernel_activation(l.activation),
                        src: Src::State(off),
                    };
                    off = add(off, slot.block_len())?;
                    push(&mut plan, slot)?;
                }
                // Hidden tanh layers run folded (`hdon_kernels::fold_tanh`): the generate
                // rewrites each theta once (theta layout 1; a layout-2 file's hypernetwork
                // emits the rewritten theta), every eval saves two vector operations per tanh.
                let mut acts = [KAct::Identity; MAX_LAYERS];
                for (a, slot) in acts.iter_mut().zip(&plan.target[..plan.n_target]) {
                    *a = slot.act;
                }
                fold_tanh_acts(&mut acts[..plan.n_target]);
                for (slot, a) in plan.target.iter_mut().zip(&acts[..plan.n_target]) {
                    slot.act = *a;
                }
                plan.state_len = off;
                let hidden = widest_hidden(arch, Role::Hyper);
                if family == Family::HyperDeepONet {
                    gen.ping = hidden;
                    gen.pong = hidden;
                } else {
                    let rows = plan.n_chunks;
                    let hyper = arch.network(Role::Hyper).ok_or_else(overflow)?;
                    let h1 = hyper.layers().next().map(|l| u(l.n_out)).unwrap_or(0);
                    // Layers after the first ping-pong over all chunks at once.
                    let hidden_after_first = hyper
                        .layers()
                        .take(n_hyper.saturating_sub(1))
                        .skip(1)
                        .map(|l| u(l.n_out))
                        .max()
                        .unwrap_or(0);
                    gen.ping = mul(rows, hidden_after_first)?;
                    gen.pong = gen.ping;
                    gen.h0 = if n_hyper > 1 { mul(rows, h1)? } else { 0 };
                    gen.stage = mul(rows, plan.chunk_size)?;
                    gen.xcat = mul(rows, add(m, plan.d_z)?)?;
                }
            }
        }
        if plan.n_target == 0 {
            return Err(Error::Tensor {
                what: "target",
                layer: 0,
                problem: "the target net has no layers",
            });
        }
        for slot in &plan.target[..plan.n_target] {
            if slot.n_out > MAX_WIDTH || slot.n_in > hdon_kernels::MAX_IN {
                return Err(Error::Unsupported {
                    what: "target layer width",
                    found: slot.n_out.max(slot.n_in),
                    max: MAX_WIDTH,
                });
            }
        }
        plan.gen = gen;
        let gen_len = gen.total().ok_or_else(overflow)?;
        let eval_len = plan.eval_scratch_len();
        plan.scratch_len = gen_len.max(eval_len);
        plan.per_function = add(plan.state_len, plan.scratch_len)?;
        Ok(plan)
    }

    /// Tile scratch of `mlp_eval` for this target net (independent of the point count).
    pub fn eval_scratch_len(&self) -> usize {
        let mut layers = [KLayer {
            n_in: 0,
            n_out: 0,
            act: KAct::Identity,
            params: &[],
        }; MAX_LAYERS];
        for (dst, slot) in layers.iter_mut().zip(&self.target[..self.n_target]) {
            dst.n_in = slot.n_in;
            dst.n_out = slot.n_out;
            dst.act = slot.act;
        }
        mlp_scratch_len(&layers[..self.n_target])
    }

    /// Exact f32 count of the workspace for `batch` input functions (0 for batch 0).
    pub fn workspace_len(&self, batch: usize) -> Option<usize> {
        self.per_function.checked_mul(batch)
    }
}

/// Exact workspace f32 count for an architecture and batch size: what `hdon export` records in
/// the file and what [`crate::Model::workspace_len`] returns. Returns 0 if the architecture is
/// not one this runtime can run (too many layers, too wide) or the size overflows `usize`;
/// [`crate::Model::from_bytes`] reports the reason for such a file.
pub fn workspace_len_for(arch: &Architecture<'_>, batch: usize) -> usize {
    Plan::new(arch)
        .ok()
        .and_then(|p| p.workspace_len(batch))
        .unwrap_or(0)
}
