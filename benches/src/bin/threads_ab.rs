//! `threads_ab`: the 2-thread eval speedup of issue 7, measured so that the machine's drifting
//! speed cannot skew it: `Target::eval` (1 thread) and `Target::eval_par` (N threads) are
//! called in alternation in one process on the same target and points, and the figure is the
//! median of the per-pair ratios `t(eval) / t(eval_par)`.
//!
//! ```text
//! threads_ab [--threads N] [--budget SECONDS] [NAME...]     # default: 2 threads, 4 s, S L D
//! ```
//! Three ways to call `eval_par`, each its own row:
//! - `caller`: from the main thread, rayon's global pool built with N threads (the calling
//!   thread works with N - 1 of them);
//! - `in pool`: the whole loop inside `pool.install` of an N-thread pool (the caller is one of
//!   its threads, as in a service whose requests run on rayon);
//! - `install each`: `pool.install(|| eval_par(..))` per call from the main thread (a hand-off
//!   to the pool and back per call, and N + 1 threads on the cores).
//!
//! Prints, per workload and way: both medians, the median ratio and its 10th-90th
//! percentiles, and the number of pairs. The outputs of the two calls are compared bit for
//! bit first.

use std::process::ExitCode;
use std::time::Instant;

use hdon_benches::cli::{exit, AbArgs};
use hdon_benches::e2e::{Generated, ModelBuf, Runner};
use hdon_benches::{spec, WeightType};

fn main() -> ExitCode {
    exit("threads_ab", run())
}

fn run() -> Result<(), String> {
    let usage = "usage: threads_ab [--threads N] [--budget SECONDS] [NAME...]";
    let defaults = AbArgs {
        threads: 2,
        budget: 4.0,
        names: ["S", "L", "D"].map(String::from).to_vec(),
    };
    let Some(AbArgs {
        threads,
        budget,
        names,
    }) = AbArgs::parse(usage, defaults, true)?
    else {
        return Ok(());
    };
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()
        .map_err(|e| format!("rayon global pool: {e}"))?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| format!("rayon pool: {e}"))?;
    println!(
        "| workload | eval_par called | 1 thread us | {threads} threads us | per-pair speedup, median [p10-p90] | pairs |"
    );
    println!("|---|---|---|---|---|---|");
    for name in &names {
        let s = spec(name).ok_or(format!("unknown workload {name:?}"))?;
        if s.batch != 1 {
            return Err(format!(
                "{name}: batch {} (one input function only)",
                s.batch
            ));
        }
        let w = s.build();
        let buf = ModelBuf::for_workload(&w, WeightType::F32)?;
        let runner = Runner::new(&w, &buf)?;
        let mut state = runner.state();
        let mut g = runner.generate(&mut state.workspace)?;
        let Generated::One(target) = &mut g else {
            return Err(format!("{name}: expected one target"));
        };
        let points = &w.points[..];
        let mut one = vec![0.0f32; state.out.len()];
        let mut par = vec![1.0f32; state.out.len()];
        let e = |r: Result<(), hdon_runtime::Error>| r.map_err(|e| format!("{name}: {e}"));
        e(target.eval(points, &mut one))?;
        e(target.eval_par(points, &mut par))?;
        if one
            .iter()
            .zip(&par)
            .any(|(a, b)| a.to_bits() != b.to_bits())
        {
            return Err(format!("{name}: eval_par differs from eval"));
        }
        let row = |how: &str, pairs: Pairs| {
            let Pairs(mut t1, mut tn) = pairs;
            let mut r: Vec<f64> = t1.iter().zip(&tn).map(|(a, b)| a / b).collect();
            let med = |v: &mut Vec<f64>| {
                v.sort_by(f64::total_cmp);
                v[v.len() / 2]
            };
            let pct = |v: &[f64], p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
            let (m1, mn, mr) = (med(&mut t1), med(&mut tn), med(&mut r));
            println!(
                "| {name} | {how} | {:.1} | {:.1} | {mr:.2}x [{:.2}-{:.2}] | {} |",
                m1 * 1e6,
                mn * 1e6,
                pct(&r, 0.1),
                pct(&r, 0.9),
                r.len()
            );
        };
        let mut call = |parallel: bool| {
            if parallel {
                e(target.eval_par(points, &mut par))
            } else {
                e(target.eval(points, &mut one))
            }
        };
        row("caller", pairs(budget, &mut call)?);
        row("in pool", pool.install(|| pairs(budget, &mut call))?);
        let mut call = |parallel: bool| {
            if parallel {
                pool.install(|| e(target.eval_par(points, &mut par)))
            } else {
                e(target.eval(points, &mut one))
            }
        };
        row("install each", pairs(budget, &mut call)?);
    }
    Ok(())
}

/// Per-pair times in seconds: 1 thread, N threads.
struct Pairs(Vec<f64>, Vec<f64>);

/// Alternates `call(false)` (1 thread) and `call(true)` (N threads) for `budget` seconds (at
/// least 5 pairs, at most 2000).
fn pairs(
    budget: f64,
    call: &mut (impl FnMut(bool) -> Result<(), String> + Send),
) -> Result<Pairs, String> {
    let (mut t1, mut tn, mut spent) = (Vec::new(), Vec::new(), 0.0);
    while t1.len() < 5 || (spent < budget && t1.len() < 2000) {
        let a = Instant::now();
        call(false)?;
        let b = Instant::now();
        call(true)?;
        let c = Instant::now();
        t1.push((b - a).as_secs_f64());
        tn.push((c - b).as_secs_f64());
        spent += (c - a).as_secs_f64();
    }
    Ok(Pairs(t1, tn))
}
