//! `e2e`: hdon's side of `benches/peers/run.sh`. Times generate, eval and total for every
//! workload with f32 and int8 generate-side weights (every `WeightType`: row-major and blocked
//! int8, f32 with padded rows `hdon-f32pad`, and for HyperDeepONet f32 in theta layout 2,
//! `hdon-f32fold`, also padded, `hdon-f32padfold`), with the same median rule as the peers, and
//! writes `DIR/results/hdon-tN.json` (again after each workload, so a stopped run keeps the
//! workloads it finished) plus the `total` outputs `DIR/NAME/out.hdon[-int8]-tN.npy`
//! that the table compares every peer with. Where the f32 target net runs on AMX tiles
//! (`hdon_kernels::mlp_uses_amx`: workload L on a CPU with AMX), it is timed a second time with
//! the tiles switched off (`set_amx(false)`), as `hdon-f32-fma`: the FMA tile kernel in the
//! same run. With N > 1 threads the f32 file is also timed on an `hdon_runtime::Team` of N
//! threads that poll for 1 ms after each job (`generate_on`, `eval_on`, `generate_batch_on`,
//! `eval_all_on`), as `hdon-team`: the API for calls that come in bursts, whose threads need no
//! wake-up (docs/EMBEDDING.md, "Spinning workers").
//!
//! ```text
//! e2e DIR [--threads N] [--budget SECONDS] [--names NAME...]
//! ```
//! Threads: 1 runs `Model::generate` and `Target::eval`; N > 1 runs `Model::generate_par` and
//! `Target::eval_par` inside a rayon pool of N threads (bit-identical to the serial calls;
//! `generate_par` splits only a hypernetwork's last layer of 1 MiB or more, L's, and is the
//! serial generate otherwise). Workload B (64 functions) runs `generate_batch`, then each
//! function's `Target::eval` in turn on 1 thread and `TargetBatch::eval_all_par` on N.
//!
//! The criterion benches (`cargo bench -p hdon-benches --bench e2e`) measure the same phases with
//! criterion's statistics; this binary exists so one script can put hdon and the peers in one
//! table.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use hdon_benches::cli::{self, exit, wants_help, workload, Error};
use hdon_benches::e2e::{ModelBuf, Phase, Runner, State};
use hdon_benches::{npy, WeightType, SPECS};
use hdon_runtime::Team;
use serde_json::json;

fn main() -> ExitCode {
    exit("e2e", run())
}

fn run() -> Result<(), Error> {
    let usage = "usage: e2e DIR [--threads N] [--budget SECONDS] [--names NAME...]   \
                 (DIR: a dump of `workloads export DIR`)";
    let args: Vec<String> = std::env::args().skip(1).collect();
    if wants_help(&args) {
        println!("{usage}");
        return Ok(());
    }
    let dir = match args.first() {
        Some(d) if !d.starts_with('-') => PathBuf::from(d),
        _ => return Err(Error::Usage(usage.to_string())),
    };
    let (mut threads, mut budget, mut names) = (1usize, 1.0f64, Vec::<String>::new());
    let mut i = 1;
    while i < args.len() {
        let value = |i: usize| {
            args.get(i + 1)
                .ok_or_else(|| Error::Usage(format!("{} needs a value; {usage}", args[i])))
        };
        match args[i].as_str() {
            "--threads" => threads = cli::threads(value(i)?)?,
            "--budget" => budget = cli::budget(value(i)?)?,
            "--names" => {
                for name in &args[i + 1..] {
                    workload(name)?;
                }
                names.extend(args[i + 1..].iter().cloned());
                i = args.len();
                continue;
            }
            other => return Err(Error::Usage(format!("unknown argument {other:?}; {usage}"))),
        }
        i += 2;
    }
    // The outputs go into the dump's folders: refuse a missing dump before minutes of timing.
    for spec in SPECS
        .iter()
        .filter(|s| names.is_empty() || names.iter().any(|n| n == s.name))
    {
        let wdir = dir.join(spec.name);
        if !wdir.join("workload.json").is_file() {
            return Err(Error::Run(format!(
                "{}: no workload dump here; run `workloads export {} {}` first",
                wdir.display(),
                dir.display(),
                spec.name
            )));
        }
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| format!("rayon pool: {e}"))?;
    // Spin as `threads_ab`'s team: 1 ms covers the gap between two timed calls.
    let team = if threads > 1 {
        Some(Team::new(threads, Duration::from_millis(1)).map_err(|e| format!("team: {e}"))?)
    } else {
        None
    };
    let results = dir.join("results");
    std::fs::create_dir_all(&results).map_err(|e| format!("{}: {e}", results.display()))?;
    let path = results.join(format!("hdon-t{threads}.json"));
    let mut rows = Vec::new();
    for spec in SPECS
        .iter()
        .filter(|s| names.is_empty() || names.iter().any(|n| n == s.name))
    {
        let w = spec.build();
        // (weights, FMA kernel instead of AMX tiles, on the team)
        let variants = WeightType::ALL
            .into_iter()
            .flat_map(|w| [(w, false, false), (w, true, false), (w, false, true)])
            .filter(|&(w, fma, on_team)| {
                w.applies_to(spec.family)
                    && (!fma || w == WeightType::F32)
                    && (!on_team || (w == WeightType::F32 && team.is_some()))
            });
        for (weights, fma, on_team) in variants {
            let buf = ModelBuf::for_workload(&w, weights)?;
            let mut runner = Runner::new(&w, &buf)?;
            if fma && !runner.uses_amx() {
                continue;
            }
            if let Some(team) = team.as_ref().filter(|_| on_team) {
                runner = runner.on_team(team);
            }
            let (label, wname) = match (weights, fma, on_team) {
                (WeightType::F32, false, false) => (format!("hdon-t{threads}"), "f32".to_string()),
                (WeightType::F32, true, _) => {
                    (format!("hdon-f32-fma-t{threads}"), "f32-fma".into())
                }
                (WeightType::F32, false, true) => (format!("hdon-team-t{threads}"), "team".into()),
                (w, _, _) => (
                    format!("hdon-{}-t{threads}", w.name()),
                    w.name().to_string(),
                ),
            };
            if fma {
                hdon_kernels::set_amx(false);
            }
            let mut state = runner.state();
            for phase in Phase::ALL {
                let (med, iters) =
                    pool.install(|| runner.time(phase, threads, budget, &mut state))?;
                let mut out = serde_json::Value::Null;
                if phase == Phase::Total {
                    let file = format!("out.{label}.npy");
                    write_out(&dir.join(spec.name).join(&file), &runner, &state)?;
                    out = file.into();
                }
                println!(
                    "{label:>15} {:<20} {:<8} {med:12.1} us  ({iters} runs)",
                    spec.name,
                    phase.name()
                );
                rows.push(json!({
                    "workload": spec.name, "phase": phase.name(), "peer": "hdon",
                    "weights": wname, "threads": threads, "median_us": med,
                    "iters": iters, "flops": runner.flops(phase), "out": out,
                }));
            }
            if fma {
                hdon_kernels::set_amx(true);
            }
        }
        // After every workload: a run stopped later keeps what it measured.
        save(&path, &rows)?;
    }
    Ok(())
}

/// Writes `rows` to `path` whole or not at all (a temporary file beside it, then a rename), so
/// the table never reads half a file.
fn save(path: &Path, rows: &[serde_json::Value]) -> Result<(), String> {
    let text = serde_json::to_string_pretty(rows).map_err(|e| e.to_string())?;
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, text).map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display()))
}

fn write_out(path: &Path, runner: &Runner<'_>, state: &State) -> Result<(), String> {
    let s = &runner.workload().spec;
    npy::write_f32(path, &[s.batch, s.n_points, s.d_out], &state.out)
        .map_err(|e| format!("{}: {e}", path.display()))
}
