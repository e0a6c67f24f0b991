//! `threads_ab`: the 2-thread eval speedup of issue 7, measured so that the machine's drifting
//! speed cannot skew it: `Target::eval` (1 thread) and `Target::eval_par` (a rayon pool of 2)
//! are called in alternation in one process on the same target and points, and the figure is
//! the median of the per-pair ratios `t(eval) / t(eval_par)`.
//!
//! ```text
//! threads_ab [--threads N] [--budget SECONDS] [NAME...]     # default: 2 threads, 4 s, S L D
//! ```
//! Prints, per workload: both medians, the median ratio and its 10th-90th percentiles, and the
//! number of pairs. The outputs of the two calls are compared bit for bit first.

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
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| format!("rayon pool: {e}"))?;
    println!("| workload | 1 thread us | {threads} threads us | per-pair speedup, median [p10-p90] | pairs |");
    println!("|---|---|---|---|---|");
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
        pool.install(|| e(target.eval_par(points, &mut par)))?;
        if one
            .iter()
            .zip(&par)
            .any(|(a, b)| a.to_bits() != b.to_bits())
        {
            return Err(format!("{name}: eval_par differs from eval"));
        }
        let (mut t1, mut tn, mut spent) = (Vec::new(), Vec::new(), 0.0);
        while t1.len() < 5 || (spent < budget && t1.len() < 2000) {
            let a = Instant::now();
            e(target.eval(points, &mut one))?;
            let b = Instant::now();
            pool.install(|| e(target.eval_par(points, &mut par)))?;
            let c = Instant::now();
            t1.push((b - a).as_secs_f64());
            tn.push((c - b).as_secs_f64());
            spent += (c - a).as_secs_f64();
        }
        let mut r: Vec<f64> = t1.iter().zip(&tn).map(|(a, b)| a / b).collect();
        let med = |v: &mut Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let pct = |v: &[f64], p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
        let (m1, mn, mr) = (med(&mut t1), med(&mut tn), med(&mut r));
        println!(
            "| {name} | {:.1} | {:.1} | {mr:.2}x [{:.2}-{:.2}] | {} |",
            m1 * 1e6,
            mn * 1e6,
            pct(&r, 0.1),
            pct(&r, 0.9),
            r.len()
        );
    }
    Ok(())
}
