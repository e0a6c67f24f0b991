//! `amx_ports`: what the AMX tile unit leaves to AVX-512 code running beside it. The tile
//! evaluator (`kernels/src/x86_64/amx.rs`) interleaves tile products of one block with the
//! tanh and repacking of another, hoping the two units overlap; this measures how much they
//! can.
//!
//! ```text
//! amx_ports [ITERS]          # default 2,000,000 iterations per loop, fastest of 5 runs
//! ```
//! Three loops, registers only: (1) 4 `tdpbf16ps` into 4 accumulators (the tile unit's
//! throughput), (2) 64 independent zmm FMAs (two 512-bit ports), (3) the same 64 FMAs plus one
//! `tdpbf16ps` per iteration, and (4)-(5) the same with ymm FMAs. On a Sapphire Rapids core
//! (2026-12-06): one tile product per 64 FMAs made the FMA loop ~2x slower, while the chained
//! loop did not slow down: while the tile unit works, 512-bit code has one port, not two. Needs AMX (Linux, `hdon_kernels::amx_available`); prints why and exits
//! otherwise.

use std::process::ExitCode;

use hdon_benches::cli::with_count;

fn main() -> ExitCode {
    with_count(
        "amx_ports",
        "usage: amx_ports [ITERS]   (ITERS >= 1, default 2000000)",
        2_000_000,
        run,
    )
}

#[cfg(not(target_arch = "x86_64"))]
fn run(_iters: u64) -> ExitCode {
    eprintln!("amx_ports: measures AMX and AVX-512; this is not an x86-64 build");
    ExitCode::FAILURE
}

#[cfg(target_arch = "x86_64")]
fn run(iters: u64) -> ExitCode {
    if !std::arch::is_x86_feature_detected!("avx512f") || !hdon_kernels::amx_available() {
        eprintln!("amx_ports: this CPU or OS has no AMX tiles (or no AVX-512F)");
        return ExitCode::FAILURE;
    }
    // SAFETY: AVX-512F and AMX (with Linux's permission, granted by amx_available) present.
    let t = |f: x86::Loop| unsafe { x86::fastest(iters, f) * 1e9 };
    let tdp = t(x86::tdp4);
    println!(
        "4 tdpbf16ps (4 accumulators): {tdp:.2} ns per iteration, {:.2} ns each",
        tdp / 4.0
    );
    println!("| loop (ns per iteration) | alone | with one tdpbf16ps | slowdown |");
    println!("|---|---|---|---|");
    for (name, alone, with) in [
        (
            "64 independent zmm FMAs",
            x86::zmm as x86::Loop,
            x86::zmm_tdp as x86::Loop,
        ),
        ("64 independent ymm FMAs", x86::ymm, x86::ymm_tdp),
        (
            "8 dependent zmm FMAs (one chain)",
            x86::chain,
            x86::chain_tdp,
        ),
    ] {
        let (a, w) = (t(alone), t(with));
        println!("| {name} | {a:.2} | {w:.2} | {:.2}x |", w / a);
    }
    x86::release();
    ExitCode::SUCCESS
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::asm;
    use std::time::Instant;

    /// One timed loop: `iters` iterations, returns seconds.
    pub type Loop = unsafe fn(u64) -> f64;

    /// Tile configuration: palette 1, tiles 0-7 all 16 rows of 64 bytes.
    #[repr(C, align(64))]
    struct Config([u8; 64]);

    /// Fastest of 5 runs of `f` (tiles configured first), seconds per iteration.
    ///
    /// # Safety
    /// AVX-512F and AMX present, with the OS's permission.
    pub unsafe fn fastest(iters: u64, f: Loop) -> f64 {
        let mut c = [0u8; 64];
        c[0] = 1;
        for t in 0..8 {
            c[16 + 2 * t] = 64;
            c[48 + t] = 16;
        }
        let cfg = Config(c);
        // SAFETY: a valid palette-1 configuration; AMX per contract.
        unsafe { asm!("ldtilecfg [{}]", in(reg) &cfg, options(nostack, readonly)) };
        (0..5)
            // SAFETY: forwarded contract.
            .map(|_| unsafe { f(iters) })
            .fold(f64::MAX, f64::min)
            / iters as f64
    }

    /// Returns the tile state to its initial form.
    pub fn release() {
        // SAFETY: only reached after AMX was found available (the caller's check).
        unsafe { asm!("tilerelease", options(nostack, nomem)) };
    }

    /// A loop over `$body` (registers only; every register written is declared clobbered).
    macro_rules! timed_loop {
        ($name:ident, $body:expr) => {
            /// # Safety
            /// AVX-512F and AMX present, tiles configured.
            #[target_feature(enable = "avx512f")]
            pub unsafe fn $name(iters: u64) -> f64 {
                let t0 = Instant::now();
                // SAFETY: registers only; clobbers declared.
                unsafe {
                    asm!(
                        "2:",
                        $body,
                        "dec {n}",
                        "jnz 2b",
                        n = inout(reg) iters => _,
                        out("zmm0") _, out("zmm1") _, out("zmm2") _, out("zmm3") _,
                        out("zmm4") _, out("zmm5") _, out("zmm6") _, out("zmm7") _,
                        options(nostack, nomem),
                    );
                }
                t0.elapsed().as_secs_f64()
            }
        };
    }

    /// 64 FMAs on `$w`0-7 (8 independent chains of 8), inputs `$w`8, `$w`9.
    #[rustfmt::skip]
    macro_rules! sixty_four {
        ($w:literal) => {
            concat!(
                ".rept 8\n",
                "vfmadd231ps ", $w, "0, ", $w, "8, ", $w, "9\n",
                "vfmadd231ps ", $w, "1, ", $w, "8, ", $w, "9\n",
                "vfmadd231ps ", $w, "2, ", $w, "8, ", $w, "9\n",
                "vfmadd231ps ", $w, "3, ", $w, "8, ", $w, "9\n",
                "vfmadd231ps ", $w, "4, ", $w, "8, ", $w, "9\n",
                "vfmadd231ps ", $w, "5, ", $w, "8, ", $w, "9\n",
                "vfmadd231ps ", $w, "6, ", $w, "8, ", $w, "9\n",
                "vfmadd231ps ", $w, "7, ", $w, "8, ", $w, "9\n",
                ".endr\n",
            )
        };
    }
    /// 8 dependent FMAs on zmm0.
    macro_rules! one_chain {
        () => {
            ".rept 8\nvfmadd231ps zmm0, zmm8, zmm9\n.endr\n"
        };
    }

    timed_loop!(
        tdp4,
        "tdpbf16ps tmm0, tmm4, tmm6\ntdpbf16ps tmm1, tmm4, tmm7\ntdpbf16ps tmm2, tmm5, tmm6\ntdpbf16ps tmm3, tmm5, tmm7"
    );
    timed_loop!(zmm, sixty_four!("zmm"));
    timed_loop!(
        zmm_tdp,
        concat!("tdpbf16ps tmm0, tmm4, tmm6\n", sixty_four!("zmm"))
    );
    timed_loop!(ymm, sixty_four!("ymm"));
    timed_loop!(
        ymm_tdp,
        concat!("tdpbf16ps tmm0, tmm4, tmm6\n", sixty_four!("ymm"))
    );
    // One chain of 8 dependent FMAs on zmm0: latency-bound (4 cycles each), one port is plenty.
    timed_loop!(chain, one_chain!());
    timed_loop!(
        chain_tdp,
        concat!("tdpbf16ps tmm0, tmm4, tmm6\n", one_chain!())
    );
}
