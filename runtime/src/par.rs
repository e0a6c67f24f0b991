//! Feature `std`: rayon helpers for services. `eval_par` splits points at multiples of 64 (a
//! multiple of every kernel tile width, `MAX_TILE` = 32), so each point is computed by the same
//! tile code as in a serial `eval`: bit-identical. `generate_batch` runs the serial `generate`
//! code on each function (bit-identical), except for HyperDeepONet, whose hypernetwork runs on
//! groups of functions: through `gemv_batch` (bit-identical to `gemv` per vector) for batches
//! below 4, and in lanes (`gemm`) from 4 functions on: equal to the serial generate to rounding,
//! and the same bits whatever the batch around a function and the thread count.

use std::cell::RefCell;
use std::vec;

use rayon::prelude::*;

use crate::model::Model;
use crate::{Error, Target};

/// Input functions per task of a batched generate (HyperDeepONet), largest first: their
/// hypernetwork runs as one `gemv_batch` per layer (each f32/f16/bf16 weight matrix read once
/// per 16 functions on AVX-512, the kernel's wide block, once per 4 otherwise). The largest
/// group that still gives every rayon thread a task is used.
const GEN_GROUPS: [usize; 5] = [64, 32, 16, 8, 4];

std::thread_local! {
    /// Scratch of the batched generate, one per thread, kept between calls (it grows to the
    /// largest group's activations, 312 KiB for 64 functions of workload B): a fresh buffer per
    /// call cost an allocation and its page faults, ~10 us of a 64-function generate.
    static GROUP_SCRATCH: RefCell<vec::Vec<f32>> = const { RefCell::new(vec::Vec::new()) };
}

/// Smallest batch whose hypernetwork runs in lanes (`gemm`, padded to 16 functions):
/// below it the padding would cost more than the serial `gemv` per function.
const LANES_MIN_BATCH: usize = 4;

/// Points per parallel task are a multiple of this.
const PAR_ALIGN: usize = 64;

/// Generated targets of a batch of input functions, living in one caller workspace
/// (`batch` consecutive blocks of [`Model::workspace_len`]`(1)` f32).
#[derive(Debug)]
pub struct TargetBatch<'w> {
    model: &'w Model<'w>,
    workspace: &'w mut [f32],
    len: usize,
}

impl<'a> Model<'a> {
    /// Runs [`Model::generate`] for `batch = sensors.len() / m` input functions in parallel
    /// (rayon). `sensors`: `[batch, m]` row-major; `workspace`: at least
    /// [`Model::workspace_len`]`(batch)` f32. Other families than HyperDeepONet run the
    /// serial code per function: bit-identical to `generate`.
    ///
    /// HyperDeepONet runs groups of 4-64 functions through the hypernetwork together (64 when
    /// there are at least 64 per rayon thread), with a per-thread scratch buffer kept between
    /// calls; with one rayon thread, or a single group, the work runs on the calling thread.
    /// From 4 functions on, each layer is one `gemm` with the functions in SIMD lanes (B's 64
    /// functions: ~4x faster than 64 `generate`s with f32 weights, see
    /// `docs/PERFORMANCE.md`); f16, bf16 and int8 matrices are widened to f32 96 rows at a time
    /// into the scratch (int8: `scale * q`, without the serial W8A16 rounding of the
    /// activations). Every output is summed in a fixed order (`bias`, then input `0, 1, ...`)
    /// that differs from `gemv`'s, so a function's target equals the serial `generate`'s to
    /// rounding (|difference| <= 1e-5 (1 + |value|) in the tests, 1e-4 for int8), and is the
    /// same bits whatever the batch size, the function's position and the thread count. Below
    /// 4 functions `gemv_batch` is used and every result is bit-identical to `generate`.
    ///
    /// # Errors
    /// As [`Model::generate`]; [`Error::SensorCount`] if `sensors.len()` is not a multiple of
    /// `m`, and [`Error::NonFiniteSensor`] with the index into the whole batch slice.
    pub fn generate_batch<'w>(
        &'w self,
        sensors: &[f32],
        workspace: &'w mut [f32],
    ) -> Result<TargetBatch<'w>, Error>
    where
        'a: 'w,
    {
        let m = self.plan.m;
        if m == 0 || !sensors.len().is_multiple_of(m) {
            return Err(Error::SensorCount {
                expected: m,
                found: sensors.len(),
            });
        }
        let batch = sensors.len() / m;
        let per = self.plan.per_function;
        let needed = self.workspace_len(batch);
        let found = workspace.len();
        let ws = workspace
            .get_mut(..needed)
            .ok_or(Error::WorkspaceTooShort { needed, found })?;
        self.check_sensors(sensors, batch)?;
        if per > 0 && self.batches_generate() {
            let threads = rayon::current_num_threads();
            let lanes = batch >= LANES_MIN_BATCH;
            let group = GEN_GROUPS
                .into_iter()
                .find(|&g| batch >= g * threads)
                .unwrap_or(GEN_GROUPS[GEN_GROUPS.len() - 1]);
            let run = |(w, s): (&mut [f32], &[f32])| {
                GROUP_SCRATCH.with_borrow_mut(|tmp| self.generate_group(s, w, lanes, tmp))
            };
            if threads == 1 || batch <= group {
                // One task: run it on the calling thread. Handing it to a pool thread costs a
                // wake-up, and that thread may sit on another core whose L2 holds neither the
                // weights nor the sensors (B through the C API: 300 us instead of 150).
                ws.chunks_mut(per * group)
                    .zip(sensors.chunks(m * group))
                    .try_for_each(run)?;
            } else {
                ws.par_chunks_mut(per * group)
                    .zip(sensors.par_chunks(m * group))
                    .try_for_each(run)?;
            }
        } else if per > 0 {
            ws.par_chunks_mut(per)
                .zip(sensors.par_chunks(m))
                .try_for_each(|(w, s)| {
                    let (state, scratch) = w.split_at_mut(self.plan.state_len);
                    self.generate_into(s, state, scratch)
                })?;
        }
        Ok(TargetBatch {
            model: self,
            workspace: ws,
            len: batch,
        })
    }
}

impl<'w> TargetBatch<'w> {
    /// Number of input functions.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True for an empty batch.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The target of function `index`.
    ///
    /// # Errors
    /// [`Error::BatchIndex`] if `index >= len()`.
    pub fn target(&mut self, index: usize) -> Result<Target<'_>, Error> {
        let per = self.model.plan.per_function;
        let range = index
            .checked_mul(per)
            .and_then(|lo| Some(lo..lo.checked_add(per)?))
            .filter(|_| index < self.len)
            .ok_or(Error::BatchIndex {
                index,
                len: self.len,
            })?;
        let ws = self.workspace.get_mut(range).ok_or(Error::BatchIndex {
            index,
            len: self.len,
        })?;
        let (state, scratch) = ws.split_at_mut(self.model.plan.state_len);
        Target::new(self.model, state, scratch)
    }

    /// `self.target(index)?.eval(points, out)`.
    ///
    /// # Errors
    /// As [`TargetBatch::target`] and [`Target::eval`].
    pub fn eval(&mut self, index: usize, points: &[f32], out: &mut [f32]) -> Result<(), Error> {
        self.target(index)?.eval(points, out)
    }
}

impl Target<'_> {
    /// [`Target::eval`] with the points split over rayon's threads. Bit-identical to `eval`.
    /// Each task uses its own tile scratch (a small heap buffer per worker; the serial
    /// `eval` allocates nothing).
    ///
    /// # Errors
    /// As [`Target::eval`], with the same index for [`Error::NonFinitePoint`] (the first bad
    /// value). Unlike `eval`, a non-finite point is found while other tasks evaluate theirs:
    /// on that error `out` may be partly written.
    pub fn eval_par(&mut self, points: &[f32], out: &mut [f32]) -> Result<(), Error> {
        let n = self.check_shapes(points, out)?;
        if n == 0 {
            return Ok(());
        }
        let (d_y, d_out) = (self.d_y, self.d_out);
        let threads = rayon::current_num_threads().max(1);
        let per_task = n.div_ceil(4 * threads).div_ceil(PAR_ALIGN) * PAR_ALIGN;
        if per_task >= n {
            return self.eval(points, out);
        }
        // The non-finite scan runs in the tasks (a serial pass over all points first would
        // cost ~10% of a 2-thread eval of the S target); on failure the serial scan below
        // finds the first bad value, as `eval` reports it, whichever task saw one first.
        let this = &*self;
        let scratch_len = self.scratch.len();
        let layers = self.layers();
        let out = out.get_mut(..n * d_out).ok_or(Error::OutputLen {
            needed: n * d_out,
            found: 0,
        })?;
        let run = points
            .par_chunks(per_task * d_y)
            .zip(out.par_chunks_mut(per_task * d_out))
            .enumerate()
            .try_for_each_init(
                || vec![0.0f32; scratch_len],
                |scratch, (k, (p, o))| {
                    this.check_finite(p, k * per_task * d_y)?;
                    Ok(hdon_kernels::mlp_eval(layers, p, o, scratch)?)
                },
            );
        if let Err(Error::NonFinitePoint { .. }) = run {
            self.check_finite(points, 0)?;
        }
        run
    }
}
