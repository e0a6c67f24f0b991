//! Feature `std`: parallel helpers for services, on rayon's threads or a [`Team`]'s. `eval_par`
//! splits points at multiples of 64 (a multiple of every kernel tile width, `MAX_TILE` = 32), so
//! each point is computed by the same tile code as in a serial `eval`: bit-identical.
//! `generate_par` splits the rows of a large last hypernetwork layer, each row computed by the
//! serial GEMV: bit-identical to `generate`. The helpers run their chunks (of points, of rows,
//! of functions) on the calling thread and the pool's threads, each claiming the next until
//! none are left (`for_each_chunk`). `generate_batch` runs the serial `generate` code on each
//! function (bit-identical), except for HyperDeepONet, whose hypernetwork runs on groups of
//! functions: through `gemv_batch` (bit-identical to `gemv` per vector) for batches
//! below 4, and in lanes (`gemm`) from 4 functions on: equal to the serial generate to rounding,
//! and the same bits whatever the batch around a function and the thread count.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::vec;

use crate::model::{eval_layers, Model};
use crate::team::Team;
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

/// Functions per thread from which [`TargetBatch::eval_all_par`] gives the threads whole
/// functions (fewer: each function's points are split instead, as `eval_par` does). With 4
/// or more per thread, the last function claimed costs at most a quarter of a thread's share.
const FUNCTIONS_PER_THREAD: usize = 4;

/// Points per chunk of `eval_par` while many are left (the last chunks shrink to
/// [`PAR_UNIT`]). ~11 us of the S target's eval, ~110 us of L's: small enough that the threads
/// balance, large enough that claiming one (a lock) costs nothing measurable. Fixed chunks of
/// 128, 256, 1024 and 2048 points were each slower than 512 on S, L and D.
const PAR_CHUNK: usize = 512;

/// Points per chunk of `eval_par` for targets that run on AMX tiles
/// ([`hdon_kernels::mlp_uses_amx`]). Each call of the tile evaluator first splits the hidden
/// weights into bf16 pieces and fills its two-block pipeline, about 6 us per call on L; with
/// 2,048-point chunks L's 2-thread eval of 100,000 points took 5.5-5.6 ms instead of 6.1-6.6
/// (`hdon bench --threads 2`, 1 thread: 10.7-12.2 ms).
const PAR_CHUNK_AMX: usize = 2048;

/// The smallest chunk of `eval_par` (points): a multiple of every kernel tile width
/// (`MAX_TILE` = 32), so each point is computed by the same tiles as in a serial `eval`.
const PAR_UNIT: usize = 64;

/// Rows of the last hypernetwork layer per claim of [`Model::generate_par`] while many are
/// left (a multiple of the 16-row blocks of blocked int8 weights; claims shrink towards the
/// end as in `eval_par`): 1,024 rows of L's 256 f32 columns are 1 MiB, ~40 us of one thread.
/// Claims of 256 to 4,096 rows gave the same L generate on 2 threads within the noise (f32
/// and int8, rayon and a spinning team).
const GEN_ROW_CHUNK: usize = 1024;

/// Rows of a claim's unit in [`Model::generate_par`] (blocked int8 splits only at 16 rows).
const GEN_ROW_UNIT: usize = hdon_kernels::I8_BLOCK_ROWS;

/// Smallest last hypernetwork layer (bytes of weights, [`hdon_kernels::MatRef::bytes`])
/// that [`Model::generate_par`] splits between threads. Below it the GEMV takes less than a
/// sleeping worker needs to wake up (35-50 us for a rayon thread on the VMs measured), and the
/// call would wait for that worker; even with a spinning team a small layer loses: workload
/// S (921 x 100 f32, 368 KB) split on 2 threads took 7.3-7.6 us against 5.9-6.0 serial.
const GEN_SPLIT_MIN_BYTES: usize = 1 << 20;

/// Generated targets of a batch of input functions, living in one caller workspace
/// (`batch` consecutive blocks of [`Model::workspace_len`]`(1)` f32).
#[derive(Debug)]
pub struct TargetBatch<'w> {
    model: &'w Model<'w>,
    workspace: &'w mut [f32],
    len: usize,
}

impl<'a> Model<'a> {
    /// Runs [`Model::generate`] for `batch = sensors.len() / m` input functions in parallel:
    /// on the calling thread and the threads of the rayon pool it runs in (else the global
    /// pool), each taking the next function or group until none are left. `sensors`:
    /// `[batch, m]` row-major; `workspace`: at least [`Model::workspace_len`]`(batch)` f32.
    /// Other families than HyperDeepONet run the serial code per function: bit-identical to
    /// `generate`.
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
        self.generate_batch_with(Exec::Rayon, sensors, workspace)
    }

    /// [`Model::generate_batch`] on the threads of `team` (the calling thread and the team's
    /// workers) instead of rayon's: the same results, bit for bit. If `team` is busy with
    /// another call, this one runs on its calling thread alone.
    ///
    /// # Errors
    /// As [`Model::generate_batch`].
    pub fn generate_batch_on<'w>(
        &'w self,
        team: &Team,
        sensors: &[f32],
        workspace: &'w mut [f32],
    ) -> Result<TargetBatch<'w>, Error>
    where
        'a: 'w,
    {
        self.generate_batch_with(Exec::Team(team), sensors, workspace)
    }

    /// [`Model::generate_batch`] on `exec`'s threads.
    fn generate_batch_with<'w>(
        &'w self,
        exec: Exec<'_>,
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
            let threads = exec.threads();
            let lanes = batch >= LANES_MIN_BATCH;
            let group = GEN_GROUPS
                .into_iter()
                .find(|&g| batch >= g * threads)
                .unwrap_or(GEN_GROUPS[GEN_GROUPS.len() - 1]);
            // One group, or one rayon thread: `for_each_chunk` spawns no helper and the group
            // runs on the calling thread (handing it to a pool thread cost a wake-up and an L2
            // without the weights or the sensors: B through the C API, 300 us instead of 150).
            for_each_chunk(
                exec,
                ws,
                per * group,
                1,
                || (),
                |i, w, ()| {
                    let s = sensors_of(sensors, m, i * group, w.len() / per);
                    GROUP_SCRATCH.with_borrow_mut(|tmp| self.generate_group(s, w, lanes, tmp))
                },
            )?;
        } else if per > 0 {
            for_each_chunk(
                exec,
                ws,
                per,
                1,
                || (),
                |i, w, ()| {
                    let (state, scratch) = w.split_at_mut(self.plan.state_len);
                    self.generate_into(sensors_of(sensors, m, i, 1), state, scratch)
                },
            )?;
        }
        Ok(TargetBatch {
            model: self,
            workspace: ws,
            len: batch,
        })
    }
}

impl<'a> Model<'a> {
    /// [`Model::generate`] of one input function with its largest matrix multiplied on
    /// several threads: the calling thread and rayon's (those of the pool it runs in, else
    /// the global pool). The same bits as `generate`.
    ///
    /// HyperDeepONet only, whose generate is the hypernetwork: its hidden layers run on the
    /// calling thread, then the rows of its last layer (theta, `n_theta x width`: workload L's
    /// 8,577 x 256 f32 matrix is 8.8 MB, 90 % of the generate) are cut into chunks of 1,024
    /// (the last ones smaller, always whole 16-row blocks) that the threads claim in turn, each
    /// with the serial GEMV on its rows ([`hdon_kernels::MatRef::row_block`]). Where that
    /// layer's weights take less than 1 MiB, or with one thread, and for the other
    /// families, this is `generate` itself: the work is then shorter than a sleeping worker's
    /// wake-up. Allocates nothing.
    ///
    /// # Errors
    /// As [`Model::generate`].
    pub fn generate_par<'w>(
        &'w self,
        sensors: &[f32],
        workspace: &'w mut [f32],
    ) -> Result<Target<'w>, Error> {
        self.generate_with(Exec::Rayon, sensors, workspace)
    }

    /// [`Model::generate_par`] on the threads of `team` (the calling thread and the team's
    /// workers) instead of rayon's: the same bits as `generate`. If `team` is busy with another
    /// call, this one runs on its calling thread alone.
    ///
    /// # Errors
    /// As [`Model::generate`].
    pub fn generate_on<'w>(
        &'w self,
        team: &Team,
        sensors: &[f32],
        workspace: &'w mut [f32],
    ) -> Result<Target<'w>, Error> {
        self.generate_with(Exec::Team(team), sensors, workspace)
    }

    /// [`Model::generate_par`] on `exec`'s threads.
    fn generate_with<'w>(
        &'w self,
        exec: Exec<'_>,
        sensors: &[f32],
        workspace: &'w mut [f32],
    ) -> Result<Target<'w>, Error> {
        if exec.threads() == 1 || !self.splits_generate(GEN_SPLIT_MIN_BYTES) {
            return self.generate(sensors, workspace);
        }
        self.generate_one(sensors, workspace, |l, x, y| {
            for_each_chunk(
                exec,
                y,
                GEN_ROW_UNIT,
                GEN_ROW_CHUNK / GEN_ROW_UNIT,
                || (),
                |first, rows, ()| {
                    let r0 = first * GEN_ROW_UNIT;
                    let n = rows.len();
                    // Validated at load: the bias has the matrix's rows.
                    let bias = match l.bias {
                        Some(b) => Some(b.get(r0..r0 + n).ok_or(Error::Tensor {
                            what: "hypernetwork bias",
                            layer: 0,
                            problem: "shorter than its matrix",
                        })?),
                        None => None,
                    };
                    Ok(hdon_kernels::gemv(
                        &l.w.row_block(r0, n)?,
                        x,
                        bias,
                        l.act,
                        rows,
                    )?)
                },
            )
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

    /// Evaluates every function of the batch at the same `n` points (`[n, d_y]`), on the
    /// calling thread and rayon's threads (those of the pool it runs in, else the global
    /// pool): function `i` writes `out[i * n * d_out..][..n * d_out]` (`[batch, n, d_out]`),
    /// the bits of `self.eval(i, points, ..)`.
    ///
    /// With at least 4 functions per thread the threads claim whole functions (several at a
    /// time when `n` is below 512), each evaluated by the serial tile code with a tile scratch
    /// per thread: no thread waits for another between functions (workload B, 64 functions x
    /// 1,000 points, on 2 threads: see `docs/PERFORMANCE.md`). Fewer functions are evaluated
    /// one after the other, each with its points split as in [`Target::eval_par`]; one
    /// thread runs [`Target::eval`] on each. Non-finite points are looked for once, before
    /// any output is written.
    ///
    /// # Errors
    /// [`Error::PointDim`], [`Error::OutputLen`] (`out` shorter than `batch * n * d_out`),
    /// [`Error::NonFinitePoint`] (with [`crate::NonFinite::Reject`]).
    pub fn eval_all_par(&mut self, points: &[f32], out: &mut [f32]) -> Result<(), Error> {
        self.eval_all_with(Exec::Rayon, points, out)
    }

    /// [`TargetBatch::eval_all_par`] on the threads of `team` (the calling thread and the
    /// team's workers) instead of rayon's: the same bits. If `team` is busy with another call,
    /// this one runs on its calling thread alone.
    ///
    /// # Errors
    /// As [`TargetBatch::eval_all_par`].
    pub fn eval_all_on(
        &mut self,
        team: &Team,
        points: &[f32],
        out: &mut [f32],
    ) -> Result<(), Error> {
        self.eval_all_with(Exec::Team(team), points, out)
    }

    /// [`TargetBatch::eval_all_par`] on `exec`'s threads.
    fn eval_all_with(
        &mut self,
        exec: Exec<'_>,
        points: &[f32],
        out: &mut [f32],
    ) -> Result<(), Error> {
        let model = self.model;
        let plan = &model.plan;
        let (d_y, d_out) = (plan.d_y, plan.d_out);
        if d_y == 0 || !points.len().is_multiple_of(d_y) {
            return Err(Error::PointDim {
                d_y,
                found: points.len(),
            });
        }
        let n = points.len() / d_y;
        let per = n.saturating_mul(d_out);
        let needed = per.saturating_mul(self.len);
        let found = out.len();
        let out = out
            .get_mut(..needed)
            .ok_or(Error::OutputLen { needed, found })?;
        if model.opts.nonfinite == crate::NonFinite::Reject {
            if let Some(index) = crate::target::first_non_finite(points) {
                return Err(Error::NonFinitePoint { index });
            }
        }
        if per == 0 {
            return Ok(());
        }
        let threads = exec.threads();
        if threads == 1 || self.len < FUNCTIONS_PER_THREAD * threads {
            for (i, o) in out.chunks_exact_mut(per).enumerate() {
                let mut t = self.target(i)?;
                if threads == 1 {
                    t.eval(points, o)?;
                } else {
                    t.eval_with(exec, points, o)?;
                }
            }
            return Ok(());
        }
        let (per_fn, state_len, len) = (plan.per_function, plan.state_len, self.len);
        let n_layers = plan.n_target;
        let ws: &[f32] = self.workspace;
        for_each_chunk(
            exec,
            out,
            per,
            (PAR_CHUNK / n).max(1),
            || vec![0.0f32; per_fn - state_len],
            |first, o, scratch| {
                for (k, o) in o.chunks_exact_mut(per).enumerate() {
                    let lo = (first + k) * per_fn;
                    let state = ws.get(lo..lo + state_len).ok_or(Error::BatchIndex {
                        index: first + k,
                        len,
                    })?;
                    let layers = eval_layers(model, state)?;
                    let layers = layers.get(..n_layers).unwrap_or(&[]);
                    hdon_kernels::mlp_eval(layers, points, o, scratch)?;
                }
                Ok(())
            },
        )
    }
}

impl Target<'_> {
    /// [`Target::eval`] with the points split over the calling thread and rayon's threads
    /// (those of the pool it runs in, else the global pool). Bit-identical to `eval`.
    ///
    /// The points are cut into chunks of 512 (2,048 for a target on AMX tiles; the last ones
    /// shrink to 64) and every thread
    /// claims the next chunk until none are left, the calling thread included: it starts at once, also when it is not a rayon
    /// worker, and workers join as they wake up. From a thread outside the pool this is as fast
    /// as from inside one (a `par_iter` there blocks the caller: from `main` with a 2-thread
    /// global pool, S's 10,000 points ran at 0.9x the serial speed, now at 1.6-2.1x; see
    /// `docs/PERFORMANCE.md`). 512 points or fewer, or a single rayon thread: the serial
    /// `eval`. Each thread uses its own tile scratch (a small heap buffer; the serial `eval`
    /// allocates nothing).
    ///
    /// # Errors
    /// As [`Target::eval`], with the same index for [`Error::NonFinitePoint`] (the first bad
    /// value). Unlike `eval`, a non-finite point is found while other tasks evaluate theirs:
    /// on that error `out` may be partly written.
    pub fn eval_par(&mut self, points: &[f32], out: &mut [f32]) -> Result<(), Error> {
        self.eval_with(Exec::Rayon, points, out)
    }

    /// [`Target::eval_par`] on the threads of `team` (the calling thread and the team's
    /// workers) instead of rayon's: bit-identical to `eval`. If `team` is busy with another
    /// call, this one runs on its calling thread alone.
    ///
    /// # Errors
    /// As [`Target::eval_par`].
    pub fn eval_on(&mut self, team: &Team, points: &[f32], out: &mut [f32]) -> Result<(), Error> {
        self.eval_with(Exec::Team(team), points, out)
    }

    /// [`Target::eval_par`] on `exec`'s threads.
    fn eval_with(&mut self, exec: Exec<'_>, points: &[f32], out: &mut [f32]) -> Result<(), Error> {
        let n = self.check_shapes(points, out)?;
        if n == 0 {
            return Ok(());
        }
        let (d_y, d_out) = (self.d_y, self.d_out);
        if n <= PAR_CHUNK || d_out == 0 || exec.threads() == 1 {
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
        let chunk = if hdon_kernels::mlp_uses_amx(layers) {
            PAR_CHUNK_AMX
        } else {
            PAR_CHUNK
        };
        let run = for_each_chunk(
            exec,
            out,
            PAR_UNIT * d_out,
            chunk / PAR_UNIT,
            || vec![0.0f32; scratch_len],
            |first, o, scratch| {
                let lo = first * PAR_UNIT * d_y;
                let p = points.get(lo..lo + o.len() / d_out * d_y).unwrap_or(&[]);
                this.check_finite(p, lo)?;
                Ok(hdon_kernels::mlp_eval(layers, p, o, scratch)?)
            },
        );
        if let Err(Error::NonFinitePoint { .. }) = run {
            self.check_finite(points, 0)?;
        }
        run
    }
}

/// The sensor values of functions `first..first + count` of a `[batch, m]` slice (the
/// callers' workspace chunks match it, so the range is always inside).
fn sensors_of(sensors: &[f32], m: usize, first: usize, count: usize) -> &[f32] {
    sensors.get(first * m..(first + count) * m).unwrap_or(&[])
}

/// Locks `m`, also after a panic elsewhere (a panicking task or team job is re-raised on the
/// caller anyway; the data behind these locks, here and in `team`, stays valid).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The threads a parallel call runs on, besides its calling thread.
#[derive(Clone, Copy)]
enum Exec<'t> {
    /// The rayon pool the caller runs in, else the global pool.
    Rayon,
    /// A [`Team`]'s workers.
    Team(&'t Team),
}

impl Exec<'_> {
    /// Threads that share a call, the calling thread included.
    fn threads(self) -> usize {
        match self {
            Exec::Rayon => rayon::current_num_threads().max(1),
            Exec::Team(t) => t.threads(),
        }
    }

    /// Runs `work` on the calling thread and on up to `helpers` more threads (rayon: exactly
    /// `helpers` tasks; a team: every worker, once `helpers > 0`), and returns when all
    /// calls have.
    fn run(self, helpers: usize, work: &(dyn Fn() + Sync)) {
        match self {
            Exec::Rayon => rayon::in_place_scope(|scope| {
                for _ in 0..helpers {
                    scope.spawn(|_| work());
                }
                work();
            }),
            Exec::Team(_) if helpers == 0 => work(),
            Exec::Team(t) => t.run(work),
        }
    }
}

/// Runs `task(first, chunk, state)` over `out` cut into chunks of whole units (`unit` f32
/// each, the last unit maybe shorter; `first` is the chunk's first unit index) on the
/// calling thread and on up to `exec.threads() - 1` others (rayon workers or a team's). Each
/// thread that claims a chunk makes its `state` once with `init` (at its first claim) and claims the next chunk, in order, until none are left
/// (dynamic scheduling): a worker that wakes late (~15-50 us on a VM) or runs on a slower core
/// takes fewer chunks instead of holding up the end, and the caller works from the start even
/// outside a pool, where a `par_iter` would leave it blocked while the pool's threads share
/// the cores. A claim takes `max_units` units while plenty are left, then shrinking chunks
/// (`1 / (2 threads)` of what is left, at least one unit), so the threads finish close
/// together (1-2.5 % faster than fixed 512-point chunks on S, 2 threads, in 6 of 6
/// same-process A/Bs). After a task fails no new chunk is started; the first error is
/// returned.
fn for_each_chunk<S, E: Send>(
    exec: Exec<'_>,
    out: &mut [f32],
    unit: usize,
    max_units: usize,
    init: impl Fn() -> S + Sync,
    task: impl Fn(usize, &mut [f32], &mut S) -> Result<(), E> + Sync,
) -> Result<(), E> {
    let unit = unit.max(1);
    let max_units = max_units.max(1);
    let threads = exec.threads();
    let helpers = threads
        .min(out.len().div_ceil(unit * max_units))
        .saturating_sub(1);
    // (first unit of `rest`, the part of `out` not claimed yet).
    let rest = Mutex::new((0usize, out));
    let claim = || {
        let mut g = lock(&rest);
        let (first, left) = &mut *g;
        if left.is_empty() {
            return None;
        }
        let units_left = left.len().div_ceil(unit);
        let take = units_left.div_ceil(2 * threads).clamp(1, max_units);
        let len = (take * unit).min(left.len());
        let (chunk, tail) = core::mem::take(left).split_at_mut(len);
        *left = tail;
        let at = *first;
        *first += take;
        Some((at, chunk))
    };
    let failed = AtomicBool::new(false);
    let first_error = Mutex::new(None);
    let work = || {
        // Made at the first claim: a team's worker that finds nothing left makes none.
        let mut state = None;
        while !failed.load(Ordering::Relaxed) {
            let Some((first, chunk)) = claim() else {
                return;
            };
            if let Err(e) = task(first, chunk, state.get_or_insert_with(&init)) {
                failed.store(true, Ordering::Relaxed);
                lock(&first_error).get_or_insert(e);
                return;
            }
        }
    };
    exec.run(helpers, &work);
    match first_error
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner)
    {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::vec::Vec;

    use std::time::Duration;

    use super::{for_each_chunk, Exec};
    use crate::Team;

    /// Rayon pools of 1, 2 and 8 threads, the global pool from outside it, and teams of 1, 2
    /// and 8 threads that spin for 0 (park at once) and for 1 ms.
    fn in_each_pool(f: impl Fn(&str, Exec<'_>) + Sync) {
        f("outside", Exec::Rayon);
        for threads in [1, 2, 8] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| f(&std::format!("{threads} threads"), Exec::Rayon));
            for spin in [0, 1000] {
                let team = Team::new(threads, Duration::from_micros(spin)).unwrap();
                f(&std::format!("{team:?}"), Exec::Team(&team));
            }
        }
    }

    #[test]
    fn every_unit_runs_once_in_a_chunk_that_knows_its_place() {
        in_each_pool(|pool, exec| {
            for (len, unit, max_units) in [
                (1000usize, 7usize, 1usize),
                (1000, 7, 8),
                (512, 64, 8),
                (513, 64, 8),
                (64 * 157, 64, 8),
                (3, 1, 2),
                (0, 4, 3),
            ] {
                let mut out = std::vec![-1.0f32; len];
                let calls = AtomicUsize::new(0);
                let inits = AtomicUsize::new(0);
                let r: Result<(), ()> = for_each_chunk(
                    exec,
                    &mut out,
                    unit,
                    max_units,
                    || inits.fetch_add(1, Ordering::Relaxed),
                    |first, c, _| {
                        calls.fetch_add(1, Ordering::Relaxed);
                        let at = first * unit;
                        // Whole units (the slice's last one may be short), at most max_units.
                        assert!(c.len() <= max_units * unit, "{pool}");
                        assert!(c.len() % unit == 0 || at + c.len() == len, "{pool}");
                        for (k, v) in c.iter_mut().enumerate() {
                            *v = ((at + k) / unit) as f32;
                        }
                        Ok(())
                    },
                );
                assert_eq!(r, Ok(()));
                let units = len.div_ceil(unit);
                let calls = calls.into_inner();
                assert!(
                    (units.div_ceil(max_units)..=units).contains(&calls),
                    "{pool} {len}/{unit}/{max_units}: {calls} chunks"
                );
                let want: Vec<f32> = (0..len).map(|k| (k / unit) as f32).collect();
                assert_eq!(out, want, "{pool} {len}/{unit}/{max_units}");
                // One state per thread that worked: the caller and at most threads - 1 helpers.
                assert!(inits.into_inner() <= exec.threads(), "{pool}");
            }
        });
    }

    #[test]
    fn a_failed_task_stops_the_claims_and_its_error_is_returned() {
        in_each_pool(|pool, exec| {
            let mut out = std::vec![0.0f32; 64 * 100];
            let calls = AtomicUsize::new(0);
            let r = for_each_chunk(
                exec,
                &mut out,
                64,
                1,
                || (),
                |i, _, _| {
                    calls.fetch_add(1, Ordering::Relaxed);
                    if i == 5 {
                        Err(i)
                    } else {
                        if i > 5 {
                            // Keeps the later chunks slow: stopping them is what is tested.
                            std::thread::sleep(std::time::Duration::from_millis(2));
                        }
                        Ok(())
                    }
                },
            );
            assert_eq!(r, Err(5), "{pool}");
            // Chunks 0..=5 ran. One thread runs nothing after chunk 5; with more, the others
            // finish what they claimed before the failure (94 sleeping chunks would need
            // 2 ms x 94 / threads to run out).
            let calls = calls.into_inner();
            if exec.threads() == 1 {
                assert_eq!(calls, 6, "{pool}");
            } else {
                assert!((6..50).contains(&calls), "{pool}: {calls} calls");
            }
        });
    }
}
