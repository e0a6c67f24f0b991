//! `machine`: measures this machine's f32 FMA peak and read bandwidths on 1 and 2 threads, the
//! ceilings that docs/PERFORMANCE.md compares hdon's throughput with.
//!
//! ```text
//! cargo run --release -p hdon-benches --bin machine [-- --quick] [--dram-mib N]
//! ```
//! The loops are the kernels bench's yardsticks (`peak.rs`, included as a module, so both
//! measure with the same code): independent FMA chains on the widest vectors the CPU has
//! (AVX-512: 16 chains of 16 lanes, else AVX2: 12 of 8; aarch64 NEON: 24 of 4), 2 flops per
//! lane per FMA; and a
//! vector sum over a buffer (a pure read stream). This program adds the buffer sizes: half of
//! the L1d, half of the L2, a quarter of the L3 (the sizes Linux reports for CPU 0; 32 KiB,
//! 1 MiB and 32 MiB where unknown) and DRAM (1 GiB by default), and 2 threads (each thread its
//! own buffer).
//! Last, the wake-up latency of a rayon pool thread: how long after a `rayon::join` a second
//! thread of a 2-thread pool, idle for 0.2 or 1 ms before, starts the stolen half (what a
//! parallel eval loses at its start: `Target::eval_par` of S takes ~110 us on 2 threads), and
//! the same for the worker of an `hdon_runtime::Team` (`Target::eval_on`), polling or parked.
//!
//! Each figure is the best of repeated timed runs: these are ceilings, and time lost to other
//! processes on a shared machine only lowers a run's rate. Results go to stdout as a Markdown
//! table.

#[path = "peak.rs"]
mod peak;

use std::hint::black_box;
use std::process::ExitCode;
use std::time::Instant;

use hdon_benches::cli::{exit, wants_help, Error};

fn main() -> ExitCode {
    let usage =
        "usage: machine [--quick] [--dram-mib N]   (N >= 1 MiB; default 1024, 256 with --quick)";
    let args: Vec<String> = std::env::args().skip(1).collect();
    if wants_help(&args) {
        println!("{usage}");
        return ExitCode::SUCCESS;
    }
    let (mut quick, mut dram_mib) = (false, None);
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--quick" => quick = true,
            "--dram-mib" => match args.get(i + 1).map(|v| v.parse::<usize>()) {
                Some(Ok(n)) if n > 0 => {
                    dram_mib = Some(n);
                    i += 1;
                }
                _ => {
                    let e = format!("--dram-mib takes a number of MiB >= 1; {usage}");
                    return exit("machine", Err(Error::Usage(e)));
                }
            },
            other => {
                let e = format!("unknown argument {other:?}; {usage}");
                return exit("machine", Err(Error::Usage(e)));
            }
        }
        i += 1;
    }
    let dram_mib = dram_mib.unwrap_or(if quick { 256 } else { 1024 });
    let reps = if quick { 5 } else { 11 };

    println!("| measurement | 1 thread | 2 threads |");
    println!("|---|---|---|");
    match peak::fma_lanes() {
        0 => println!("| f32 FMA peak | (no AVX2+FMA, AVX-512 or NEON on this CPU) | |"),
        lanes => println!(
            "| f32 FMA peak, {} lanes (GFLOP/s) | {:.1} | {:.1} |",
            lanes,
            peak_gflops(1, reps),
            peak_gflops(2, reps)
        ),
    }
    // Per-thread buffers (`peak::cache_part`; the L2 one is the kernels bench's
    // `peak::l2_bytes`): half of the L1d and of the L2 (each core its own), a quarter of the
    // shared L3 (two threads' buffers together fill half of it). Where the sizes are unknown,
    // the fixed sizes used before 2026-12-07 (32 KiB, 1 MiB, 32 MiB), which on a core with
    // 512 KiB of L2 measured L2 and L3 together under the L2 label.
    let kib = |b: usize| {
        if b >= 1 << 20 && b.is_multiple_of(1 << 20) {
            format!("{} MiB", b >> 20)
        } else {
            format!("{} KiB", b >> 10)
        }
    };
    let level = |n: u32, part: usize, default: usize| match peak::cache_part(n, part) {
        Some((size, b)) => (format!("L{n} ({} of {})", kib(b), kib(size)), b),
        None => (format!("L{n} ({}, size unknown)", kib(default)), default),
    };
    for (label, bytes) in [
        level(1, 2, 32 << 10),
        level(2, 2, 1 << 20),
        level(3, 4, 32 << 20),
        (format!("DRAM ({dram_mib} MiB)"), dram_mib << 20),
    ] {
        let bw1 = read_gbps(1, bytes, reps);
        let bw2 = read_gbps(2, bytes, reps);
        println!("| read bandwidth, {label} (GB/s) | {bw1:.1} | {bw2:.1} |");
    }
    for idle_us in [200, 1000] {
        println!(
            "| rayon pool thread wake-up after {idle_us} us idle (us, median) | | {:.1} |",
            wake_us(idle_us, if quick { 100 } else { 500 })
        );
    }
    for (idle_us, spin_us) in [(200, 1000), (1000, 0)] {
        println!(
            "| hdon Team worker start after {idle_us} us idle, spin {spin_us} us (us, median) | | {:.1} |",
            team_start_us(idle_us, spin_us, if quick { 100 } else { 500 })
        );
    }
    ExitCode::SUCCESS
}

/// Busy-waits `us` microseconds on the calling thread.
fn spin(us: u64) {
    let t = Instant::now();
    while t.elapsed().as_micros() < u128::from(us) {
        std::hint::spin_loop();
    }
}

/// Median delay (us) between `Team::run` on the calling thread and the start of the job on the
/// worker of a 2-thread `hdon_runtime::Team` whose last job ended `idle_us` before; with
/// `spin_us` > `idle_us` the worker is still polling, with 0 it has parked.
fn team_start_us(idle_us: u64, spin_us: u64, rounds: usize) -> f64 {
    let team = hdon_runtime::Team::new(2, std::time::Duration::from_micros(spin_us))
        .expect("a team of 2 threads");
    let caller = std::thread::current().id();
    let mut delays: Vec<f64> = (0..rounds)
        .map(|_| {
            spin(idle_us);
            let started = std::sync::Mutex::new(None);
            let t0 = Instant::now();
            team.run(&|| {
                if std::thread::current().id() != caller {
                    *started.lock().unwrap() = Some(t0.elapsed());
                }
            });
            let delay = started.into_inner().unwrap();
            delay.map_or(f64::NAN, |d| d.as_secs_f64() * 1e6)
        })
        .collect();
    hdon_benches::cli::sort(&mut delays);
    hdon_benches::cli::percentile(&delays, 0.5)
}

/// Median delay (us) between a `rayon::join` on one thread of a 2-thread pool and the start of
/// its second closure on the other thread, which has had nothing to do for `idle_us`
/// (rounds where the joining thread ran both halves itself are left out).
fn wake_us(idle_us: u64, rounds: usize) -> f64 {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .expect("a rayon pool of 2 threads");
    let mut delays: Vec<f64> = pool.install(|| {
        (0..rounds)
            .filter_map(|_| {
                spin(idle_us);
                let me = rayon::current_thread_index();
                let t0 = Instant::now();
                let ((), (other, delay)) = rayon::join(
                    || spin(100),
                    || (rayon::current_thread_index(), t0.elapsed()),
                );
                (other != me).then_some(delay.as_secs_f64() * 1e6)
            })
            .collect()
    });
    if delays.is_empty() {
        return f64::NAN;
    }
    hdon_benches::cli::sort(&mut delays);
    hdon_benches::cli::percentile(&delays, 0.5)
}

/// Best over `reps` of the f32 FMA rate (GFLOP/s) summed over `threads` threads, each running
/// `peak::fma_peak` enough times to take ~0.1 s.
fn peak_gflops(threads: usize, reps: usize) -> f64 {
    const CALLS: u64 = 200;
    let rates: Vec<f64> = (0..reps)
        .map(|_| {
            let t0 = Instant::now();
            std::thread::scope(|s| {
                for _ in 0..threads {
                    s.spawn(|| {
                        for _ in 0..CALLS {
                            black_box(peak::fma_peak());
                        }
                    });
                }
            });
            (threads as u64 * CALLS * peak::fma_flops()) as f64 / t0.elapsed().as_secs_f64() / 1e9
        })
        .collect();
    best(&rates)
}

/// Best over `reps` of the read bandwidth (GB/s, 1e9 bytes) summed over `threads` threads,
/// each streaming its own `bytes`-long buffer (at least 256 MiB of reads per run).
fn read_gbps(threads: usize, bytes: usize, reps: usize) -> f64 {
    let floats = bytes / 4;
    let passes = (256usize << 20).div_ceil(bytes).max(1);
    let bufs: Vec<Vec<f32>> = (0..threads)
        .map(|t| (0..floats).map(|i| (i % 7 + t) as f32).collect())
        .collect();
    // Warm up: touch the pages and fill the caches that fit.
    for b in &bufs {
        black_box(peak::l2_read(b));
    }
    let rates: Vec<f64> = (0..reps)
        .map(|_| {
            let t0 = Instant::now();
            std::thread::scope(|s| {
                for b in &bufs {
                    s.spawn(move || {
                        for _ in 0..passes {
                            black_box(peak::l2_read(black_box(b)));
                        }
                    });
                }
            });
            (threads * passes * floats * 4) as f64 / t0.elapsed().as_secs_f64() / 1e9
        })
        .collect();
    best(&rates)
}

fn best(v: &[f64]) -> f64 {
    v.iter().copied().fold(0.0, f64::max)
}
