//! Measures this core's f32 FMA peak and L2 read bandwidth, the yardsticks of the kernel
//! benchmarks (`cargo run --release -p hdon-benches --bin peak`).
//!
//! FMA peak: independent chains of `acc = acc * a + b`, 16 on 16-lane (AVX-512) registers, 12
//! on 8-lane (AVX2) ones (AVX2 has 16 registers: 16 chains plus `a` and `b` would spill, and
//! the loop would measure the spills), 24 on 4-lane NEON ones (aarch64: 32 registers, and up to
//! four FMA pipes of 4 cycles' latency on the larger cores), 2 flops per lane per FMA. L2 read: sums a buffer of half
//! the L2 ([`l2_bytes`]: larger than L1, smaller than L2) with 8 independent vector adds per 8
//! loads. `benches/benches/kernels.rs`
//! includes this file as a module and runs the same loops inside its criterion run, so the
//! ratios it reports compare figures measured side by side.

#![allow(dead_code)] // also compiled as a module of the kernels bench, which uses no `main`

use std::hint::black_box;
use std::time::Instant;

/// FMA rounds per call of [`fma_peak`]; each round is one FMA on each of [`fma_chains`] chains.
pub const FMA_ROUNDS: u64 = 1 << 16;
/// Bytes of the L2 read test where the L2's size is unknown (not Linux, or no sysfs).
const L2_BYTES_DEFAULT: usize = 1 << 20;

/// Size in bytes of CPU 0's data or unified cache of `level` (1, 2 or 3), as Linux reports
/// it in `/sys/devices/system/cpu/cpu0/cache/index*/` (`level`, `type`, `size` such as
/// `512K`); `None` elsewhere or when absent. For a cache shared by several cores (L3 mostly)
/// this is the whole cache.
pub fn cache_bytes(level: u32) -> Option<usize> {
    let dir = std::fs::read_dir("/sys/devices/system/cpu/cpu0/cache").ok()?;
    for entry in dir.flatten() {
        let read = |name: &str| std::fs::read_to_string(entry.path().join(name)).ok();
        let (Some(l), Some(t), Some(size)) = (read("level"), read("type"), read("size")) else {
            continue;
        };
        if l.trim().parse::<u32>().ok() != Some(level) || t.trim() == "Instruction" {
            continue;
        }
        if let Some(b) = parse_cache_size(&size) {
            return Some(b);
        }
    }
    None
}

/// Bytes of a sysfs cache `size` (`"48K"`, `"2048K"`, `"32M"`, or a plain number of bytes).
fn parse_cache_size(size: &str) -> Option<usize> {
    let size = size.trim();
    let (digits, unit) = match size.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => (&size[..i], &size[i..]),
        None => (size, ""),
    };
    let shift = match unit {
        "" => 0,
        "K" => 10,
        "M" => 20,
        "G" => 30,
        _ => return None,
    };
    digits.parse::<usize>().ok().map(|n| n << shift)
}

/// Bytes one call of [`l2_read`] reads for the L2 figure: half of this core's L2 (larger
/// than L1, and with room left in the L2 for everything else the loop touches), in whole
/// 512-byte steps; 1 MiB where the L2's size is unknown. A fixed 1 MiB, used until
/// 2026-12-07, measured L2 and L3 together on cores with 512 KiB of L2 (Zen 3: 51-60 GB/s
/// against 93 GB/s from 256 KiB).
pub fn l2_bytes() -> usize {
    cache_part(2, 2).map_or(L2_BYTES_DEFAULT, |(_, b)| b)
}

/// `(size, bytes)`: the size of the cache of `level` ([`cache_bytes`]) and `1 / part` of it
/// in whole 512-byte steps (the unit of [`l2_read`]), the read tests' buffer for that level.
pub fn cache_part(level: u32, part: usize) -> Option<(usize, usize)> {
    cache_bytes(level).map(|size| (size, (size / part / 512).max(1) * 512))
}

/// Lanes of the widest f32 FMA this CPU runs (16 with AVX-512F, 8 with AVX2+FMA, 4 with
/// aarch64's NEON, which every aarch64 core has; else 0).
pub fn fma_lanes() -> usize {
    if cfg!(target_arch = "aarch64") {
        return 4;
    }
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx512f") {
            return 16;
        }
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            return 8;
        }
    }
    0
}

/// Independent FMA chains of the NEON peak loop (aarch64): 32 registers, two of them for `a`
/// and `b`; enough for four FMA pipes of 4 cycles' latency (16).
const NEON_CHAINS: usize = 24;

/// Independent FMA chains of the peak loop: 16 with AVX-512 (32 registers), 12 with AVX2 (16
/// registers, two of them for `a` and `b`), enough either way to cover 4-cycle FMA latency on
/// two FMA pipes (8 chains); 24 with NEON (32 registers), enough for four pipes (16).
pub fn fma_chains() -> u64 {
    match fma_lanes() {
        16 => 16,
        4 => NEON_CHAINS as u64,
        _ => 12,
    }
}

/// Flops of one [`fma_peak`] call: rounds * chains * lanes * 2.
pub fn fma_flops() -> u64 {
    FMA_ROUNDS * fma_chains() * fma_lanes() as u64 * 2
}

/// Runs [`FMA_ROUNDS`] rounds of [`fma_chains`] independent FMA chains with the widest FMA available.
pub fn fma_peak() -> f32 {
    fma_rounds(FMA_ROUNDS)
}

/// [`fma_peak`] with `rounds` rounds (a shorter or longer burst of the same loop).
pub fn fma_rounds(rounds: u64) -> f32 {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: the features were detected just before each call.
        match fma_lanes() {
            16 => return unsafe { x86::fma_avx512(black_box(rounds)) },
            8 => return unsafe { x86::fma_avx2(black_box(rounds)) },
            _ => {}
        }
    }
    #[cfg(target_arch = "aarch64")]
    let r = aarch64::fma_neon(black_box(rounds));
    #[cfg(not(target_arch = "aarch64"))]
    let r = 0.0;
    r
}

/// Sums `buf` (f32, length a multiple of 128) with 8 independent accumulators.
pub fn l2_read(buf: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx512f") {
            // SAFETY: feature detected.
            return unsafe { x86::sum_avx512::<0>(buf) };
        }
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: feature detected.
            return unsafe { x86::sum_avx2::<0>(buf) };
        }
    }
    #[cfg(target_arch = "aarch64")]
    let s = aarch64::sum_neon(buf);
    #[cfg(not(target_arch = "aarch64"))]
    let s = buf.iter().sum();
    s
}

/// [`l2_read`] with software prefetch (`prefetcht0`) of the two cache lines 16 lines ahead of
/// each 512-byte step: whether the hardware prefetchers leave L2 bandwidth unused (on the
/// machine of docs/PERFORMANCE.md they do not: both read ~60 GB/s).
pub fn l2_read_prefetch(buf: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx512f") {
            // SAFETY: feature detected.
            return unsafe { x86::sum_avx512::<16>(buf) };
        }
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: feature detected.
            return unsafe { x86::sum_avx2::<16>(buf) };
        }
    }
    // No prefetch variant for NEON: the same loop as l2_read.
    #[cfg(target_arch = "aarch64")]
    let s = aarch64::sum_neon(buf);
    #[cfg(not(target_arch = "aarch64"))]
    let s = buf.iter().sum();
    s
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    /// # Safety
    /// AVX-512F present.
    #[target_feature(enable = "avx512f")]
    pub unsafe fn fma_avx512(rounds: u64) -> f32 {
        let a = _mm512_set1_ps(std::hint::black_box(0.999_9));
        let b = _mm512_set1_ps(std::hint::black_box(1e-4));
        let mut acc = [_mm512_set1_ps(1.0); 16];
        for _ in 0..rounds {
            for v in acc.iter_mut() {
                *v = _mm512_fmadd_ps(*v, a, b);
            }
        }
        let mut s = acc[0];
        for v in &acc[1..] {
            s = _mm512_add_ps(s, *v);
        }
        _mm512_reduce_add_ps(s)
    }

    /// # Safety
    /// AVX2 and FMA present.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn fma_avx2(rounds: u64) -> f32 {
        let a = _mm256_set1_ps(std::hint::black_box(0.999_9));
        let b = _mm256_set1_ps(std::hint::black_box(1e-4));
        let mut acc = [_mm256_set1_ps(1.0); 12];
        for _ in 0..rounds {
            for v in acc.iter_mut() {
                *v = _mm256_fmadd_ps(*v, a, b);
            }
        }
        // SAFETY: AVX2 (this function's feature) implies AVX.
        unsafe { sum_ymm(&acc) }
    }

    /// The sum of every lane of `acc` (the registers added first, then the 8 lanes).
    ///
    /// # Safety
    /// AVX present.
    #[target_feature(enable = "avx")]
    unsafe fn sum_ymm(acc: &[__m256]) -> f32 {
        let mut s = _mm256_setzero_ps();
        for v in acc {
            s = _mm256_add_ps(s, *v);
        }
        let mut out = [0.0f32; 8];
        // SAFETY: 8 f32 writable.
        unsafe { _mm256_storeu_ps(out.as_mut_ptr(), s) };
        out.iter().sum()
    }

    /// `PF > 0`: prefetch the two lines `PF` lines ahead of each 8-vector step (a hint: no
    /// fault, and past the end of `buf` it is dropped).
    ///
    /// # Safety
    /// AVX-512F present.
    #[target_feature(enable = "avx512f")]
    pub unsafe fn sum_avx512<const PF: usize>(buf: &[f32]) -> f32 {
        let mut acc = [_mm512_setzero_ps(); 8];
        for chunk in buf.chunks_exact(128) {
            if PF > 0 {
                let p = chunk.as_ptr().cast::<i8>().wrapping_add(PF * 64);
                _mm_prefetch::<_MM_HINT_T0>(p);
                _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(64));
            }
            for (k, v) in acc.iter_mut().enumerate() {
                // SAFETY: chunk holds 128 f32 = 8 vectors.
                *v = _mm512_add_ps(*v, unsafe { _mm512_loadu_ps(chunk.as_ptr().add(16 * k)) });
            }
        }
        let mut s = acc[0];
        for v in &acc[1..] {
            s = _mm512_add_ps(s, *v);
        }
        _mm512_reduce_add_ps(s)
    }

    /// [`sum_avx512`] on 8-lane registers: 8 independent adds per 256-byte step (`PF > 0`:
    /// prefetch the four lines `PF` lines ahead of each step).
    ///
    /// # Safety
    /// AVX2 present.
    #[target_feature(enable = "avx2")]
    pub unsafe fn sum_avx2<const PF: usize>(buf: &[f32]) -> f32 {
        let mut acc = [_mm256_setzero_ps(); 8];
        for chunk in buf.chunks_exact(64) {
            if PF > 0 {
                let p = chunk.as_ptr().cast::<i8>().wrapping_add(PF * 64);
                _mm_prefetch::<_MM_HINT_T0>(p);
                _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(64));
                _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(128));
                _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(192));
            }
            for (k, v) in acc.iter_mut().enumerate() {
                // SAFETY: chunk holds 64 f32 = 8 vectors.
                *v = _mm256_add_ps(*v, unsafe { _mm256_loadu_ps(chunk.as_ptr().add(8 * k)) });
            }
        }
        // SAFETY: AVX2 (this function's feature) implies AVX.
        unsafe { sum_ymm(&acc) }
    }
}

/// The NEON loops (aarch64, where NEON is part of the base ISA: no run-time detection).
#[cfg(target_arch = "aarch64")]
mod aarch64 {
    use std::arch::aarch64::*;

    /// [`super::fma_rounds`] on 4-lane registers: `rounds` rounds of
    /// [`super::NEON_CHAINS`] chains.
    pub fn fma_neon(rounds: u64) -> f32 {
        // SAFETY: NEON is part of the aarch64 base ISA (the target enables it).
        unsafe {
            let a = vdupq_n_f32(std::hint::black_box(0.999_9));
            let b = vdupq_n_f32(std::hint::black_box(1e-4));
            let mut acc = [vdupq_n_f32(1.0); super::NEON_CHAINS];
            for _ in 0..rounds {
                for v in acc.iter_mut() {
                    // b + v * a, fused (FMLA).
                    *v = vfmaq_f32(b, *v, a);
                }
            }
            let mut s = acc[0];
            for v in &acc[1..] {
                s = vaddq_f32(s, *v);
            }
            vaddvq_f32(s)
        }
    }

    /// [`super::l2_read`] on 4-lane registers: 8 independent adds per 128-byte step.
    pub fn sum_neon(buf: &[f32]) -> f32 {
        // SAFETY: NEON is part of the aarch64 base ISA; each load reads 4 f32 of a 32-f32 chunk.
        unsafe {
            let mut acc = [vdupq_n_f32(0.0); 8];
            for chunk in buf.chunks_exact(32) {
                for (k, v) in acc.iter_mut().enumerate() {
                    *v = vaddq_f32(*v, vld1q_f32(chunk.as_ptr().add(4 * k)));
                }
            }
            let mut s = acc[0];
            for v in &acc[1..] {
                s = vaddq_f32(s, *v);
            }
            vaddvq_f32(s)
        }
    }
}

/// Median seconds of `reps` timed calls of `f` (after one warm-up call).
fn median_secs(reps: usize, mut f: impl FnMut()) -> f64 {
    f();
    let mut t: Vec<f64> = (0..reps)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_secs_f64()
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[t.len() / 2]
}

fn main() -> std::process::ExitCode {
    // No options: `-h` explains, anything else is refused (it was ignored, and the run began).
    let usage = "usage: peak   (no options: f32 FMA peak and L2 read bandwidth of one core)";
    let args: Vec<String> = std::env::args().skip(1).collect();
    if hdon_benches::cli::wants_help(&args) {
        println!("{usage}");
        return std::process::ExitCode::SUCCESS;
    }
    if let Some(a) = args.first() {
        let e = hdon_benches::cli::Error::Usage(format!("unknown argument {a:?}; {usage}"));
        return hdon_benches::cli::exit("peak", Err(e));
    }
    let fma = median_secs(101, || {
        black_box(fma_peak());
    });
    let buf: Vec<f32> = (0..l2_bytes() / 4).map(|i| (i % 7) as f32).collect();
    let l2 = median_secs(301, || {
        black_box(l2_read(black_box(&buf)));
    });
    println!(
        "f32 FMA peak ({} lanes, 1 core): {:.1} GFLOP/s",
        fma_lanes(),
        fma_flops() as f64 / fma / 1e9
    );
    let l2_pf = median_secs(301, || {
        black_box(l2_read_prefetch(black_box(&buf)));
    });
    let bytes = buf.len() * 4;
    println!(
        "L2 read bandwidth ({} KiB buffer, 1 core): {:.1} GB/s",
        bytes >> 10,
        bytes as f64 / l2 / 1e9
    );
    println!(
        "L2 read bandwidth with software prefetch 16 lines ahead: {:.1} GB/s",
        bytes as f64 / l2_pf / 1e9
    );
    std::process::ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    #[test]
    fn cache_sizes_parse_as_sysfs_writes_them() {
        assert_eq!(super::parse_cache_size("512K\n"), Some(512 << 10));
        assert_eq!(super::parse_cache_size("32768K"), Some(32 << 20));
        assert_eq!(super::parse_cache_size("2M"), Some(2 << 20));
        assert_eq!(super::parse_cache_size("4096"), Some(4096));
        assert_eq!(super::parse_cache_size("12X"), None);
        assert_eq!(super::parse_cache_size("K"), None);
    }

    #[test]
    fn the_l2_buffer_is_whole_512_byte_steps() {
        let b = super::l2_bytes();
        assert!(b >= 512 && b.is_multiple_of(512), "{b}");
    }
}
