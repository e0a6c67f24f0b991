//! `port_cost`: what one vector instruction costs beside the FMAs of a kernel, in FMA issue
//! slots. The tile evaluator's tanh runs between FMAs on the same vector ports, so an
//! instruction's price there is the FMA slots it takes away, not its latency.
//!
//! ```text
//! port_cost [ITERS]          # default 20,000,000 iterations per loop, fastest of 5 runs
//! ```
//! A loop of 8 independent FMAs (registers only: 4 cycles on a core with two FMA ports of the
//! register's width) is timed alone and with 4 independent instructions of one kind added, on
//! registers the FMAs do not use. `slots` = (extra time per added instruction) / (time per
//! FMA): 1 for a one-uop instruction on the FMA ports, 3 for a three-uop one; an instruction
//! bound by a unit of its own (the divider) shows that unit's throughput instead. One table
//! for AVX-512 (zmm) where the CPU has AVX-512F, one for AVX2 (ymm) where it has AVX2 + FMA.
//!
//! On a Sapphire Rapids core (2026-12-06, zmm): `vrcp14ps` 2.9 slots, `vdivps` 18
//! (divider-bound), the one-uop instructions of the tanh (`vreduceps`, `vscalefps`, `vminps`,
//! `vfmadd`) 1.0. On an AMD EPYC Zen 4 core (2026-12-06, 512-bit instructions on 256-bit
//! units): `vfmadd`, `vmulps`, `vrcp14ps` and `vfixupimmps` 1.0, `vpermt2ps` 0.5, `vpternlogd`
//! 0.2, and `vaddps`, `vminps`, `vreduceps`, `vscalefps`, `vpermps`, the integer ops and
//! `vgetexpps` 0: they run on units of their own. Those units are not unlimited: alone,
//! `vaddps`, `vmaxps` and `vpermps` issue one zmm per cycle, `vscalefps` one per two cycles.
//! On an AMD EPYC Zen 3 core (2026-12-07, ymm): `vfmadd`, `vmulps`, `vrcpps` 1.0, `vaddps`
//! 1.4, `vpslld` 1.8, `vpermps` 2.0, `vcvtps2dq` 0.5, and `vminps`, `vmaxps`, `vroundps`,
//! `vpaddd`, `vandps` 0; `vdivps` 5 (its divider takes one ymm per 3.5 cycles).

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
    let avx512 = std::arch::is_x86_feature_detected!("avx512f");
    let avx2 =
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma");
    if !avx512 && !avx2 {
        eprintln!("port_cost: this CPU has neither AVX-512F nor AVX2 + FMA");
        return ExitCode::FAILURE;
    }
    if avx512 {
        // SAFETY: AVX-512F is present (checked above).
        unsafe { table(iters, "zmm", x86::fma8, x86::KINDS) };
    }
    if avx2 {
        // SAFETY: AVX2 and FMA are present (checked above).
        unsafe { table(iters, "ymm", ymm::fma8, ymm::KINDS) };
    }
    ExitCode::SUCCESS
}

/// Times `base` and every loop of `kinds`, prints the table.
///
/// # Safety
/// The instructions of `base` and `kinds` are supported.
#[cfg(target_arch = "x86_64")]
unsafe fn table(iters: u64, regs: &str, base: x86::Loop, kinds: &[(&str, x86::Loop)]) {
    // SAFETY: forwarded contract.
    let base = unsafe { x86::fastest(iters, base) };
    let per_fma = base / 8.0;
    println!(
        "8 independent {regs} FMAs: {:.3} ns per iteration",
        base * 1e9
    );
    println!("| instruction (4 per iteration, independent) | ns per iteration | FMA slots each |");
    println!("|---|---|---|");
    for (name, f) in kinds {
        // SAFETY: forwarded contract.
        let t = unsafe { x86::fastest(iters, *f) };
        println!(
            "| {name} | {:.3} | {:.2} |",
            t * 1e9,
            (t - base) / 4.0 / per_fma
        );
    }
    println!();
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
    /// The instructions of `f` are supported.
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

/// The AVX2 twin of [`x86`]: 8 FMAs on ymm0-7, the 4 measured instructions on ymm8-11, inputs
/// ymm14/ymm15 = 1.0 (16 registers: no ymm16-31 without AVX-512).
#[cfg(target_arch = "x86_64")]
mod ymm {
    use std::arch::asm;
    use std::time::Instant;

    /// Defines a loop as `x86`'s `timed_loop`, on ymm registers.
    macro_rules! timed_loop {
        ($name:ident, $extra:expr) => {
            /// # Safety
            /// AVX2 and FMA present.
            #[target_feature(enable = "avx2,fma")]
            pub unsafe fn $name(iters: u64) -> f64 {
                let one = 1.0f32;
                let t0 = Instant::now();
                // SAFETY: registers only, besides one read of `one`; every register written
                // is declared clobbered.
                unsafe {
                    asm!(
                        "vbroadcastss ymm14, [{c}]",
                        "vbroadcastss ymm15, [{c}]",
                        "2:",
                        "vfmadd231ps ymm0, ymm14, ymm15",
                        "vfmadd231ps ymm1, ymm14, ymm15",
                        "vfmadd231ps ymm2, ymm14, ymm15",
                        "vfmadd231ps ymm3, ymm14, ymm15",
                        "vfmadd231ps ymm4, ymm14, ymm15",
                        "vfmadd231ps ymm5, ymm14, ymm15",
                        "vfmadd231ps ymm6, ymm14, ymm15",
                        "vfmadd231ps ymm7, ymm14, ymm15",
                        $extra,
                        "dec {n}",
                        "jnz 2b",
                        n = inout(reg) iters => _,
                        c = in(reg) &one,
                        out("ymm0") _, out("ymm1") _, out("ymm2") _, out("ymm3") _,
                        out("ymm4") _, out("ymm5") _, out("ymm6") _, out("ymm7") _,
                        out("ymm8") _, out("ymm9") _, out("ymm10") _, out("ymm11") _,
                        out("ymm14") _, out("ymm15") _,
                        options(nostack),
                    );
                }
                t0.elapsed().as_secs_f64()
            }
        };
    }

    /// `$op ymm8..11, $args` (the operands after the destination).
    macro_rules! four {
        ($op:literal, $args:literal) => {
            concat!(
                $op, " ymm8, ", $args, "\n", $op, " ymm9, ", $args, "\n", $op, " ymm10, ", $args,
                "\n", $op, " ymm11, ", $args
            )
        };
    }

    timed_loop!(fma8, "");
    timed_loop!(fma, four!("vfmadd231ps", "ymm14, ymm15"));
    timed_loop!(mul, four!("vmulps", "ymm14, ymm15"));
    timed_loop!(add, four!("vaddps", "ymm14, ymm15"));
    timed_loop!(min, four!("vminps", "ymm14, ymm15"));
    timed_loop!(max, four!("vmaxps", "ymm14, ymm15"));
    timed_loop!(div, four!("vdivps", "ymm14, ymm15"));
    timed_loop!(rcp, four!("vrcpps", "ymm14"));
    timed_loop!(round, four!("vroundps", "ymm14, 8"));
    timed_loop!(cvtps2dq, four!("vcvtps2dq", "ymm14"));
    timed_loop!(cvtdq2ps, four!("vcvtdq2ps", "ymm14"));
    timed_loop!(slld, four!("vpslld", "ymm14, 23"));
    timed_loop!(paddd, four!("vpaddd", "ymm14, ymm15"));
    timed_loop!(andps, four!("vandps", "ymm14, ymm15"));
    timed_loop!(permps, four!("vpermps", "ymm14, ymm15"));
    timed_loop!(blendv, four!("vblendvps", "ymm14, ymm15, ymm14"));

    /// The instructions measured, by their assembly names.
    pub const KINDS: &[(&str, super::x86::Loop)] = &[
        ("vfmadd231ps ymm", fma),
        ("vmulps ymm", mul),
        ("vaddps ymm", add),
        ("vminps ymm", min),
        ("vmaxps ymm", max),
        ("vdivps ymm", div),
        ("vrcpps ymm", rcp),
        ("vroundps ymm", round),
        ("vcvtps2dq ymm", cvtps2dq),
        ("vcvtdq2ps ymm", cvtdq2ps),
        ("vpslld ymm", slld),
        ("vpaddd ymm", paddd),
        ("vandps ymm", andps),
        ("vpermps ymm", permps),
        ("vblendvps ymm", blendv),
    ];
}
