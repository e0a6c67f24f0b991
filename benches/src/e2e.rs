//! The end-to-end phases of one workload on hdon's runtime, shared by the criterion benches
//! (`benches/e2e.rs`) and the timing binary of `run.sh` (`src/bin/e2e.rs`).
//!
//! - generate: sensors -> theta (hyper) / branch coefficients, once per input function;
//! - eval: the target net at the workload's query points, for every input function;
//! - total: generate + eval.
//!
//! One function: `Model::generate` then `Target::eval` (1 thread), or `Model::generate_par`
//! then `Target::eval_par` (N threads, the caller's rayon pool; both bit-identical to the
//! serial calls). A batch of functions (workload B): `Model::generate_batch` (rayon, one
//! workspace for the batch), then each function's `Target::eval` in turn (1 thread) or
//! `TargetBatch::eval_all_par` (N threads: whole functions per thread). A runner given a
//! [`Team`] ([`Runner::on_team`]) calls the `_on` twins on its threads instead of the rayon
//! pool's (`generate_on`, `eval_on`, `generate_batch_on`, `eval_all_on`: the same bits).

use std::time::Instant;

use hdon_runtime::{Model, Target, TargetBatch, Team};

use crate::model::model_bytes;
use crate::workload::{WeightType, Workload};

/// One timed phase.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Sensors to theta (or branch coefficients) for every input function of the batch.
    Generate,
    /// The target net at every query point, for every input function (theta already generated).
    Eval,
    /// Generate then eval.
    Total,
}

impl Phase {
    /// The three phases in table order.
    pub const ALL: [Phase; 3] = [Phase::Generate, Phase::Eval, Phase::Total];

    /// `generate`, `eval` or `total`.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Generate => "generate",
            Phase::Eval => "eval",
            Phase::Total => "total",
        }
    }
}

/// A model file's bytes in a 64-byte aligned buffer (as an mmap'd file would be), so tensors
/// can be viewed in place.
pub struct ModelBuf {
    blocks: Vec<Block>,
    len: usize,
}

#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(C, align(64))]
struct Block([u8; 64]);

impl ModelBuf {
    /// Copies `bytes` into a fresh 64-byte aligned buffer.
    pub fn new(bytes: &[u8]) -> Self {
        let mut blocks = vec![Block([0; 64]); bytes.len().div_ceil(64)];
        for (block, chunk) in blocks.iter_mut().zip(bytes.chunks(64)) {
            block.0[..chunk.len()].copy_from_slice(chunk);
        }
        ModelBuf {
            blocks,
            len: bytes.len(),
        }
    }

    /// Builds the workload's model file (see [`crate::model`]) into an aligned buffer.
    ///
    /// # Errors
    /// The message of [`model_bytes`].
    pub fn for_workload(w: &Workload, weights: WeightType) -> Result<Self, String> {
        Ok(ModelBuf::new(&model_bytes(w, weights)?))
    }

    /// The file's bytes.
    pub fn bytes(&self) -> &[u8] {
        let all: &[u8] = bytemuck::cast_slice(&self.blocks[..]);
        &all[..self.len]
    }
}

/// A workload's model opened on hdon's runtime.
pub struct Runner<'a> {
    w: &'a Workload,
    model: Model<'a>,
    team: Option<&'a Team>,
}

/// The workspace (`workspace_len(batch)` f32) and the output `[batch, n_points, d_out]`.
pub struct State {
    /// The runtime's workspace for the whole batch.
    pub workspace: Vec<f32>,
    /// Outputs of the last eval/total, `[batch, n_points, d_out]` row-major.
    pub out: Vec<f32>,
}

/// What generate produced: one target, or a batch of them (workload B).
// Lives on the stack for one timed call; boxing `Target` would add a heap allocation to every
// timed generate.
#[allow(clippy::large_enum_variant)]
pub enum Generated<'w> {
    /// `Model::generate` of one input function.
    One(Target<'w>),
    /// `Model::generate_batch` of several.
    Batch(TargetBatch<'w>),
}

impl<'a> Runner<'a> {
    /// Opens `buf` (the model file of `w`) with `Model::from_bytes` (checksums verified).
    ///
    /// # Errors
    /// The runtime's error, as text.
    pub fn new(w: &'a Workload, buf: &'a ModelBuf) -> Result<Self, String> {
        let model = Model::from_bytes(buf.bytes())
            .map_err(|e| format!("{}: Model::from_bytes: {e}", w.spec.name))?;
        Ok(Runner {
            w,
            model,
            team: None,
        })
    }

    /// Runs the multi-threaded phases (`threads > 1`) on `team`'s threads instead of the
    /// caller's rayon pool.
    pub fn on_team(mut self, team: &'a Team) -> Self {
        self.team = Some(team);
        self
    }

    /// The workload.
    pub fn workload(&self) -> &'a Workload {
        self.w
    }

    /// The opened model.
    pub fn model(&self) -> &Model<'a> {
        &self.model
    }

    /// Whether the workload's target net runs on AMX tiles here (`hdon_kernels::mlp_uses_amx`
    /// of the first function's target).
    pub fn uses_amx(&self) -> bool {
        let mut st = self.state();
        match self.generate(&mut st.workspace, 1) {
            Ok(Generated::One(t)) => hdon_kernels::mlp_uses_amx(t.layers()),
            Ok(Generated::Batch(mut b)) => b
                .target(0)
                .is_ok_and(|t| hdon_kernels::mlp_uses_amx(t.layers())),
            Err(_) => false,
        }
    }

    /// Fresh buffers for the phases.
    pub fn state(&self) -> State {
        let s = &self.w.spec;
        State {
            workspace: vec![0.0; self.model.workspace_len(s.batch)],
            out: vec![0.0; s.batch * s.n_points * s.d_out],
        }
    }

    /// Flops of one run of `phase` over the whole batch (2 per multiply-add + bias adds).
    pub fn flops(&self, phase: Phase) -> u64 {
        let s = &self.w.spec;
        let gen = s.batch as u64 * s.flops_generate();
        let eval = (s.batch * s.n_points) as u64 * s.flops_per_point();
        match phase {
            Phase::Generate => gen,
            Phase::Eval => eval,
            Phase::Total => gen + eval,
        }
    }

    /// Generates every input function's target: for one function `Model::generate` (1
    /// thread) or `Model::generate_par` (more: the caller's rayon pool), for a batch
    /// `Model::generate_batch` (the caller's rayon pool); on a team ([`Runner::on_team`],
    /// `threads > 1`) `generate_on` and `generate_batch_on`.
    ///
    /// # Errors
    /// The runtime's error, as text.
    pub fn generate<'s>(
        &'s self,
        workspace: &'s mut [f32],
        threads: usize,
    ) -> Result<Generated<'s>, String> {
        let sensors = &self.w.sensors[..];
        let team = self.team.filter(|_| threads > 1);
        if let Some(team) = team {
            if self.w.spec.batch == 1 {
                self.model
                    .generate_on(team, sensors, workspace)
                    .map(Generated::One)
            } else {
                self.model
                    .generate_batch_on(team, sensors, workspace)
                    .map(Generated::Batch)
            }
        } else if self.w.spec.batch == 1 && threads > 1 {
            self.model
                .generate_par(sensors, workspace)
                .map(Generated::One)
        } else if self.w.spec.batch == 1 {
            self.model.generate(sensors, workspace).map(Generated::One)
        } else {
            self.model
                .generate_batch(sensors, workspace)
                .map(Generated::Batch)
        }
        .map_err(|e| format!("{}: generate: {e}", self.w.spec.name))
    }

    /// Evaluates every target at the workload's points into `out` (`[batch, n_points, d_out]`):
    /// `Target::eval` on 1 thread; on more (the caller's rayon pool) `Target::eval_par`, or
    /// for a batch `TargetBatch::eval_all_par`; on a team `eval_on` and `eval_all_on`.
    ///
    /// # Errors
    /// The runtime's error, as text.
    pub fn eval(
        &self,
        g: &mut Generated<'_>,
        out: &mut [f32],
        threads: usize,
    ) -> Result<(), String> {
        let s = &self.w.spec;
        let points = &self.w.points[..];
        let team = self.team.filter(|_| threads > 1);
        let run = |t: &mut Target<'_>, o: &mut [f32]| match team {
            Some(team) => t.eval_on(team, points, o),
            None if threads > 1 => t.eval_par(points, o),
            None => t.eval(points, o),
        };
        match g {
            Generated::One(t) => run(t, out),
            Generated::Batch(b) if threads > 1 => match team {
                Some(team) => b.eval_all_on(team, points, out),
                None => b.eval_all_par(points, out),
            },
            Generated::Batch(b) => out
                .chunks_mut(s.n_points * s.d_out)
                .enumerate()
                .try_for_each(|(i, o)| run(&mut b.target(i)?, o)),
        }
        .map_err(|e| format!("{}: eval: {e}", s.name))
    }

    /// Median wall time (us) of `phase` and the number of timed runs, measured with
    /// [`median_us`] (inside the caller's rayon pool for `threads > 1`); leaves the outputs in
    /// `state.out`.
    ///
    /// # Errors
    /// The runtime's error, as text.
    pub fn time(
        &self,
        phase: Phase,
        threads: usize,
        budget_s: f64,
        state: &mut State,
    ) -> Result<(f64, usize), String> {
        let State { workspace, out } = state;
        match phase {
            Phase::Generate => median_us(budget_s, || self.generate(workspace, threads).map(drop)),
            Phase::Eval => {
                let mut g = self.generate(workspace, threads)?;
                median_us(budget_s, || self.eval(&mut g, out, threads))
            }
            Phase::Total => median_us(budget_s, || {
                let mut g = self.generate(workspace, threads)?;
                self.eval(&mut g, out, threads)
            }),
        }
    }
}

/// Median wall time in microseconds of `run` and the number of timed calls: one warm-up call,
/// then calls until `budget_s` seconds of measured time (at least 5, at most 2000). The same
/// rule as `benches/peers/peers.py` and the tract peer.
///
/// # Errors
/// The first error `run` returns.
pub fn median_us(
    budget_s: f64,
    mut run: impl FnMut() -> Result<(), String>,
) -> Result<(f64, usize), String> {
    run()?;
    let (mut times, mut spent) = (Vec::new(), 0.0);
    while times.len() < 5 || (spent < budget_s && times.len() < 2000) {
        let t0 = Instant::now();
        run()?;
        let dt = t0.elapsed().as_secs_f64();
        times.push(dt);
        spent += dt;
    }
    times.sort_by(f64::total_cmp);
    let n = times.len();
    let median = if n % 2 == 1 {
        times[n / 2]
    } else {
        0.5 * (times[n / 2 - 1] + times[n / 2])
    };
    Ok((median * 1e6, n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::spec;

    /// A runner on a team runs the `_on` calls, whose results are the serial calls' bits: the
    /// `hdon-team` rows of `run.sh` compare the same outputs. One function (`burgers-hyper`)
    /// and a batch (`B`, 64 functions).
    #[test]
    fn team_runner_gives_the_serial_bits() {
        let team = Team::new(2, std::time::Duration::from_micros(200)).expect("team");
        for name in ["burgers-hyper", "B"] {
            let w = spec(name).expect("workload").build();
            let buf = ModelBuf::for_workload(&w, WeightType::F32).expect("model");
            let serial = Runner::new(&w, &buf).expect("open");
            let on_team = Runner::new(&w, &buf).expect("open").on_team(&team);
            let (mut a, mut b) = (serial.state(), on_team.state());
            serial.time(Phase::Total, 1, 0.0, &mut a).expect("serial");
            on_team.time(Phase::Total, 2, 0.0, &mut b).expect("team");
            assert!(
                a.out.iter().any(|&v| v != 0.0),
                "{name}: outputs are all zero"
            );
            let same = a
                .out
                .iter()
                .zip(&b.out)
                .all(|(x, y)| x.to_bits() == y.to_bits());
            assert!(
                same,
                "{name}: the team's outputs differ from the serial ones"
            );
        }
    }
}
