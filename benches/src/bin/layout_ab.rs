//! `layout_ab`: the generate time of theta layout 2 (`hdon export --theta-layout folded`)
//! against layout 1, and of layout 2 with rows padded to 64 bytes (`--dtype f32-padded`)
//! against layout 2, measured so that the machine's drifting speed cannot skew it: the three
//! files of the same HyperDeepONet workload (f32 weights) are generated from in turn in one
//! process, call by call, and the figures are medians of the per-loop ratios
//! `t(layout 1) / t(layout 2)` and `t(layout 2) / t(layout 2 padded)`.
//!
//! ```text
//! layout_ab [--budget SECONDS] [NAME...]     # default: 4 s per workload, S B
//! ```
//! Prints, per workload: the three medians and 10th percentiles, the median ratios and their
//! 10th-90th percentiles, and the number of loops. Workload B runs `Model::generate_batch` (64
//! functions) on a 1-thread pool, the others `Model::generate`. The files' outputs at the
//! workload's points are compared first (layouts 1 and 2 differ by rounding only; padding
//! changes no bit).
//!
//! Every timed call follows an untimed call of the same kind, so each file's weights are in L2
//! as in a service that calls one model (the three files' weights do not fit there together).
//!
//! For the one-function workloads the loop also times a yardstick: one read of as many bytes
//! as the hypernetwork's f32 weights and biases (`peak.rs`'s vector-sum loop over a buffer of
//! that size, in L2 like the weights). `layout 2 / read` and `padded / read` are medians of the
//! per-loop ratios: how much longer a generate takes than reading its weights once at that
//! moment's L2 rate.

#[path = "peak.rs"]
mod peak;

use std::hint::black_box;
use std::process::ExitCode;
use std::time::Instant;

use hdon_benches::cli::{exit, percentile, sort, AbArgs, Error};
use hdon_benches::e2e::{ModelBuf, Phase, Runner};
use hdon_benches::{spec, Family, WeightType};

fn main() -> ExitCode {
    exit("layout_ab", run())
}

fn run() -> Result<(), Error> {
    let usage = "usage: layout_ab [--budget SECONDS] [NAME...]";
    let defaults = AbArgs {
        threads: 1,
        budget: 4.0,
        names: ["S", "B"].map(String::from).to_vec(),
    };
    let Some(AbArgs { budget, names, .. }) =
        AbArgs::parse(usage, defaults, false, |s| match s.family {
            Family::Hyper => Ok(()),
            _ => Err("not a HyperDeepONet workload".to_string()),
        })?
    else {
        return Ok(());
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .map_err(|e| format!("rayon pool: {e}"))?;
    println!("| workload | layout 1 us (p10) | layout 2 us (p10) | layout 2 padded us (p10) | per-loop layout 1 / layout 2, median [p10-p90] | per-loop layout 2 / layout 2 padded, median [p10-p90] | loops | max abs output diff 1 vs 2, 2 vs padded | read of the weights us | layout 2 / read, padded / read, medians |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for name in &names {
        let s = spec(name).ok_or(format!("unknown workload {name:?}"))?;
        let w = s.build();
        let kinds = [
            WeightType::F32,
            WeightType::F32Folded,
            WeightType::F32PaddedFolded,
        ];
        let bufs = kinds
            .iter()
            .map(|&k| ModelBuf::for_workload(&w, k))
            .collect::<Result<Vec<_>, _>>()?;
        let runners = bufs
            .iter()
            .map(|b| Runner::new(&w, b))
            .collect::<Result<Vec<_>, _>>()?;
        let mut states: Vec<_> = runners.iter().map(|r| r.state()).collect();
        for (r, st) in runners.iter().zip(&mut states) {
            pool.install(|| r.time(Phase::Total, 1, 0.0, st))?;
        }
        let diff = |a: &[f32], b: &[f32]| {
            a.iter()
                .zip(b)
                .fold(0.0f32, |m, (x, y)| m.max((x - y).abs()))
        };
        let (d12, d2p) = (
            diff(&states[0].out, &states[1].out),
            diff(&states[1].out, &states[2].out),
        );
        let gen = |r: &Runner<'_>, ws: &mut [f32]| -> Result<f64, String> {
            let t = Instant::now();
            r.generate(ws, 1).map(drop)?;
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
        let (mut t, mut tr) = pool.install(|| -> Result<([Vec<f64>; 3], Vec<f64>), String> {
            let (mut t, mut tr, mut spent) = (<[Vec<f64>; 3]>::default(), Vec::new(), 0.0);
            let mut loops = 0;
            while loops < 5 || (spent < budget && loops < 200_000) {
                // Rotate which file goes first. Each timed call follows an untimed one of the
                // same kind: three files' weights and the yardstick (2 MB for S) do not fit in
                // L2 together, and a service calling one model finds its weights in L2.
                for k in 0..3 {
                    let i = (loops + k) % 3;
                    let w = gen(&runners[i], &mut states[i].workspace)?;
                    let d = gen(&runners[i], &mut states[i].workspace)?;
                    t[i].push(d);
                    spent += w + d;
                }
                if !yard.is_empty() {
                    let w = read(&yard);
                    let c = read(&yard);
                    tr.push(c);
                    spent += w + c;
                }
                loops += 1;
            }
            Ok((t, tr))
        })?;
        let per_loop = |a: &[f64], b: &[f64]| -> Vec<f64> {
            let mut r: Vec<f64> = a.iter().zip(b).map(|(x, y)| x / y).collect();
            sort(&mut r);
            r
        };
        let r12 = per_loop(&t[0], &t[1]);
        let r2p = per_loop(&t[1], &t[2]);
        let (q2, qp) = (per_loop(&t[1], &tr), per_loop(&t[2], &tr));
        for v in t.iter_mut().chain([&mut tr]) {
            sort(v);
        }
        let yardstick = if tr.is_empty() {
            "- | -".to_string()
        } else {
            format!(
                "{:.2} ({} KB) | {:.3}, {:.3}",
                percentile(&tr, 0.5) * 1e6,
                yard.len() * 4 / 1000,
                percentile(&q2, 0.5),
                percentile(&qp, 0.5),
            )
        };
        let us = |v: &[f64]| {
            format!(
                "{:.2} ({:.2})",
                percentile(v, 0.5) * 1e6,
                percentile(v, 0.1) * 1e6
            )
        };
        let ratio = |r: &[f64]| {
            format!(
                "{:.3} [{:.3}-{:.3}]",
                percentile(r, 0.5),
                percentile(r, 0.1),
                percentile(r, 0.9)
            )
        };
        println!(
            "| {name} | {} | {} | {} | {} | {} | {} | {d12:.2e}, {d2p:.2e} | {yardstick} |",
            us(&t[0]),
            us(&t[1]),
            us(&t[2]),
            ratio(&r12),
            ratio(&r2p),
            r12.len()
        );
    }
    Ok(())
}
