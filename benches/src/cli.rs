//! The small command lines of the benchmark binaries (`src/bin/`).

use std::process::ExitCode;

use crate::{Spec, SPECS};

/// Why a benchmark binary stopped: a usage error (status 2: an unknown option or workload, a
/// missing or malformed value) or a failure while it ran (status 1).
#[derive(Debug)]
pub enum Error {
    /// The command line is wrong; the message names what and shows the usage.
    Usage(String),
    /// The command line was fine; something failed while running.
    Run(String),
}

impl From<String> for Error {
    fn from(e: String) -> Error {
        Error::Run(e)
    }
}

/// A binary's exit status: success, or `result`'s error printed as `name: error` and status 2
/// for a usage error ([`Error::Usage`]), 1 for any other.
pub fn exit<E: Into<Error>>(name: &str, result: Result<(), E>) -> ExitCode {
    match result.map_err(Into::into) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Error::Usage(e)) => {
            eprintln!("{name}: {e}");
            ExitCode::from(2)
        }
        Err(Error::Run(e)) => {
            eprintln!("{name}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `true` when `args` asks for help (`-h` or `--help` anywhere).
pub fn wants_help(args: &[String]) -> bool {
    args.iter().any(|a| a == "-h" || a == "--help")
}

/// The workload `name`, or a usage error that lists the known ones.
pub fn workload(name: &str) -> Result<&'static Spec, Error> {
    crate::spec(name).ok_or_else(|| {
        let known: Vec<&str> = SPECS.iter().map(|s| s.name).collect();
        Error::Usage(format!(
            "unknown workload {name:?}; known: {}",
            known.join(" ")
        ))
    })
}

/// `--budget`'s value: seconds, finite and > 0.
pub fn budget(value: &str) -> Result<f64, Error> {
    match value.parse::<f64>() {
        Ok(b) if b.is_finite() && b > 0.0 => Ok(b),
        _ => Err(Error::Usage(format!(
            "--budget takes seconds > 0 (found {value:?})"
        ))),
    }
}

/// `--threads`' value: 1 to `hdon_runtime::Team::MAX_THREADS`.
pub fn threads(value: &str) -> Result<usize, Error> {
    let most = hdon_runtime::Team::MAX_THREADS;
    match value.parse::<usize>() {
        Ok(t) if (1..=most).contains(&t) => Ok(t),
        _ => Err(Error::Usage(format!(
            "--threads takes 1 to {most} (found {value:?})"
        ))),
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
    /// given); `Ok(None)` after printing `usage` for `-h`/`--help`. Every name must be a
    /// workload that `accept` takes (`Err(why)` otherwise), checked before anything runs.
    ///
    /// # Errors
    /// [`Error::Usage`]: a missing or unparsable value, `--threads` where `threads` is false,
    /// an unknown workload or one that `accept` refuses.
    pub fn parse(
        usage: &str,
        defaults: AbArgs,
        threads: bool,
        accept: impl Fn(&Spec) -> Result<(), String>,
    ) -> Result<Option<AbArgs>, Error> {
        let args: Vec<String> = std::env::args().skip(1).collect();
        if wants_help(&args) {
            println!("{usage}");
            return Ok(None);
        }
        let mut out = AbArgs {
            names: Vec::new(),
            ..defaults.clone()
        };
        let mut i = 0;
        while i < args.len() {
            let value = || {
                args.get(i + 1)
                    .ok_or_else(|| Error::Usage(format!("{} needs a value; {usage}", args[i])))
            };
            match args[i].as_str() {
                "--threads" if threads => out.threads = self::threads(value()?)?,
                "--budget" => out.budget = budget(value()?)?,
                name if !name.starts_with('-') => {
                    let s = workload(name)?;
                    accept(s).map_err(|why| Error::Usage(format!("{name}: {why}")))?;
                    out.names.push(name.to_string());
                    i += 1;
                    continue;
                }
                other => return Err(Error::Usage(format!("unknown argument {other:?}; {usage}"))),
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
/// [ITERS]`): `default` when absent, else the argument as a count >= 1; `Ok(None)` after
/// printing `usage` for `-h`/`--help`.
///
/// # Errors
/// [`Error::Usage`] when the argument is not a whole number >= 1, or there is more than one.
pub fn count_arg(usage: &str, default: u64) -> Result<Option<u64>, Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if wants_help(&args) {
        println!("{usage}");
        return Ok(None);
    }
    match &args[..] {
        [] => Ok(Some(default)),
        [a] => match a.parse::<u64>() {
            Ok(n) if n > 0 => Ok(Some(n)),
            _ => Err(Error::Usage(format!("not a count >= 1: {a:?}; {usage}"))),
        },
        _ => Err(Error::Usage(format!("one argument at most; {usage}"))),
    }
}

/// `run(count_arg(usage, default))`, or the usage and status 2 (0 for `--help`).
pub fn with_count(name: &str, usage: &str, default: u64, run: fn(u64) -> ExitCode) -> ExitCode {
    match count_arg(usage, default) {
        Ok(Some(n)) => run(n),
        Ok(None) => ExitCode::SUCCESS,
        Err(e) => exit(name, Err(e)),
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
