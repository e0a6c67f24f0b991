//! `port_cost`: what one vector instruction costs beside the FMAs of a kernel, in FMA issue
//! slots. The tile evaluator's tanh runs between FMAs on the same vector ports, so an
//! instruction's price there is the FMA slots it takes away, not its latency.
//!
//! ```text
//! port_cost [ITERS]          # default 20,000,000 iterations per loop; 9 alternated pairs per kind
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
//! On an AMD EPYC Zen 3 core (2026-12-07, ymm, two runs on a quiet machine): `vfmadd`,
//! `vmulps`, `vrcpps` 0.7-1.0, `vpermps` 2.0, `vblendvps` 0.9-1.1, `vpslld` 0.3-0.7, and
//! `vaddps`, `vminps`, `vmaxps`, `vroundps`, `vcvtps2dq`, `vcvtdq2ps`, `vpaddd`, `vandps` below
//! 0.1; `vdivps` 4.5-4.9 (its divider takes one ymm per 3.5 cycles). A first run with a
//! build beside it had put `vaddps` at 1.4, `vpslld` at 1.8 and `vcvtps2dq` at 0.5.
//!
//! A second table adds one instruction per 20 FMAs, where the FMA pipes stay the limit. On the
//! Zen 3 core (2026-12-07) `vdivps ymm` costs 2.9-3.2 FMA slots there: it holds an FMA pipe for
//! as long as the divider works on it, so the division is not free beside the FMAs, as the first
//! table's wording had suggested. `vrcpps` costs 1.0.

use std::process::ExitCode;

use hdon_benches::cli::with_count;

fn main() -> ExitCode {
    with_count(
        "port_cost",
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
        // SAFETY: as above.
        unsafe { sparse_table(iters, "zmm", sparse::zmm_fma20, sparse::ZMM) };
    }
    if avx2 {
        // SAFETY: AVX2 and FMA are present (checked above).
        unsafe { table(iters, "ymm", ymm::fma8, ymm::KINDS) };
        // SAFETY: as above.
        unsafe { sparse_table(iters, "ymm", sparse::ymm_fma20, sparse::YMM) };
    }
    ExitCode::SUCCESS
}

/// Runs per kind: `PAIRS` runs of the base loop and of the kind's, in alternation.
#[cfg(target_arch = "x86_64")]
const PAIRS: usize = 9;

#[cfg(target_arch = "x86_64")]
fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// `PAIRS` runs of `base` and of `f` in alternation, seconds per iteration of each: so that a
/// drift of the machine's speed (seen on this VM: the same loop at 1.24 to 1.57 ns within a
/// minute, and a build beside it doubling some figures) moves a few runs, not a whole kind.
///
/// # Safety
/// The instructions of `base` and `f` are supported.
#[cfg(target_arch = "x86_64")]
unsafe fn alternated(iters: u64, base: x86::Loop, f: x86::Loop) -> (Vec<f64>, Vec<f64>) {
    // SAFETY (both calls): forwarded contract.
    let per_iter = |f: x86::Loop| unsafe { f(iters) } / iters as f64;
    let (mut b, mut t) = (Vec::new(), Vec::new());
    for _ in 0..PAIRS {
        b.push(per_iter(base));
        t.push(per_iter(f));
    }
    (b, t)
}

/// Times every loop of `kinds` against `base` ([`alternated`]) and prints the table, the
/// slots from the two medians.
///
/// # Safety
/// The instructions of `base` and `kinds` are supported.
#[cfg(target_arch = "x86_64")]
unsafe fn table(iters: u64, regs: &str, base: x86::Loop, kinds: &[(&str, x86::Loop)]) {
    let mut bases = Vec::new();
    let mut rows = Vec::new();
    for (name, f) in kinds {
        // SAFETY: forwarded contract.
        let (b, t) = unsafe { alternated(iters, base, *f) };
        bases.extend_from_slice(&b);
        let (b, t) = (median(b), median(t));
        // Extra time per added instruction over the time per FMA (8 FMAs per iteration).
        rows.push((name, t, (t - b) / 4.0 / (b / 8.0)));
    }
    println!(
        "8 independent {regs} FMAs: {:.3} ns per iteration (median of {} runs)",
        median(bases) * 1e9,
        PAIRS * kinds.len()
    );
    println!(
        "| instruction (4 per iteration, independent) | ns per iteration | FMA slots each (medians of {PAIRS} alternated runs) |"
    );
    println!("|---|---|---|");
    for (name, t, slots) in rows {
        println!("| {name} | {:.3} | {slots:.2} |", t * 1e9);
    }
    println!();
}

/// The second table: one instruction per 20 FMAs, so that the loop stays bound by the FMA
/// pipes (20 FMAs are 10 cycles; a divider taking 3.5 cycles per division is not the limit).
/// `slots` = extra time over the time per FMA: what the instruction takes from the FMA pipes
/// when its own unit is not the bottleneck. The first table cannot show that for `vdivps`:
/// there 4 divisions per 8 FMAs make the divider the limit. Operands as the tanh meets them
/// (3.1 / 1.37) and 1.0 / 1.0, which some dividers finish early.
///
/// # Safety
/// The instructions of `base` and `kinds` are supported.
#[cfg(target_arch = "x86_64")]
unsafe fn sparse_table(iters: u64, regs: &str, base: x86::Loop, kinds: &[(&str, x86::Loop)]) {
    println!(
        "| instruction (1 per 20 {regs} FMAs) | ns per iteration | 20 FMAs alone | FMA slots |"
    );
    println!("|---|---|---|---|");
    for (name, f) in kinds {
        // SAFETY: forwarded contract.
        let (b, t) = unsafe { alternated(iters, base, *f) };
        let (b, t) = (median(b), median(t));
        println!(
            "| {name} | {:.3} | {:.3} | {:.2} |",
            t * 1e9,
            b * 1e9,
            (t - b) / (b / 20.0)
        );
    }
    println!();
}

/// A loop of 20 FMAs (10 accumulators, 2 each: chains of 8 cycles, shorter than the 10 cycles
/// the two pipes need) and `$extra`, with `$num`/`$den` broadcast from `num`/`den` first.
#[cfg(target_arch = "x86_64")]
macro_rules! sparse_loop {
    ($name:ident, $feature:literal, $a:tt, $num:tt, $den:tt, $numv:expr, $denv:expr,
     [$($acc:tt),*], [$($dst:tt),*], $extra:expr) => {
        /// # Safety
        /// The instructions of the loop are supported.
        #[target_feature(enable = $feature)]
        pub unsafe fn $name(iters: u64) -> f64 {
            let (one, num, den): (f32, f32, f32) = (1.0, $numv, $denv);
            let t0 = std::time::Instant::now();
            // SAFETY: registers only, besides reads of three locals; every register written
            // is declared clobbered.
            unsafe {
                std::arch::asm!(
                    concat!("vbroadcastss ", $a, ", [{c}]"),
                    concat!("vbroadcastss ", $num, ", [{p}]"),
                    concat!("vbroadcastss ", $den, ", [{q}]"),
                    "2:",
                    $(concat!("vfmadd231ps ", $acc, ", ", $a, ", ", $a),)*
                    $(concat!("vfmadd231ps ", $acc, ", ", $a, ", ", $a),)*
                    $extra,
                    "dec {n}",
                    "jnz 2b",
                    n = inout(reg) iters => _,
                    c = in(reg) &one,
                    p = in(reg) &num,
                    q = in(reg) &den,
                    $(out($acc) _,)*
                    $(out($dst) _,)*
                    out($a) _, out($num) _, out($den) _,
                    options(nostack),
                );
            }
            t0.elapsed().as_secs_f64()
        }
    };
}

#[cfg(target_arch = "x86_64")]
mod sparse {
    use super::x86::Loop;

    macro_rules! ymm {
        ($name:ident, $num:expr, $den:expr, $extra:expr) => {
            sparse_loop!(
                $name,
                "avx2,fma",
                "ymm15",
                "ymm13",
                "ymm14",
                $num,
                $den,
                ["ymm0", "ymm1", "ymm2", "ymm3", "ymm4", "ymm5", "ymm6", "ymm7", "ymm8", "ymm9"],
                ["ymm12"],
                $extra
            );
        };
    }
    macro_rules! zmm {
        ($name:ident, $num:expr, $den:expr, $extra:expr) => {
            sparse_loop!(
                $name,
                "avx512f",
                "zmm31",
                "zmm29",
                "zmm30",
                $num,
                $den,
                ["zmm0", "zmm1", "zmm2", "zmm3", "zmm4", "zmm5", "zmm6", "zmm7", "zmm8", "zmm9"],
                ["zmm16"],
                $extra
            );
        };
    }

    ymm!(ymm_fma20, 1.0, 1.0, "");
    ymm!(ymm_div, 3.1, 1.37, "vdivps ymm12, ymm13, ymm14");
    ymm!(ymm_div_ones, 1.0, 1.0, "vdivps ymm12, ymm13, ymm14");
    ymm!(ymm_rcp, 3.1, 1.37, "vrcpps ymm12, ymm14");
    zmm!(zmm_fma20, 1.0, 1.0, "");
    zmm!(zmm_div, 3.1, 1.37, "vdivps zmm16, zmm29, zmm30");
    zmm!(zmm_div_ones, 1.0, 1.0, "vdivps zmm16, zmm29, zmm30");
    zmm!(zmm_rcp14, 3.1, 1.37, "vrcp14ps zmm16, zmm30");

    /// The instructions of the sparse table, by their assembly names and operands.
    pub const YMM: &[(&str, Loop)] = &[
        ("vdivps ymm, 3.1 / 1.37", ymm_div),
        ("vdivps ymm, 1.0 / 1.0", ymm_div_ones),
        ("vrcpps ymm", ymm_rcp),
    ];
    /// The instructions of the sparse table, by their assembly names and operands.
    pub const ZMM: &[(&str, Loop)] = &[
        ("vdivps zmm, 3.1 / 1.37", zmm_div),
        ("vdivps zmm, 1.0 / 1.0", zmm_div_ones),
        ("vrcp14ps zmm", zmm_rcp14),
    ];
}

#[cfg(target_arch = "x86_64")]
macro_rules! timed_loop {
    // `tt`, not `literal`: `asm!` takes an explicit register only as a plain string token.
    ($name:ident, $feature:literal, $a:tt, $b:tt, [$($acc:tt),*], [$($dst:tt),*], $extra:expr) => {
        /// # Safety
        /// The instructions of the loop are supported.
        #[target_feature(enable = $feature)]
        pub unsafe fn $name(iters: u64) -> f64 {
            let one = 1.0f32;
            let t0 = std::time::Instant::now();
            // SAFETY: registers only, besides one read of `one`; every register written is
            // declared clobbered.
            unsafe {
                std::arch::asm!(
                    concat!("vbroadcastss ", $a, ", [{c}]"),
                    concat!("vbroadcastss ", $b, ", [{c}]"),
                    "2:",
                    $(concat!("vfmadd231ps ", $acc, ", ", $a, ", ", $b),)*
                    $extra,
                    "dec {n}",
                    "jnz 2b",
                    n = inout(reg) iters => _,
                    c = in(reg) &one,
                    $(out($acc) _,)*
                    $(out($dst) _,)*
                    out($a) _, out($b) _,
                    options(nostack),
                );
            }
            t0.elapsed().as_secs_f64()
        }
    };
}

/// `$op` on each of the four registers `$d` (the destination), then the operands `$args`.
#[cfg(target_arch = "x86_64")]
macro_rules! four {
    ($op:literal, [$d0:literal, $d1:literal, $d2:literal, $d3:literal], $args:literal) => {
        concat!(
            $op, " ", $d0, ", ", $args, "\n", $op, " ", $d1, ", ", $args, "\n", $op, " ", $d2,
            ", ", $args, "\n", $op, " ", $d3, ", ", $args
        )
    };
}

#[cfg(target_arch = "x86_64")]
mod x86 {

    /// One timed loop: `iters` iterations, returns seconds.
    pub type Loop = unsafe fn(u64) -> f64;

    /// [`timed_loop`] with 8 FMAs on zmm0-7, the measured instructions on zmm16-19 (`$op
    /// $args` on each), inputs zmm30/zmm31.
    macro_rules! zmm_loop {
        ($name:ident, $op:literal, $args:literal) => {
            zmm_loop!(
                $name,
                four!($op, ["zmm16", "zmm17", "zmm18", "zmm19"], $args)
            );
        };
        ($name:ident, $extra:expr) => {
            timed_loop!(
                $name,
                "avx512f",
                "zmm30",
                "zmm31",
                ["zmm0", "zmm1", "zmm2", "zmm3", "zmm4", "zmm5", "zmm6", "zmm7"],
                ["zmm16", "zmm17", "zmm18", "zmm19"],
                $extra
            );
        };
    }

    zmm_loop!(fma8, "");
    zmm_loop!(fma, "vfmadd231ps", "zmm30, zmm31");
    zmm_loop!(min, "vminps", "zmm30, zmm31");
    zmm_loop!(reduce, "vreduceps", "zmm30, 9");
    zmm_loop!(scalef, "vscalefps", "zmm30, zmm31");
    zmm_loop!(rcp14, "vrcp14ps", "zmm30");
    zmm_loop!(
        rcp14_ymm,
        four!("vrcp14ps", ["ymm16", "ymm17", "ymm18", "ymm19"], "ymm30")
    );
    zmm_loop!(div, "vdivps", "zmm30, zmm31");
    zmm_loop!(permps, "vpermps", "zmm30, zmm31");
    zmm_loop!(cvtps2dq, "vcvtps2dq", "zmm30");
    zmm_loop!(add, "vaddps", "zmm30, zmm31");
    zmm_loop!(mul, "vmulps", "zmm30, zmm31");
    zmm_loop!(permt2, "vpermt2ps", "zmm30, zmm31");
    zmm_loop!(srld, "vpsrld", "zmm30, 21");
    zmm_loop!(andd, "vpandd", "zmm30, zmm31");
    zmm_loop!(ternlog, "vpternlogd", "zmm30, zmm31, 0x96");
    zmm_loop!(paddd, "vpaddd", "zmm30, zmm31");
    zmm_loop!(pminud, "vpminud", "zmm30, zmm31");
    zmm_loop!(getexp, "vgetexpps", "zmm30");
    zmm_loop!(getmant, "vgetmantps", "zmm30, 0");
    zmm_loop!(fixup, "vfixupimmps", "zmm30, zmm31, 0");

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

    /// [`timed_loop`] with 8 FMAs on ymm0-7, the measured instructions on ymm8-11 (`$op
    /// $args` on each), inputs ymm14/ymm15.
    macro_rules! ymm_loop {
        ($name:ident, $op:literal, $args:literal) => {
            ymm_loop!($name, four!($op, ["ymm8", "ymm9", "ymm10", "ymm11"], $args));
        };
        ($name:ident, $extra:expr) => {
            timed_loop!(
                $name,
                "avx2,fma",
                "ymm14",
                "ymm15",
                ["ymm0", "ymm1", "ymm2", "ymm3", "ymm4", "ymm5", "ymm6", "ymm7"],
                ["ymm8", "ymm9", "ymm10", "ymm11"],
                $extra
            );
        };
    }

    ymm_loop!(fma8, "");
    ymm_loop!(fma, "vfmadd231ps", "ymm14, ymm15");
    ymm_loop!(mul, "vmulps", "ymm14, ymm15");
    ymm_loop!(add, "vaddps", "ymm14, ymm15");
    ymm_loop!(min, "vminps", "ymm14, ymm15");
    ymm_loop!(max, "vmaxps", "ymm14, ymm15");
    ymm_loop!(div, "vdivps", "ymm14, ymm15");
    ymm_loop!(rcp, "vrcpps", "ymm14");
    ymm_loop!(round, "vroundps", "ymm14, 8");
    ymm_loop!(cvtps2dq, "vcvtps2dq", "ymm14");
    ymm_loop!(cvtdq2ps, "vcvtdq2ps", "ymm14");
    ymm_loop!(slld, "vpslld", "ymm14, 23");
    ymm_loop!(paddd, "vpaddd", "ymm14, ymm15");
    ymm_loop!(andps, "vandps", "ymm14, ymm15");
    ymm_loop!(permps, "vpermps", "ymm14, ymm15");
    ymm_loop!(blendv, "vblendvps", "ymm14, ymm15, ymm14");

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
