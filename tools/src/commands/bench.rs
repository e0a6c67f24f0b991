//! `hdon bench model.hdon`: generate and eval latency on this device.
//!
//! Inputs are deterministic: sensor values from a fixed-seed generator (scaled by the file's
//! sensor normalization when it has one), query points uniform in the file's domain. Each phase
//! runs `--warmup` untimed iterations, then `--iters` timed ones (default: as many as fit in
//! about one second, between 20 and 10,000). Reported: p50/p90/p99/max per call, points/s and
//! GFLOP/s at the median, the kernel path, workspace and file bytes. With `--evict-mib N`,
//! every call (warm-up and timed) follows an untimed write of N MiB of a buffer of the tool's
//! own: the latency of a call that finds its weights, workspace and points out of the caches.
//! With `--batch B` > 1, two more phases: every target of the batch at the points in one call,
//! and `generate_batch` plus that call (the batch's total).

use super::print_json;
use crate::model_file::LoadedFile;
use crate::quantize::WeightDtype;
use anyhow::{anyhow, bail, Result};
use hdon_runtime::{Model, Team};
use serde::Serialize;
use serde_json::json;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Arguments of `hdon bench`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The .hdon file.
    pub model: PathBuf,
    /// Query points per eval call.
    #[arg(long, default_value_t = 1000)]
    pub points: usize,
    /// Input functions per generate call (>1 uses the runtime's parallel generate_batch, and
    /// adds two phases: every function's target evaluated at the --points in one
    /// TargetBatch::eval_all_par call, and the total of both for the batch).
    #[arg(long, default_value_t = 1)]
    pub batch: usize,
    /// Worker threads, 1 to 1024 (1 = the serial generate and eval; >1 = generate_par (one
    /// function) or generate_batch, and eval_par, on a pool of T).
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// With --threads >= 2: run eval_on and generate_on / generate_batch_on on an hdon Team whose workers
    /// poll for US microseconds after each call, instead of rayon's pool, whose threads sleep
    /// between calls (see docs/EMBEDDING.md, "Spinning workers").
    #[arg(long, value_name = "US")]
    pub spin_us: Option<u64>,
    /// Timed iterations per phase (0 = about one second's worth, 20..=10000).
    #[arg(long, default_value_t = 0)]
    pub iters: usize,
    /// Untimed warm-up iterations per phase.
    #[arg(long, default_value_t = 5)]
    pub warmup: usize,
    /// Before every call (warm-up and timed), write MIB MiB of a buffer of the tool's own,
    /// untimed, so that the call finds the model's weights, the workspace and the points out
    /// of the caches: the latency of a generate or eval that runs after other work. More than
    /// the L2 pushes them to the last-level cache; more than the last-level cache (lscpu's
    /// L3) pushes them to memory. The time budget of the default --iters counts the writes.
    #[arg(long, value_name = "MIB")]
    pub evict_mib: Option<usize>,
    /// Re-store the generate-side weights as this type (in memory) before measuring.
    #[arg(long, value_enum)]
    pub dtype: Option<WeightDtype>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// The storage type of the first generate-side weight matrix (`f32`, `f16`, `bf16`, `i8`).
pub fn weights_dtype(file: &hdon_format::ModelFile<'_>) -> &'static str {
    file.arch()
        .networks()
        .filter(|n| !n.role.is_target_side())
        .flat_map(|n| n.layers())
        .filter_map(|l| file.tensor(l.weight))
        .map(|t| t.dtype().name())
        .next()
        .unwrap_or("f32")
}

/// Latency percentiles of one phase, microseconds per call.
#[derive(Clone, Debug, Serialize)]
pub struct Latency {
    /// Timed calls.
    pub iters: usize,
    /// Median.
    pub p50_us: f64,
    /// 90th percentile.
    pub p90_us: f64,
    /// 99th percentile.
    pub p99_us: f64,
    /// Slowest call.
    pub max_us: f64,
    /// Fastest call.
    pub min_us: f64,
}

impl Latency {
    /// Percentiles (nearest rank) of `samples`.
    pub fn of(mut samples: Vec<Duration>) -> Latency {
        samples.sort();
        let n = samples.len().max(1);
        let at = |p: f64| {
            let i = ((p * n as f64).ceil() as usize).clamp(1, n) - 1;
            samples.get(i).map_or(0.0, |d| d.as_secs_f64() * 1e6)
        };
        Latency {
            iters: samples.len(),
            p50_us: at(0.5),
            p90_us: at(0.9),
            p99_us: at(0.99),
            max_us: at(1.0),
            min_us: at(0.0),
        }
    }
}

/// Deterministic uniform numbers in [0, 1) (64-bit LCG, top bits).
pub struct Lcg(u64);

impl Lcg {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Lcg {
        Lcg(seed ^ 0x9E37_79B9_7F4A_7C15)
    }
    /// Next value in [0, 1).
    pub fn next_f32(&mut self) -> f32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// `batch` input functions `[batch, m]` for `model` (see the module doc).
pub fn bench_sensors(model: &Model<'_>, batch: usize) -> Vec<f32> {
    let mut u = vec![0f32; batch * model.n_sensors()];
    fill_sensors(model, &mut u);
    u
}

/// Fills `u` with input functions `[u.len() / m, m]` for `model` (see the module doc).
pub fn fill_sensors(model: &Model<'_>, u: &mut [f32]) {
    let m = model.n_sensors().max(1);
    let meta = model.file().metadata();
    let mut rng = Lcg::new(1);
    for f in u.chunks_mut(m) {
        for (k, x) in f.iter_mut().enumerate() {
            let (mean, std) = match &meta.sensor_norm {
                Some(a) => {
                    let j = if a.mean.len() == 1 { 0 } else { k };
                    (a.mean[j], a.std[j])
                }
                None => (0.0, 1.0),
            };
            *x = mean + std * (2.0 * rng.next_f32() - 1.0);
        }
    }
}

/// `n` query points `[n, d_y]` uniform in the model's domain.
pub fn bench_points(model: &Model<'_>, n: usize) -> Vec<f32> {
    let mut y = vec![0f32; n * model.d_y()];
    fill_points(model, &mut y);
    y
}

/// Fills `y` with query points `[y.len() / d_y, d_y]` uniform in the model's domain.
pub fn fill_points(model: &Model<'_>, y: &mut [f32]) {
    let meta = model.file().metadata();
    let d_y = model.d_y();
    let mut rng = Lcg::new(2);
    for (k, x) in y.iter_mut().enumerate() {
        let c = k % d_y;
        let (lo, hi) = (meta.domain_lower[c], meta.domain_upper[c]);
        *x = lo + (hi - lo) * rng.next_f32();
    }
}

/// A zeroed buffer of `count` f32 (`None`: the count overflowed), or an error naming the
/// options that asked for it (`what`) instead of an abort when memory runs out.
fn buffer(count: Option<usize>, what: &str) -> Result<Vec<f32>> {
    let count = count
        .filter(|&c| c != usize::MAX && c.checked_mul(4).is_some())
        .ok_or_else(|| anyhow!("{what}: too large (the buffer size overflows)"))?;
    let mut v = Vec::new();
    v.try_reserve_exact(count).map_err(|e| {
        anyhow!(
            "{what}: cannot allocate {} bytes ({e}); use smaller values",
            count * 4
        )
    })?;
    v.resize(count, 0.0);
    Ok(v)
}

/// How many timed calls a phase makes.
#[derive(Clone, Copy, Debug)]
pub enum Iters {
    /// Exactly this many.
    Fixed(usize),
    /// As many as fit in `seconds` (judged from one untimed call), clamped to `min..=max`.
    Budget {
        /// Time budget in seconds.
        seconds: f64,
        /// Fewest timed calls.
        min: usize,
        /// Most timed calls.
        max: usize,
    },
}

/// Runs `f` `warmup` times untimed, then the timed calls `iters` asks for; `before` runs
/// untimed before every call of `f` (a [`Evict`], or nothing). A time budget counts `before`.
pub fn time_loop(
    iters: Iters,
    warmup: usize,
    mut before: impl FnMut(),
    mut f: impl FnMut() -> Result<()>,
) -> Result<Latency> {
    for _ in 0..warmup {
        before();
        f()?;
    }
    let iters = match iters {
        Iters::Fixed(n) => n,
        Iters::Budget { seconds, min, max } => {
            let t = Instant::now();
            before();
            f()?;
            let one = t.elapsed().as_secs_f64().max(1e-7);
            ((seconds / one) as usize).clamp(min, max)
        }
    };
    let mut samples = Vec::with_capacity(iters);
    for _ in 0..iters {
        before();
        let t = Instant::now();
        f()?;
        samples.push(t.elapsed());
    }
    Ok(Latency::of(samples))
}

/// A buffer whose every cache line [`Evict::run`] writes: after it, the caches hold this
/// buffer instead of what the measured call uses (when it is larger than the last-level
/// cache).
pub struct Evict(Vec<u8>);

/// Largest `--evict-mib`: 4 GiB, well past any CPU's caches.
pub const EVICT_MAX_MIB: usize = 4096;

impl Evict {
    /// A buffer of `mib` MiB, 1..=[`EVICT_MAX_MIB`] (touched once here, so its pages exist
    /// before any timing).
    pub fn new(mib: usize) -> Result<Evict> {
        if !(1..=EVICT_MAX_MIB).contains(&mib) {
            bail!(
                "--evict-mib must be 1..={EVICT_MAX_MIB} (MiB written before each call; found \
                 {mib}; leave it out for warm caches)"
            );
        }
        let bytes = mib << 20;
        let mut v = Vec::new();
        v.try_reserve_exact(bytes)
            .map_err(|e| anyhow!("--evict-mib {mib}: cannot allocate {bytes} bytes: {e}"))?;
        v.resize(bytes, 0u8);
        let mut e = Evict(v);
        e.run();
        Ok(e)
    }

    /// Writes one byte of every 64-byte line (each write takes its line into the cache, in
    /// the modified state, and the buffer's size pushes the rest out).
    pub fn run(&mut self) {
        for b in self.0.iter_mut().step_by(64) {
            *b = b.wrapping_add(1);
        }
        std::hint::black_box(&mut self.0);
    }
}

/// What `hdon bench` times: generate, eval, whether the tiles ran the eval, and with a batch
/// its one-call eval of every target and its total.
type Phases = (Latency, Latency, bool, Option<(Latency, Latency)>);

/// `generate_batch` on `team`, else on rayon's pool.
fn generate_batch<'w>(
    model: &'w Model<'w>,
    team: Option<&Team>,
    u: &[f32],
    ws: &'w mut [f32],
) -> Result<hdon_runtime::TargetBatch<'w>> {
    match team {
        Some(t) => model.generate_batch_on(t, u, ws),
        None => model.generate_batch(u, ws),
    }
    .map_err(|e| anyhow!("generate: {e}"))
}

/// Largest `--threads`: a team's own limit, far beyond any core count a latency figure means
/// anything on, and small enough to start (100,000 threads took longer than 10 s to spawn
/// before failing).
const MAX_THREADS: usize = hdon_runtime::Team::MAX_THREADS;

/// Runs `hdon bench`.
pub fn run(a: Args) -> Result<()> {
    if a.points == 0 || a.batch == 0 || a.threads == 0 {
        bail!(
            "--points, --batch and --threads must be >= 1 (found {}, {}, {})",
            a.points,
            a.batch,
            a.threads
        );
    }
    if a.threads > MAX_THREADS {
        bail!(
            "--threads {}: at most {MAX_THREADS} (this machine has {}); each is an OS thread, \
             started before anything is timed",
            a.threads,
            std::thread::available_parallelism().map_or(1, |n| n.get())
        );
    }
    if a.spin_us.is_some() && a.threads == 1 {
        bail!("--spin-us sets how a team's workers wait: it needs --threads 2 or more");
    }
    let mut evict = a.evict_mib.map(Evict::new).transpose()?;
    let mut before = || {
        if let Some(e) = evict.as_mut() {
            e.run();
        }
    };
    let mut file = LoadedFile::read(&a.model)?;
    if let Some(dtype) = a.dtype {
        let parsed = hdon_format::ModelFile::parse(&file.bytes)
            .map_err(|e| anyhow!("{}: {e}", a.model.display()))?;
        let requantized = crate::export::requantize(&parsed, dtype)?;
        let name = format!(
            "{} (weights re-stored as {}, in memory)",
            a.model.display(),
            dtype.name()
        );
        file = LoadedFile::from_bytes(&name, &requantized.bytes);
    }
    let model = file.model()?;
    let dtype = weights_dtype(model.file());
    let iters = match a.iters {
        0 => Iters::Budget {
            seconds: 1.0,
            min: 20,
            max: 10_000,
        },
        n => Iters::Fixed(n),
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(a.threads)
        .build()
        .map_err(|e| anyhow!("cannot start {} threads: {e}", a.threads))?;
    let team = a
        .spin_us
        .map(|us| Team::new(a.threads, Duration::from_micros(us)))
        .transpose()
        .map_err(|e| anyhow!("cannot start a team of {} threads: {e}", a.threads))?;
    let executor = match &team {
        Some(t) => format!("team (spin {} us)", t.spin().as_micros()),
        None => "rayon".to_string(),
    };
    let (m, d_y, d_out) = (model.n_sensors(), model.d_y(), model.d_out());
    let mut u = buffer(a.batch.checked_mul(m), "--batch")?;
    fill_sensors(&model, &mut u);
    let mut y = buffer(a.points.checked_mul(d_y), "--points")?;
    fill_points(&model, &mut y);
    let mut out = buffer(a.points.checked_mul(d_out), "--points")?;
    let mut ws = buffer(Some(model.workspace_len(a.batch)), "--batch")?;
    let path = hdon_kernels::active_path();
    // With a batch: every target's outputs, `[batch, points, d_out]`.
    let all = if a.batch > 1 {
        a.batch.checked_mul(out.len())
    } else {
        Some(0)
    };
    let mut out_all = buffer(all, "--batch x --points")?;
    let (generate, eval, amx, batch) = pool.install(|| -> Result<Phases> {
        // One function: the serial generate on 1 thread, else generate_par / generate_on; a
        // batch: generate_batch / generate_batch_on.
        let generate = time_loop(iters, a.warmup, &mut before, || {
            if a.batch > 1 {
                return generate_batch(&model, team.as_ref(), &u, &mut ws).map(drop);
            }
            match (a.threads, &team) {
                (1, _) => model.generate(&u, &mut ws).map(drop),
                (_, Some(t)) => model.generate_on(t, &u, &mut ws).map(drop),
                (_, None) => model.generate_par(&u, &mut ws).map(drop),
            }
            .map_err(|e| anyhow!("generate: {e}"))
        })?;
        let mut target = model
            .generate(&u[..model.n_sensors()], &mut ws)
            .map_err(|e| anyhow!("generate: {e}"))?;
        let amx = hdon_kernels::mlp_uses_amx(target.layers());
        let eval = if a.threads == 1 {
            time_loop(iters, a.warmup, &mut before, || {
                target.eval(&y, &mut out).map_err(|e| anyhow!("eval: {e}"))
            })?
        } else {
            time_loop(iters, a.warmup, &mut before, || {
                match &team {
                    Some(t) => target.eval_on(t, &y, &mut out),
                    None => target.eval_par(&y, &mut out),
                }
                .map_err(|e| anyhow!("parallel eval: {e}"))
            })?
        };
        // A batch: its targets at the points in one call, then generate + that (workload B's
        // total), on the same executor.
        let batch = if a.batch > 1 {
            let mut all = |targets: &mut hdon_runtime::TargetBatch<'_>| {
                match &team {
                    Some(t) => targets.eval_all_on(t, &y, &mut out_all),
                    None => targets.eval_all_par(&y, &mut out_all),
                }
                .map_err(|e| anyhow!("batch eval: {e}"))
            };
            let mut targets = generate_batch(&model, team.as_ref(), &u, &mut ws)?;
            let eval_all = time_loop(iters, a.warmup, &mut before, || all(&mut targets))?;
            let total = time_loop(iters, a.warmup, &mut before, || {
                let mut targets = generate_batch(&model, team.as_ref(), &u, &mut ws)?;
                all(&mut targets)
            })?;
            Some((eval_all, total))
        } else {
            None
        };
        Ok((generate, eval, amx, batch))
    })?;
    let gen_flops = model.flops_generate() as f64 * a.batch as f64;
    let eval_flops = model.flops_per_point() as f64 * a.points as f64;
    let batch_eval_flops = eval_flops * a.batch as f64;
    let gflops = |flops: f64, us: f64| if us > 0.0 { flops / (us * 1e3) } else { 0.0 };
    // Items per second at the median.
    let rate = |items: usize, l: &Latency| {
        if l.p50_us > 0.0 {
            items as f64 / (l.p50_us * 1e-6)
        } else {
            0.0
        }
    };
    let points_per_s = rate(a.points, &eval);
    let functions_per_s = rate(a.batch, &generate);
    let int8_kernel = if dtype == "i8-blocked" {
        hdon_kernels::int8_blocked_kernel(path)
    } else {
        hdon_kernels::int8_kernel(path)
    };
    let report = json!({
        "model": a.model.display().to_string(),
        "family": model.family().name(),
        "hdon_version": env!("CARGO_PKG_VERSION"),
        "kernel_path": path.name(),
        "amx_tiles": amx,
        "int8_kernel": int8_kernel,
        "weights_dtype": dtype,
        "build": super::BUILD,
        "threads": a.threads,
        "executor": executor,
        "batch": a.batch,
        "points": a.points,
        "evict_mib": a.evict_mib,
        "file_bytes": file.bytes.len(),
        "workspace_bytes": model.workspace_len(a.batch) * 4,
        "flops": { "generate": model.flops_generate(), "per_point": model.flops_per_point() },
        "generate": { "latency": generate, "functions_per_s": functions_per_s, "gflop_per_s": gflops(gen_flops, generate.p50_us) },
        "eval": { "latency": eval, "points_per_s": points_per_s, "gflop_per_s": gflops(eval_flops, eval.p50_us) },
        "eval_batch": batch.as_ref().map(|(l, _)| json!({
            "latency": l,
            "points_per_s": rate(a.batch * a.points, l),
            "gflop_per_s": gflops(batch_eval_flops, l.p50_us),
        })),
        "total_batch": batch.as_ref().map(|(_, l)| json!({
            "latency": l,
            "functions_per_s": rate(a.batch, l),
            "gflop_per_s": gflops(gen_flops + batch_eval_flops, l.p50_us),
        })),
    });
    if a.json {
        return print_json(&report);
    }
    super::warn_if_debug();
    // The integer kernel matters only when int8 layers are in the file.
    let int8 = if dtype.starts_with("i8") {
        format!(" (int8: {int8_kernel})")
    } else {
        String::new()
    };
    // AMX tiles run the target net's hidden layers where the CPU has them and the net suits.
    let amx = if amx { " + amx tiles (eval)" } else { "" };
    println!(
        "hdon bench {} ({}, weights {dtype}), hdon {}, kernel path {}{amx}{int8}, threads {}{}",
        file.path.display(),
        model.family().name(),
        env!("CARGO_PKG_VERSION"),
        path.name(),
        a.threads,
        if team.is_some() {
            format!(" on a {executor}")
        } else {
            String::new()
        }
    );
    println!(
        "file {} bytes, workspace {} bytes (batch {}), FLOPs {} per generate, {} per point",
        file.bytes.len(),
        model.workspace_len(a.batch) * 4,
        a.batch,
        model.flops_generate(),
        model.flops_per_point()
    );
    if let Some(mib) = a.evict_mib {
        println!("cold caches: {mib} MiB written before every call (untimed)");
    }
    println!(
        "{:<28} {:>7} {:>11} {:>11} {:>11} {:>11} {:>14} {:>9}",
        "phase", "iters", "p50 us", "p90 us", "p99 us", "max us", "rate", "GFLOP/s"
    );
    let row = |name: String, l: &Latency, rate: String, gf: f64| {
        println!(
            "{name:<28} {:>7} {:>11.2} {:>11.2} {:>11.2} {:>11.2} {:>14} {:>9.3}",
            l.iters, l.p50_us, l.p90_us, l.p99_us, l.max_us, rate, gf
        );
    };
    row(
        format!("generate (batch {})", a.batch),
        &generate,
        format!("{functions_per_s:.0} fn/s"),
        gflops(gen_flops, generate.p50_us),
    );
    row(
        format!("eval ({} points)", a.points),
        &eval,
        format!("{:.3e} pt/s", points_per_s),
        gflops(eval_flops, eval.p50_us),
    );
    if let Some((eval_all, total)) = &batch {
        row(
            format!("eval all ({} x {} points)", a.batch, a.points),
            eval_all,
            format!("{:.3e} pt/s", rate(a.batch * a.points, eval_all)),
            gflops(batch_eval_flops, eval_all.p50_us),
        );
        row(
            format!("total (batch {})", a.batch),
            total,
            format!("{:.0} fn/s", rate(a.batch, total)),
            gflops(gen_flops + batch_eval_flops, total.p50_us),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let l = Latency::of((1..=100).map(Duration::from_micros).collect());
        assert_eq!(
            (l.p50_us, l.p90_us, l.p99_us, l.max_us, l.min_us),
            (50.0, 90.0, 99.0, 100.0, 1.0)
        );
        let mut r = Lcg::new(3);
        assert!((0..1000)
            .map(|_| r.next_f32())
            .all(|x| (0.0..1.0).contains(&x)));
    }
}
