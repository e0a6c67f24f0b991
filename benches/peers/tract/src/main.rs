//! tract peer of hdon's end-to-end benchmarks (issue 7).
//!
//! ```text
//! hdon-peer-tract DIR --threads N [--budget SECONDS] [--names NAME...]
//! ```
//! For every workload directory `DIR/NAME/` (written by `workloads export` and
//! `peers.py onnx`), loads `generate.onnx`, `eval.onnx` and `total.onnx` with tract-onnx,
//! optimizes them for the fixed input shapes, and times each phase with the same rule as
//! `peers.py` (one warm-up call, then calls until the budget is spent, at least 5, at most 2000;
//! the median is reported). Writes `DIR/results/tract-tN.json` (the schema `peers.py table`
//! reads) and the `total` output to `DIR/NAME/out.tract-tN.npy`.
//!
//! Threads: tract's matrix products run on a rayon pool of N threads (feature `multithread-mm`);
//! everything else in tract is single-threaded.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{anyhow as format_err, bail};
use tract_linalg::multithread::{set_default_executor, Executor};
use tract_onnx::prelude::*;

type Plan = Arc<TypedRunnableModel>;

/// Options of one run.
struct Args {
    dir: PathBuf,
    threads: usize,
    budget: f64,
    names: Vec<String>,
}

const USAGE: &str = "usage: hdon-peer-tract DIR --threads N [--budget SECONDS] [--names NAME...]";

/// The command line, or a usage error (one line, without the usage).
fn parse(args: &[String]) -> Result<Args, String> {
    let dir = PathBuf::from(args.first().ok_or("DIR is missing")?);
    let (mut threads, mut budget, mut names) = (1usize, 1.0f64, Vec::<String>::new());
    let mut i = 1;
    while i < args.len() {
        let value = |i: usize| args.get(i + 1).ok_or(format!("{} needs a value", args[i]));
        match args[i].as_str() {
            "--threads" => {
                let v = value(i)?;
                threads = v
                    .parse()
                    .map_err(|_| format!("--threads {v:?}: not a count"))?;
                i += 2;
            }
            "--budget" => {
                let v = value(i)?;
                budget = v
                    .parse()
                    .map_err(|_| format!("--budget {v:?}: not seconds"))?;
                i += 2;
            }
            "--names" => {
                names.extend(args[i + 1..].iter().cloned());
                i = args.len();
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    // `--threads 0` ran as "tract-t0"; a budget <= 0 or NaN meant 5 calls.
    if threads == 0 || !(budget > 0.0 && budget.is_finite()) {
        return Err("--threads must be >= 1 and --budget seconds > 0".into());
    }
    Ok(Args {
        dir,
        threads,
        budget,
        names,
    })
}

/// Exit status 0, 1 for a failed run, 2 for a usage error (as the benches binaries).
fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!(
            "{USAGE}\n\nTimes generate.onnx, eval.onnx and total.onnx of each workload folder \
             DIR/NAME/ (written by `workloads export` and `peers.py onnx`) with tract-onnx on N \
             threads, --budget seconds per phase (default 1); writes DIR/results/tract-tN.json \
             and DIR/NAME/out.tract-tN.npy. benches/peers/run.sh runs it."
        );
        return std::process::ExitCode::SUCCESS;
    }
    let a = match parse(&args) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("hdon-peer-tract: {e}; {USAGE}");
            return std::process::ExitCode::from(2);
        }
    };
    match run(a) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hdon-peer-tract: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(a: Args) -> TractResult<()> {
    let Args {
        dir,
        threads,
        budget,
        names,
    } = a;
    if threads > 1 {
        set_default_executor(Executor::multithread(threads));
    }
    let label = format!("tract-t{threads}");
    let mut rows = Vec::new();
    for wdir in workload_dirs(&dir, &names)? {
        let meta: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(wdir.join("workload.json"))?)?;
        let name = meta["name"].as_str().unwrap_or("?").to_string();
        let get = |k: &str| {
            meta[k]
                .as_u64()
                .ok_or_else(|| format_err!("workload.json: no {k}"))
        };
        let (batch, n_points) = (get("batch")?, get("n_points")?);
        let (f_gen, f_pt) = (get("flops_generate")?, get("flops_per_point")?);
        let sensors = read_npy_f32(&wdir.join("sensors.npy"))?;
        let points = read_npy_f32(&wdir.join("points.npy"))?;
        let plan = |phase: &str| -> TractResult<Plan> {
            tract_onnx::onnx()
                .model_for_path(wdir.join(format!("{phase}.onnx")))?
                .into_optimized()?
                .into_runnable()
        };
        let (generate, eval, total) = (plan("generate")?, plan("eval")?, plan("total")?);
        let theta = generate.run(tvec!(sensors.clone().into()))?[0]
            .clone()
            .into_tensor();
        let phases: [(&str, &Plan, TVec<Tensor>, u64); 3] = [
            ("generate", &generate, tvec!(sensors.clone()), batch * f_gen),
            (
                "eval",
                &eval,
                tvec!(theta, points.clone()),
                batch * n_points * f_pt,
            ),
            (
                "total",
                &total,
                tvec!(sensors, points),
                batch * (f_gen + n_points * f_pt),
            ),
        ];
        for (phase, plan, inputs, flops) in phases {
            let run = || -> TractResult<TVec<TValue>> {
                plan.run(inputs.iter().cloned().map(|t| t.into_tvalue()).collect())
            };
            let (median_us, iters) = median_us(&run, budget)?;
            let mut out = serde_json::Value::Null;
            if phase == "total" {
                let file = format!("out.{label}.npy");
                let result = run()?[0].clone().into_tensor();
                write_npy_f32(&wdir.join(&file), &result)?;
                out = file.into();
            }
            println!("{label:>10} {name:<20} {phase:<8} {median_us:12.1} us  ({iters} runs)");
            rows.push(serde_json::json!({
                "workload": name, "phase": phase, "peer": "tract", "weights": "f32",
                "threads": threads, "median_us": median_us, "iters": iters, "flops": flops,
                "out": out,
            }));
        }
    }
    std::fs::create_dir_all(dir.join("results"))?;
    std::fs::write(
        dir.join("results").join(format!("{label}.json")),
        serde_json::to_string_pretty(&rows)?,
    )?;
    Ok(())
}

/// Median wall time in microseconds of `run` (same rule as peers.py's `median_us`).
fn median_us(
    run: &dyn Fn() -> TractResult<TVec<TValue>>,
    budget_s: f64,
) -> TractResult<(f64, usize)> {
    run()?;
    let (mut times, mut spent) = (Vec::new(), 0.0);
    while times.len() < 5 || (spent < budget_s && times.len() < 2000) {
        let t0 = Instant::now();
        let out = run()?;
        let dt = t0.elapsed().as_secs_f64();
        drop(out);
        times.push(dt);
        spent += dt;
    }
    times.sort_by(f64::total_cmp);
    let n = times.len();
    let median = if n % 2 == 1 {
        times[n / 2]
    } else {
        0.5 * (times[n / 2 - 1] + times[n / 2])
    };
    Ok((median * 1e6, n))
}

fn workload_dirs(dir: &Path, names: &[String]) -> TractResult<Vec<PathBuf>> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format_err!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("workload.json").exists() && p.join("total.onnx").exists())
        .filter(|p| {
            names.is_empty()
                || names
                    .iter()
                    .any(|n| p.file_name().is_some_and(|f| f == n.as_str()))
        })
        .collect();
    dirs.sort();
    // A wrong DIR or name timed nothing and wrote an empty result, with status 0.
    let found = |n: &String| {
        dirs.iter()
            .any(|p| p.file_name().is_some_and(|f| f == n.as_str()))
    };
    if dirs.is_empty() || !names.iter().all(found) {
        bail!(
            "{}: no workload dump with .onnx graphs for {:?} (run.sh writes them: workloads export, peers.py onnx)",
            dir.display(),
            names
        );
    }
    Ok(dirs)
}

/// Reads a little-endian f32, C-order `.npy` (what `workloads export` writes).
fn read_npy_f32(path: &Path) -> TractResult<Tensor> {
    let bytes = std::fs::read(path).map_err(|e| format_err!("{}: {e}", path.display()))?;
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        bail!("{}: not a .npy file", path.display());
    }
    let (hlen, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        _ => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
    };
    let header = std::str::from_utf8(&bytes[start..start + hlen])?;
    if !header.contains("'<f4'") || header.contains("'fortran_order': True") {
        bail!(
            "{}: expected little-endian f32 in C order, header {header}",
            path.display()
        );
    }
    let shape_str = header
        .split("'shape': (")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .ok_or_else(|| format_err!("{}: no shape in header", path.display()))?;
    let shape: Vec<usize> = shape_str
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    let data: Vec<f32> = bytes[start + hlen..]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    Tensor::from_shape(&shape, &data)
}

fn write_npy_f32(path: &Path, t: &Tensor) -> TractResult<()> {
    let shape: Vec<String> = t.shape().iter().map(|d| d.to_string()).collect();
    let mut dict = format!(
        "{{'descr': '<f4', 'fortran_order': False, 'shape': ({}{}), }}",
        shape.join(", "),
        if shape.len() == 1 { "," } else { "" }
    );
    dict.push_str(&" ".repeat((64 - (11 + dict.len()) % 64) % 64));
    dict.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    bytes.extend_from_slice(dict.as_bytes());
    for v in t.to_plain_array_view::<f32>()?.iter() {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    std::fs::write(path, bytes)?;
    Ok(())
}
