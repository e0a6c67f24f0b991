//! `layout_ab`: the generate time of theta layout 2 (`hdon export --theta-layout folded`)
//! against layout 1, measured so that the machine's drifting speed cannot skew it: the two
//! files of the same HyperDeepONet workload (f32 weights) are generated from in alternation
//! in one process, call by call, and the figure is the median of the per-pair ratios
//! `t(layout 1) / t(layout 2)`.
//!
//! ```text
//! layout_ab [--budget SECONDS] [NAME...]     # default: 4 s per workload, S B
//! ```
//! Prints, per workload: both medians and 10th percentiles, the median ratio and its 10th-90th
//! percentiles, and the number of pairs. Workload B runs `Model::generate_batch` (64
//! functions) on a 1-thread pool, the others `Model::generate`. The two layouts' outputs at
//! the workload's points are compared first (they differ by rounding only).
//!
//! For the one-function workloads the loop also times a yardstick: one read of as many bytes
//! as the hypernetwork's f32 weights and biases (`peak.rs`'s vector-sum loop over a buffer of
//! that size, in L2 like the weights). `layout 2 / read` is the median of the per-loop ratios:
//! how much longer a generate takes than reading its weights once at that moment's L2 rate.

#[path = "peak.rs"]
mod peak;

use std::hint::black_box;
use std::process::ExitCode;
use std::time::Instant;

use hdon_benches::cli::{exit, percentile, sort, AbArgs};
use hdon_benches::e2e::{ModelBuf, Phase, Runner};
use hdon_benches::{spec, Family, WeightType};

fn main() -> ExitCode {
    exit("layout_ab", run())
}

fn run() -> Result<(), String> {
    let usage = "usage: layout_ab [--budget SECONDS] [NAME...]";
    let defaults = AbArgs {
        threads: 1,
        budget: 4.0,
        names: ["S", "B"].map(String::from).to_vec(),
    };
    let Some(AbArgs { budget, names, .. }) = AbArgs::parse(usage, defaults, false)? else {
        return Ok(());
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .map_err(|e| format!("rayon pool: {e}"))?;
    println!("| workload | layout 1 us (p10) | layout 2 us (p10) | per-pair layout 1 / layout 2, median [p10-p90] | pairs | max abs output diff | read of the weights us | layout 2 / read, median [p10-p90] |");
    println!("|---|---|---|---|---|---|---|---|");
    for name in &names {
        let s = spec(name).ok_or(format!("unknown workload {name:?}"))?;
        if s.family != Family::Hyper {
            return Err(format!("{name}: not a HyperDeepONet workload"));
        }
        let w = s.build();
        let (b1, b2) = (
            ModelBuf::for_workload(&w, WeightType::F32)?,
            ModelBuf::for_workload(&w, WeightType::F32Folded)?,
        );
        let (r1, r2) = (Runner::new(&w, &b1)?, Runner::new(&w, &b2)?);
        let (mut s1, mut s2) = (r1.state(), r2.state());
        pool.install(|| r1.time(Phase::Total, 1, 0.0, &mut s1))?;
        pool.install(|| r2.time(Phase::Total, 1, 0.0, &mut s2))?;
        let diff = s1
            .out
            .iter()
            .zip(&s2.out)
            .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
        let gen = |r: &Runner<'_>, ws: &mut [f32]| -> Result<f64, String> {
            let t = Instant::now();
            r.generate(ws).map(drop)?;
            Ok(t.elapsed().as_secs_f64())
        };
        // The yardstick buffer: the hypernetwork's f32 parameters, rounded up to the read
        // loop's 128-float step (one-function workloads only).
        let params: usize = w
            .generate
            .iter()
            .map(|d| d.weight.len() + d.bias.len())
            .sum();
        let yard = if s.batch == 1 {
            vec![1.0f32; params.div_ceil(128) * 128]
        } else {
            Vec::new()
        };
        let read = |buf: &[f32]| -> f64 {
            let t = Instant::now();
            black_box(peak::l2_read(black_box(buf)));
            t.elapsed().as_secs_f64()
        };
        // The whole loop runs on the pool's one thread (B's generate_batch needs a pool; an
        // `install` per call would add a cross-thread hand-off to every timed call).
        let [mut t1, mut t2, mut tr] = pool.install(|| -> Result<[Vec<f64>; 3], String> {
            let (mut t1, mut t2, mut tr, mut spent) = (Vec::new(), Vec::new(), Vec::new(), 0.0);
            while t1.len() < 5 || (spent < budget && t1.len() < 200_000) {
                // Alternate which layout goes first, so neither always runs on a warmer
                // cache.
                let (a, b) = if t1.len() % 2 == 0 {
                    let a = gen(&r1, &mut s1.workspace)?;
                    (a, gen(&r2, &mut s2.workspace)?)
                } else {
                    let b = gen(&r2, &mut s2.workspace)?;
                    (gen(&r1, &mut s1.workspace)?, b)
                };
                t1.push(a);
                t2.push(b);
                spent += a + b;
                if !yard.is_empty() {
                    let c = read(&yard);
                    tr.push(c);
                    spent += c;
                }
            }
            Ok([t1, t2, tr])
        })?;
        let mut q: Vec<f64> = t2.iter().zip(&tr).map(|(a, b)| a / b).collect();
        let mut r: Vec<f64> = t1.iter().zip(&t2).map(|(a, b)| a / b).collect();
        for v in [&mut t1, &mut t2, &mut r, &mut tr, &mut q] {
            sort(v);
        }
        let yardstick = if tr.is_empty() {
            "- | -".to_string()
        } else {
            format!(
                "{:.2} ({} KB) | {:.3} [{:.3}-{:.3}]",
                percentile(&tr, 0.5) * 1e6,
                yard.len() * 4 / 1000,
                percentile(&q, 0.5),
                percentile(&q, 0.1),
                percentile(&q, 0.9)
            )
        };
        println!(
            "| {name} | {:.2} ({:.2}) | {:.2} ({:.2}) | {:.3} [{:.3}-{:.3}] | {} | {diff:.2e} | {yardstick} |",
            percentile(&t1, 0.5) * 1e6,
            percentile(&t1, 0.1) * 1e6,
            percentile(&t2, 0.5) * 1e6,
            percentile(&t2, 0.1) * 1e6,
            percentile(&r, 0.5),
            percentile(&r, 0.1),
            percentile(&r, 0.9),
            r.len()
        );
    }
    Ok(())
}
