//! `threads_ab`: the 2-thread eval speedup of issue 7, measured so that the machine's drifting
//! speed cannot skew it: `Target::eval` (1 thread) and `Target::eval_par` (N threads) are
//! called in alternation in one process on the same target and points, and the figure is the
//! median of the per-pair ratios `t(eval) / t(eval_par)`.
//!
//! ```text
//! threads_ab [--threads N] [--budget SECONDS] [NAME...]     # default: 2 threads, 4 s, S L D
//! ```
//! Five ways to call `eval_par` or `eval_on`, each its own row (each alternated with the serial
//! `eval`):
//! - `caller`: from the main thread, rayon's global pool built with N threads (the calling
//!   thread works with N - 1 of them);
//! - `in pool`: the whole loop inside `pool.install` of an N-thread pool (the caller is one of
//!   its threads, as in a service whose requests run on rayon);
//! - `in pool, runs of 8`: as `in pool`, but 8 calls of each kind in a row (a busy service:
//!   between its calls the pool's threads do not fall asleep, so only the first of 8 pays
//!   their wake-up; pair `i` is the `i`-th call of each run);
//! - `team, spin 1000 us`: `Target::eval_on` an N-thread `hdon_runtime::Team` whose workers
//!   poll for 1 ms after each call: alternated with serial calls of 0.2-0.4 ms, the next call
//!   finds them awake (the serial calls in this row run while they poll). Alternated in the
//!   same loop with the FMA burst on the team (`Team::run`), and compared with it as `in pool`
//!   is with the rayon burst;
//! - `install each`: `pool.install(|| eval_par(..))` per call from the main thread (a hand-off
//!   to a pool thread and back per call: two wake-ups, while the main thread waits).
//!
//! And a yardstick, alternated in the same loop as `in pool`: a burst of pure FMA work as long
//! as the workload's serial eval, in 64 pieces that the threads claim as they come (`FMA
//! burst` row). It has no memory traffic and nothing to merge, so its speedup is what the
//! machine gives N threads for a burst of that length at that moment (on a shared VM: the
//! second vCPU's wake-up and availability). `in pool / yardstick` is the median of the
//! per-loop ratios of the two speedups: 1.00x means `eval_par` loses nothing the machine does
//! not take from any parallel work of that length.
//!
//! And a control for the team row: `serial eval: other core parked / polling` alternates the
//! serial eval with a second thread parked and with it polling an atomic (PAUSE loop, as a
//! team's idle worker): 1.00x means polling costs the serial work nothing, below 1 is the
//! slowdown.
//!
//! Prints, per workload and way: both medians, the median ratio and its 10th-90th
//! percentiles, and the number of pairs. The outputs of the two calls are compared bit for
//! bit first.

#[path = "peak.rs"]
mod peak;

use std::hint::black_box;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use rayon::prelude::*;

use hdon_benches::cli::{exit, percentile, sort, AbArgs, Error};
use hdon_benches::e2e::{Generated, ModelBuf, Runner};
use hdon_benches::{spec, WeightType};

fn main() -> ExitCode {
    exit("threads_ab", run())
}

fn run() -> Result<(), Error> {
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
    }) = AbArgs::parse(usage, defaults, true, |s| match s.batch {
        1 => Ok(()),
        b => Err(format!("batch {b} (one input function only)")),
    })?
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
    let team = hdon_runtime::Team::new(threads, std::time::Duration::from_millis(1))
        .map_err(|e| format!("team: {e}"))?;
    println!(
        "| workload | eval_par called | 1 thread us | {threads} threads us | per-pair speedup, median [p10-p90] | pairs |"
    );
    println!("|---|---|---|---|---|---|");
    for name in &names {
        let s = spec(name).ok_or(format!("unknown workload {name:?}"))?;
        let w = s.build();
        let buf = ModelBuf::for_workload(&w, WeightType::F32)?;
        let runner = Runner::new(&w, &buf)?;
        let mut state = runner.state();
        let mut g = runner.generate(&mut state.workspace, 1)?;
        let Generated::One(target) = &mut g else {
            return Err(format!("{name}: expected one target").into());
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
            return Err(format!("{name}: eval_par differs from eval").into());
        }
        // One table row: both medians (us) when `times`, else the columns are left empty.
        let row = |how: &str, pairs: Pairs, times: bool| {
            let mut r = speedups(&pairs);
            let Pairs(mut t1, mut tn) = pairs;
            for v in [&mut r, &mut t1, &mut tn] {
                sort(v);
            }
            let (c1, cn) = if times {
                (
                    format!("{:.1}", percentile(&t1, 0.5) * 1e6),
                    format!("{:.1}", percentile(&tn, 0.5) * 1e6),
                )
            } else {
                (String::new(), String::new())
            };
            println!(
                "| {name} | {how} | {c1} | {cn} | {:.2}x [{:.2}-{:.2}] | {} |",
                percentile(&r, 0.5),
                percentile(&r, 0.1),
                percentile(&r, 0.9),
                r.len()
            );
        };
        // The yardstick: a burst of pure FMA work as long as this workload's serial eval, in
        // 64 pieces that both threads claim as they come (rayon splits down to one piece). It
        // has no memory traffic and nothing to merge: its speedup is what the machine gives a
        // burst of this length at that moment. It runs in the same loop as `in pool`.
        let serial = (0..5)
            .map(|_| {
                let t = Instant::now();
                e(target.eval(points, &mut one)).map(|()| t.elapsed().as_secs_f64())
            })
            .collect::<Result<Vec<f64>, String>>()?
            .into_iter()
            .fold(f64::INFINITY, f64::min);
        let rounds = fma_rounds_for(serial / 64.0);
        // One of the burst's 64 pieces; 1 thread runs them in a row.
        let piece = || {
            black_box(peak::fma_rounds(rounds));
        };
        let serial_burst = || (0..64).for_each(|_| piece());
        let mut burst = |parallel: bool| {
            if parallel {
                (0..64)
                    .into_par_iter()
                    .with_max_len(1)
                    .for_each(|_| piece());
            } else {
                serial_burst();
            }
            Ok(())
        };
        let mut call = |parallel: bool| {
            if parallel {
                e(target.eval_par(points, &mut par))
            } else {
                e(target.eval(points, &mut one))
            }
        };
        let [caller] = pairs(budget, 1, [&mut call])?;
        row("caller", caller, true);
        let [in_pool, yardstick] = pool.install(|| pairs(budget, 1, [&mut call, &mut burst]))?;
        let relative = Pairs(speedups(&in_pool), speedups(&yardstick));
        row("in pool", in_pool, true);
        row("FMA burst, in pool (yardstick)", yardstick, true);
        row("in pool / yardstick", relative, false);
        let [runs] = pool.install(|| pairs(budget, 8, [&mut call]))?;
        row("in pool, runs of 8", runs, true);
        let mut call = |parallel: bool| {
            if parallel {
                e(target.eval_on(&team, points, &mut par))
            } else {
                e(target.eval(points, &mut one))
            }
        };
        // The yardstick on the team: the same FMA burst, its pieces claimed by the team's
        // threads (no wake-up in it either).
        let mut team_burst = |parallel: bool| {
            if parallel {
                let next = AtomicUsize::new(0);
                team.run(&|| {
                    while next.fetch_add(1, Ordering::Relaxed) < 64 {
                        piece();
                    }
                });
            } else {
                serial_burst();
            }
            Ok(())
        };
        let [on_team, team_yardstick] = pairs(budget, 1, [&mut call, &mut team_burst])?;
        let relative = Pairs(speedups(&on_team), speedups(&team_yardstick));
        let spin = team.spin().as_micros();
        row(&format!("team, spin {spin} us"), on_team, true);
        row("FMA burst, team (yardstick)", team_yardstick, true);
        row("team / yardstick", relative, false);
        let mut call = |parallel: bool| {
            if parallel {
                pool.install(|| e(target.eval_par(points, &mut par)))
            } else {
                e(target.eval(points, &mut one))
            }
        };
        let [install_each] = pairs(budget, 1, [&mut call])?;
        row("install each", install_each, true);
        // The control for the team row: does a thread polling on the other core (as the
        // team's worker does between calls) slow the serial eval? Alternated: the serial eval
        // with that thread parked (`1 thread` column), and while it polls (`2 threads` column).
        let (on, stop) = (AtomicBool::new(false), AtomicBool::new(false));
        let polled = std::thread::scope(|sc| {
            let poller = sc.spawn(|| {
                while !stop.load(Ordering::Relaxed) {
                    if on.load(Ordering::Relaxed) {
                        std::hint::spin_loop();
                    } else {
                        std::thread::park_timeout(std::time::Duration::from_millis(1));
                    }
                }
            });
            let mut call = |polling: bool| {
                on.store(polling, Ordering::Relaxed);
                if polling {
                    poller.thread().unpark();
                }
                e(target.eval(points, &mut one))
            };
            let r = pairs(budget, 1, [&mut call]);
            stop.store(true, Ordering::Relaxed);
            poller.thread().unpark();
            r
        });
        let [polled] = polled?;
        row("serial eval: other core parked / polling", polled, true);
    }
    Ok(())
}

/// FMA rounds of [`peak::fma_rounds`] that take about `seconds` on this core.
fn fma_rounds_for(seconds: f64) -> u64 {
    let probe = 1 << 14;
    let mut best = f64::INFINITY;
    for _ in 0..20 {
        let t = Instant::now();
        black_box(peak::fma_rounds(probe));
        best = best.min(t.elapsed().as_secs_f64());
    }
    ((seconds / best * probe as f64) as u64).max(1)
}

/// Per-pair times in seconds: 1 thread, N threads.
struct Pairs(Vec<f64>, Vec<f64>);

/// Per-pair speedups `t1 / tn` of `p`.
fn speedups(p: &Pairs) -> Vec<f64> {
    p.0.iter().zip(&p.1).map(|(a, b)| a / b).collect()
}

/// For each of `calls` in turn: `run` calls of `call(false)` (1 thread), then `run` of
/// `call(true)` (N threads); repeated for `budget` seconds in all (at least 5 pairs, at most
/// 2000 per call). Pair `i` of a call is its `i`-th call of each kind. With `run` = 1 the
/// pool's threads go to sleep during every 1-thread call and each N-thread call wakes them;
/// with `run` > 1 only the first call of a run does.
fn pairs<const K: usize>(
    budget: f64,
    run: usize,
    mut calls: [&mut (dyn FnMut(bool) -> Result<(), String> + Send); K],
) -> Result<[Pairs; K], String> {
    let mut out: [Pairs; K] = std::array::from_fn(|_| Pairs(Vec::new(), Vec::new()));
    let mut spent = 0.0;
    while out[0].0.len() < 5 || (spent < budget && out[0].0.len() < 2000) {
        for (call, p) in calls.iter_mut().zip(out.iter_mut()) {
            for parallel in [false, true] {
                for _ in 0..run {
                    let a = Instant::now();
                    call(parallel)?;
                    let t = a.elapsed().as_secs_f64();
                    if parallel { &mut p.1 } else { &mut p.0 }.push(t);
                    spent += t;
                }
            }
        }
    }
    Ok(out)
}
