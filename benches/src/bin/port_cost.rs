//! `port_cost`: what one AVX-512 instruction costs beside the FMAs of a kernel, in FMA issue
//! slots. The tile evaluator's tanh runs between FMAs on the same two vector ports, so an
//! instruction's price there is the FMA slots it takes away, not its latency.
//!
//! ```text
//! port_cost [ITERS]          # default 20,000,000 iterations per loop, fastest of 5 runs
//! ```
//! A loop of 8 independent FMAs (registers only: 4 cycles on a core with two 512-bit FMA
//! ports) is timed alone and with 4 independent instructions of one kind added, on registers
//! the FMAs do not use. `slots` = (extra time per added instruction) / (time per FMA): 1 for a
//! one-uop instruction on the FMA ports, 3 for a three-uop one; an instruction bound by a
//! unit of its own (the divider) shows that unit's throughput instead. On a Sapphire Rapids
//! core (2026-12-06): `vrcp14ps` 2.9 slots, `vdivps` 18 (divider-bound), the one-uop
//! instructions of the tanh (`vreduceps`, `vscalefps`, `vminps`, `vfmadd`) 1.0. On an AMD
//! EPYC Zen 4 core (2026-12-06, 512-bit instructions on 256-bit units): `vfmadd`, `vmulps`,
//! `vrcp14ps` and `vfixupimmps` 1.0, `vpermt2ps` 0.5, `vpternlogd` 0.2, and `vaddps`,
//! `vminps`, `vreduceps`, `vscalefps`, `vpermps`, the integer ops and `vgetexpps` 0: they run
//! on units of their own. Those units are not unlimited: alone, `vaddps`, `vmaxps` and
//! `vpermps` issue one zmm per cycle, `vscalefps` one per two cycles.
//! Needs AVX-512F; prints why and exits otherwise.

use std::process::ExitCode;

use hdon_benches::cli::with_count;

fn main() -> ExitCode {
    with_count(
        "usage: port_cost [ITERS]   (ITERS >= 1, default 20000000)",
        20_000_000,
        run,
    )
}

#[cfg(not(target_arch = "x86_64"))]
fn run(_iters: u64) -> ExitCode {
    eprintln!("port_cost: measures AVX-512 instructions; this is not an x86-64 build");
    ExitCode::FAILURE
}

#[cfg(target_arch = "x86_64")]
fn run(iters: u64) -> ExitCode {
    if !std::arch::is_x86_feature_detected!("avx512f") {
        eprintln!("port_cost: this CPU has no AVX-512F");
        return ExitCode::FAILURE;
    }
    // SAFETY: AVX-512F is present (checked above).
    let base = unsafe { x86::fastest(iters, x86::fma8) };
    let per_fma = base / 8.0;
    println!("8 independent FMAs: {:.3} ns per iteration", base * 1e9);
    println!("| instruction (4 per iteration, independent) | ns per iteration | FMA slots each |");
    println!("|---|---|---|");
    for (name, f) in x86::KINDS {
        // SAFETY: as above.
        let t = unsafe { x86::fastest(iters, *f) };
        println!(
            "| {name} | {:.3} | {:.2} |",
            t * 1e9,
            (t - base) / 4.0 / per_fma
        );
    }
    ExitCode::SUCCESS
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::asm;
    use std::time::Instant;

    /// One timed loop: `iters` iterations, returns seconds.
    pub type Loop = unsafe fn(u64) -> f64;

    /// Fastest of 5 runs of `f`, seconds per iteration.
    ///
    /// # Safety
    /// AVX-512F present.
    pub unsafe fn fastest(iters: u64, f: Loop) -> f64 {
        (0..5)
            // SAFETY: forwarded contract.
            .map(|_| unsafe { f(iters) })
            .fold(f64::MAX, f64::min)
            / iters as f64
    }

    /// Defines a loop of 8 independent FMAs on zmm0-7 plus the instructions of `$extra`
    /// (on zmm16-19, inputs zmm30/zmm31 = 1.0), timed over `iters` iterations.
    macro_rules! timed_loop {
        ($name:ident, $extra:expr) => {
            /// # Safety
            /// AVX-512F present.
            #[target_feature(enable = "avx512f")]
            pub unsafe fn $name(iters: u64) -> f64 {
                let one = 1.0f32;
                let t0 = Instant::now();
                // SAFETY: registers only, besides one read of `one`; every register written
                // is declared clobbered.
                unsafe {
                    asm!(
                        "vbroadcastss zmm30, [{c}]",
                        "vbroadcastss zmm31, [{c}]",
                        "2:",
                        "vfmadd231ps zmm0, zmm30, zmm31",
                        "vfmadd231ps zmm1, zmm30, zmm31",
                        "vfmadd231ps zmm2, zmm30, zmm31",
                        "vfmadd231ps zmm3, zmm30, zmm31",
                        "vfmadd231ps zmm4, zmm30, zmm31",
                        "vfmadd231ps zmm5, zmm30, zmm31",
                        "vfmadd231ps zmm6, zmm30, zmm31",
                        "vfmadd231ps zmm7, zmm30, zmm31",
                        $extra,
                        "dec {n}",
                        "jnz 2b",
                        n = inout(reg) iters => _,
                        c = in(reg) &one,
                        out("zmm0") _, out("zmm1") _, out("zmm2") _, out("zmm3") _,
                        out("zmm4") _, out("zmm5") _, out("zmm6") _, out("zmm7") _,
                        out("zmm16") _, out("zmm17") _, out("zmm18") _, out("zmm19") _,
                        out("zmm30") _, out("zmm31") _,
                        options(nostack),
                    );
                }
                t0.elapsed().as_secs_f64()
            }
        };
    }

    timed_loop!(fma8, "");
    timed_loop!(
        fma,
        "vfmadd231ps zmm16, zmm30, zmm31\nvfmadd231ps zmm17, zmm30, zmm31\nvfmadd231ps zmm18, zmm30, zmm31\nvfmadd231ps zmm19, zmm30, zmm31"
    );
    timed_loop!(
        min,
        "vminps zmm16, zmm30, zmm31\nvminps zmm17, zmm30, zmm31\nvminps zmm18, zmm30, zmm31\nvminps zmm19, zmm30, zmm31"
    );
    timed_loop!(
        reduce,
        "vreduceps zmm16, zmm30, 9\nvreduceps zmm17, zmm30, 9\nvreduceps zmm18, zmm30, 9\nvreduceps zmm19, zmm30, 9"
    );
    timed_loop!(
        scalef,
        "vscalefps zmm16, zmm30, zmm31\nvscalefps zmm17, zmm30, zmm31\nvscalefps zmm18, zmm30, zmm31\nvscalefps zmm19, zmm30, zmm31"
    );
    timed_loop!(
        rcp14,
        "vrcp14ps zmm16, zmm30\nvrcp14ps zmm17, zmm30\nvrcp14ps zmm18, zmm30\nvrcp14ps zmm19, zmm30"
    );
    timed_loop!(
        rcp14_ymm,
        "vrcp14ps ymm16, ymm30\nvrcp14ps ymm17, ymm30\nvrcp14ps ymm18, ymm30\nvrcp14ps ymm19, ymm30"
    );
    timed_loop!(
        div,
        "vdivps zmm16, zmm30, zmm31\nvdivps zmm17, zmm30, zmm31\nvdivps zmm18, zmm30, zmm31\nvdivps zmm19, zmm30, zmm31"
    );
    timed_loop!(
        permps,
        "vpermps zmm16, zmm30, zmm31\nvpermps zmm17, zmm30, zmm31\nvpermps zmm18, zmm30, zmm31\nvpermps zmm19, zmm30, zmm31"
    );
    timed_loop!(
        cvtps2dq,
        "vcvtps2dq zmm16, zmm30\nvcvtps2dq zmm17, zmm30\nvcvtps2dq zmm18, zmm30\nvcvtps2dq zmm19, zmm30"
    );

    timed_loop!(
        add,
        "vaddps zmm16, zmm30, zmm31\nvaddps zmm17, zmm30, zmm31\nvaddps zmm18, zmm30, zmm31\nvaddps zmm19, zmm30, zmm31"
    );
    timed_loop!(
        mul,
        "vmulps zmm16, zmm30, zmm31\nvmulps zmm17, zmm30, zmm31\nvmulps zmm18, zmm30, zmm31\nvmulps zmm19, zmm30, zmm31"
    );
    timed_loop!(
        permt2,
        "vpermt2ps zmm16, zmm30, zmm31\nvpermt2ps zmm17, zmm30, zmm31\nvpermt2ps zmm18, zmm30, zmm31\nvpermt2ps zmm19, zmm30, zmm31"
    );
    timed_loop!(
        srld,
        "vpsrld zmm16, zmm30, 21\nvpsrld zmm17, zmm30, 21\nvpsrld zmm18, zmm30, 21\nvpsrld zmm19, zmm30, 21"
    );
    timed_loop!(
        andd,
        "vpandd zmm16, zmm30, zmm31\nvpandd zmm17, zmm30, zmm31\nvpandd zmm18, zmm30, zmm31\nvpandd zmm19, zmm30, zmm31"
    );
    timed_loop!(
        ternlog,
        "vpternlogd zmm16, zmm30, zmm31, 0x96\nvpternlogd zmm17, zmm30, zmm31, 0x96\nvpternlogd zmm18, zmm30, zmm31, 0x96\nvpternlogd zmm19, zmm30, zmm31, 0x96"
    );
    timed_loop!(
        paddd,
        "vpaddd zmm16, zmm30, zmm31\nvpaddd zmm17, zmm30, zmm31\nvpaddd zmm18, zmm30, zmm31\nvpaddd zmm19, zmm30, zmm31"
    );
    timed_loop!(
        pminud,
        "vpminud zmm16, zmm30, zmm31\nvpminud zmm17, zmm30, zmm31\nvpminud zmm18, zmm30, zmm31\nvpminud zmm19, zmm30, zmm31"
    );
    timed_loop!(
        getexp,
        "vgetexpps zmm16, zmm30\nvgetexpps zmm17, zmm30\nvgetexpps zmm18, zmm30\nvgetexpps zmm19, zmm30"
    );
    timed_loop!(
        getmant,
        "vgetmantps zmm16, zmm30, 0\nvgetmantps zmm17, zmm30, 0\nvgetmantps zmm18, zmm30, 0\nvgetmantps zmm19, zmm30, 0"
    );
    timed_loop!(
        fixup,
        "vfixupimmps zmm16, zmm30, zmm31, 0\nvfixupimmps zmm17, zmm30, zmm31, 0\nvfixupimmps zmm18, zmm30, zmm31, 0\nvfixupimmps zmm19, zmm30, zmm31, 0"
    );

    /// The instructions measured, by their assembly names.
    pub const KINDS: &[(&str, Loop)] = &[
        ("vfmadd231ps zmm", fma),
        ("vminps zmm", min),
        ("vreduceps zmm", reduce),
        ("vscalefps zmm", scalef),
        ("vrcp14ps zmm", rcp14),
        ("vrcp14ps ymm", rcp14_ymm),
        ("vdivps zmm", div),
        ("vpermps zmm", permps),
        ("vcvtps2dq zmm", cvtps2dq),
        ("vaddps zmm", add),
        ("vmulps zmm", mul),
        ("vpermt2ps zmm", permt2),
        ("vpsrld zmm", srld),
        ("vpandd zmm", andd),
        ("vpternlogd zmm", ternlog),
        ("vpaddd zmm", paddd),
        ("vpminud zmm", pminud),
        ("vgetexpps zmm", getexp),
        ("vgetmantps zmm", getmant),
        ("vfixupimmps zmm", fixup),
    ];
}
