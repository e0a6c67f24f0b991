//! The small command lines of the benchmark binaries (`src/bin/`).

use std::process::ExitCode;

/// A binary's exit status: success, or `result`'s error printed as `name: error` and status 1.
pub fn exit(name: &str, result: Result<(), String>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{name}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The arguments of the A/B binaries: `[--threads N] [--budget SECONDS] [NAME...]`
/// (`--threads` only where the binary takes it).
#[derive(Clone, Debug)]
pub struct AbArgs {
    /// Threads of the parallel side.
    pub threads: usize,
    /// Seconds of timed pairs per workload.
    pub budget: f64,
    /// Workload names, in order.
    pub names: Vec<String>,
}

impl AbArgs {
    /// Parses the process arguments over `defaults` (whose names are used when none are
    /// given); `Ok(None)` after printing `usage` for `-h`/`--help`.
    ///
    /// # Errors
    /// A missing or unparsable value, or `--threads` where `threads` is false.
    pub fn parse(usage: &str, defaults: AbArgs, threads: bool) -> Result<Option<AbArgs>, String> {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let mut out = AbArgs {
            names: Vec::new(),
            ..defaults.clone()
        };
        let mut i = 0;
        while i < args.len() {
            let value = || args.get(i + 1).ok_or(usage.to_string());
            match args[i].as_str() {
                "--threads" if threads => {
                    out.threads = value()?.parse().map_err(|e| format!("--threads: {e}"))?;
                }
                "--budget" => {
                    out.budget = value()?.parse().map_err(|e| format!("--budget: {e}"))?;
                }
                "-h" | "--help" => {
                    println!("{usage}");
                    return Ok(None);
                }
                name if !name.starts_with('-') => {
                    out.names.push(name.to_string());
                    i += 1;
                    continue;
                }
                other => return Err(format!("unknown argument {other:?}; {usage}")),
            }
            i += 2;
        }
        if out.names.is_empty() {
            out.names = defaults.names;
        }
        Ok(Some(out))
    }
}

/// The one optional argument of a single-count binary (`tile_ab [ROUNDS]`, `port_cost
/// [ITERS]`): `default` when absent, else the argument as a count >= 1.
///
/// # Errors
/// `usage` when the argument is not a whole number >= 1.
pub fn count_arg(usage: &str, default: u64) -> Result<u64, String> {
    match std::env::args().nth(1).map(|a| a.parse::<u64>()) {
        None => Ok(default),
        Some(Ok(n)) if n > 0 => Ok(n),
        _ => Err(usage.to_string()),
    }
}

/// `run(count_arg(usage, default))`, or the usage on stderr and failure.
pub fn with_count(usage: &str, default: u64, run: fn(u64) -> ExitCode) -> ExitCode {
    match count_arg(usage, default) {
        Ok(n) => run(n),
        Err(usage) => {
            eprintln!("{usage}");
            ExitCode::FAILURE
        }
    }
}

/// Sorts `v` ascending (the A/B binaries' samples: times, ratios).
pub fn sort(v: &mut [f64]) {
    v.sort_by(f64::total_cmp);
}

/// The `p` quantile (0..=1) of ascending `sorted` samples: the sample at the nearest rank
/// (`p` = 0.5: the middle one, the upper of the two middle ones for an even count).
///
/// # Panics
/// On an empty slice.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}
