//! `machine`: measures this machine's f32 FMA peak and read bandwidths, the ceilings that
//! docs/PERFORMANCE.md compares hdon's throughput with.
//!
//! ```text
//! cargo run --release -p hdon-benches --bin machine [-- --quick] [--dram-mib N]
//! ```
//! - Peak: independent chains of `vfmadd` on registers only (12 chains, more than
//!   latency x ports = 4 x 2 on Sapphire Rapids, so the FMA ports never wait), AVX-512 (16 lanes)
//!   and AVX2 (8 lanes), on 1 and 2 threads. 2 flops per lane per FMA.
//! - Bandwidth: a read-only streaming sum over a buffer sized for L1 (32 KiB), L2 (1 MiB),
//!   L3 (32 MiB) and DRAM (1 GiB by default), 64-byte aligned AVX-512 loads into 8 accumulators;
//!   1 and 2 threads (each thread reads its own buffer of that size).
//!
//! Each figure is the best of repeated timed runs: these are ceilings, and time lost to other
//! processes on a shared machine only lowers a run's rate. Results go to stdout as a Markdown
//! table.

use std::hint::black_box;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    let dram_mib = args
        .iter()
        .position(|a| a == "--dram-mib")
        .and_then(|i| args.get(i + 1))
        .map(|v| {
            v.parse::<usize>()
                .expect("--dram-mib takes a number of MiB")
        })
        .unwrap_or(if quick { 256 } else { 1024 });
    let reps = if quick { 5 } else { 11 };

    #[cfg(target_arch = "x86_64")]
    {
        let avx512 = std::arch::is_x86_feature_detected!("avx512f");
        let avx2 = std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma");
        println!("| measurement | 1 thread | 2 threads |");
        println!("|---|---|---|");
        if avx512 {
            let f = |t| peak_gflops(t, reps, Isa::Avx512);
            println!(
                "| f32 FMA peak, AVX-512 (GFLOP/s) | {:.1} | {:.1} |",
                f(1),
                f(2)
            );
        }
        if avx2 {
            let f = |t| peak_gflops(t, reps, Isa::Avx2);
            println!(
                "| f32 FMA peak, AVX2 (GFLOP/s) | {:.1} | {:.1} |",
                f(1),
                f(2)
            );
        }
        if !avx512 && !avx2 {
            println!("| FMA peak | (no AVX2+FMA on this CPU) | |");
        }
        for (label, bytes) in [
            ("L1 (32 KiB)", 32usize << 10),
            ("L2 (1 MiB)", 1 << 20),
            ("L3 (32 MiB)", 32 << 20),
            ("DRAM", dram_mib << 20),
        ] {
            let label = if label == "DRAM" {
                format!("DRAM ({dram_mib} MiB)")
            } else {
                label.to_string()
            };
            let bw1 = read_gbps(1, bytes, reps, avx512);
            let bw2 = read_gbps(2, bytes, reps, avx512);
            println!("| read bandwidth, {label} (GB/s) | {bw1:.1} | {bw2:.1} |");
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (dram_mib, reps);
        println!("machine: only x86-64 is measured (AVX-512 / AVX2 FMA chains)");
    }
}

#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
enum Isa {
    Avx512,
    Avx2,
}

/// Best over `reps` of the f32 FMA rate (GFLOP/s) summed over `threads` threads.
#[cfg(target_arch = "x86_64")]
fn peak_gflops(threads: usize, reps: usize, isa: Isa) -> f64 {
    const ITERS: u64 = 20_000_000;
    let lanes = match isa {
        Isa::Avx512 => 16.0,
        Isa::Avx2 => 8.0,
    };
    let rates: Vec<f64> = (0..reps)
        .map(|_| {
            let t0 = Instant::now();
            std::thread::scope(|s| {
                for _ in 0..threads {
                    s.spawn(|| {
                        // SAFETY: callers of peak_gflops checked the ISA with
                        // is_x86_feature_detected.
                        let r = unsafe {
                            match isa {
                                Isa::Avx512 => fma_chains_avx512(ITERS),
                                Isa::Avx2 => fma_chains_avx2(ITERS),
                            }
                        };
                        black_box(r);
                    });
                }
            });
            let secs = t0.elapsed().as_secs_f64();
            (threads as f64 * ITERS as f64 * 12.0 * lanes * 2.0) / secs / 1e9
        })
        .collect();
    best(&rates)
}

/// `iters` rounds of 12 independent AVX-512 FMA chains; returns a lane sum so the work is live.
///
/// # Safety
/// The CPU must support AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn fma_chains_avx512(iters: u64) -> f32 {
    use std::arch::x86_64::*;
    let a = _mm512_set1_ps(0.999_999);
    let b = _mm512_set1_ps(1e-7);
    let mut acc = [_mm512_set1_ps(1.0); 12];
    for _ in 0..iters {
        for v in acc.iter_mut() {
            *v = _mm512_fmadd_ps(*v, a, b);
        }
    }
    let mut sum = _mm512_setzero_ps();
    for v in acc {
        sum = _mm512_add_ps(sum, v);
    }
    _mm512_reduce_add_ps(sum)
}

/// `iters` rounds of 12 independent AVX2 FMA chains; returns a lane sum so the work is live.
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn fma_chains_avx2(iters: u64) -> f32 {
    use std::arch::x86_64::*;
    let a = _mm256_set1_ps(0.999_999);
    let b = _mm256_set1_ps(1e-7);
    let mut acc = [_mm256_set1_ps(1.0); 12];
    for _ in 0..iters {
        for v in acc.iter_mut() {
            *v = _mm256_fmadd_ps(*v, a, b);
        }
    }
    let mut sum = _mm256_setzero_ps();
    for v in acc {
        sum = _mm256_add_ps(sum, v);
    }
    let mut lanes = [0.0f32; 8];
    // SAFETY: lanes holds 8 f32, exactly one 256-bit store.
    unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), sum) };
    lanes.iter().sum()
}

/// Best over `reps` of the read bandwidth (GB/s, 1e9 bytes) summed over `threads` threads,
/// each streaming its own `bytes`-long buffer enough times to take ~20 ms or more.
#[cfg(target_arch = "x86_64")]
fn read_gbps(threads: usize, bytes: usize, reps: usize, avx512: bool) -> f64 {
    let floats = bytes / 4;
    let passes = (256usize << 20).div_ceil(bytes).max(1);
    let bufs: Vec<Vec<f32>> = (0..threads)
        .map(|t| (0..floats).map(|i| (i % 7 + t) as f32).collect())
        .collect();
    let sum_buf = |buf: &[f32]| -> f32 {
        if avx512 {
            // SAFETY: avx512 was checked by the caller with is_x86_feature_detected.
            unsafe { sum_avx512(buf) }
        } else {
            buf.iter().sum()
        }
    };
    // Warm up: touch the pages and fill the caches that fit.
    for b in &bufs {
        black_box(sum_buf(b));
    }
    let rates: Vec<f64> = (0..reps)
        .map(|_| {
            let t0 = Instant::now();
            std::thread::scope(|s| {
                for b in &bufs {
                    s.spawn(move || {
                        for _ in 0..passes {
                            black_box(sum_buf(black_box(b)));
                        }
                    });
                }
            });
            (threads * passes * floats * 4) as f64 / t0.elapsed().as_secs_f64() / 1e9
        })
        .collect();
    best(&rates)
}

/// Sum of `buf` with 512-bit unaligned loads into 8 accumulators (a pure read stream).
///
/// # Safety
/// The CPU must support AVX-512F. Reads only within `buf`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn sum_avx512(buf: &[f32]) -> f32 {
    use std::arch::x86_64::*;
    let mut acc = [_mm512_setzero_ps(); 8];
    let blocks = buf.chunks_exact(128);
    let tail: f32 = blocks.remainder().iter().sum();
    for block in blocks {
        for (k, v) in acc.iter_mut().enumerate() {
            // SAFETY: block has 128 floats, so k*16..k*16+16 is in bounds.
            let x = unsafe { _mm512_loadu_ps(block.as_ptr().add(k * 16)) };
            *v = _mm512_add_ps(*v, x);
        }
    }
    let mut sum = _mm512_setzero_ps();
    for v in acc {
        sum = _mm512_add_ps(sum, v);
    }
    _mm512_reduce_add_ps(sum) + tail
}

fn best(v: &[f64]) -> f64 {
    v.iter().copied().fold(0.0, f64::max)
}
