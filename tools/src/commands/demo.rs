//! `hdon demo`: every shipped model on its shipped test set, in one table and one figure.
//!
//! Models: `models/<problem>/*.hdon` with the test set `models/<problem>/test.npz` (or the
//! only `.npz` there), where `models/` is found in the current directory or next to the
//! source tree (`CARGO_MANIFEST_DIR/..`). When there is no `.hdon` file, the demo builds the
//! test suite's models instead: each `tests/fixtures/<name>/` (model.toml + checkpoint +
//! golden.npz) is exported in memory and measured against its reference outputs.

use super::bench::{bench_points, bench_sensors, time_loop};
use super::{print_json, progress};
use crate::checkpoint::Checkpoint;
use crate::model_file::{predict, LoadedFile};
use crate::plot;
use crate::quantize::WeightDtype;
use crate::spec::Spec;
use crate::testset::{rel_l2, ErrorStats, TestSet};
use anyhow::{anyhow, bail, Context, Result};
use serde_json::json;
use std::path::{Path, PathBuf};

/// Arguments of `hdon demo` (all optional).
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Folder of shipped models (default: ./models, else the source tree's models/).
    #[arg(long)]
    pub models: Option<PathBuf>,
    /// Where to write the figure.
    #[arg(long, default_value = "hdon-demo.png")]
    pub plot: PathBuf,
    /// Print the table as JSON.
    #[arg(long)]
    pub json: bool,
}

/// One model to run: its bytes and its test set.
struct Entry {
    problem: String,
    file: LoadedFile,
    data: PathBuf,
}

fn source_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    root.canonicalize().unwrap_or(root)
}

fn first_existing(candidates: &[PathBuf]) -> Option<PathBuf> {
    candidates.iter().find(|p| p.is_dir()).cloned()
}

fn sorted_dirs(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    Ok(dirs)
}

fn files_with_ext(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some(ext))
        .collect();
    v.sort();
    v
}

/// Shipped models: `(problem, model file, test set)` for every `models/<problem>/*.hdon`.
fn shipped(models: &Path) -> Result<Vec<Entry>> {
    let mut out = Vec::new();
    for dir in sorted_dirs(models)? {
        let problem = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let hdons = files_with_ext(&dir, "hdon");
        if hdons.is_empty() {
            continue;
        }
        let npzs = files_with_ext(&dir, "npz");
        let data = match npzs
            .iter()
            .find(|p| p.file_name().is_some_and(|n| n == "test.npz"))
        {
            Some(p) => p.clone(),
            None if npzs.len() == 1 => npzs[0].clone(),
            None => bail!(
                "{}: expected a test set test.npz next to the model(s), found {} .npz files",
                dir.display(),
                npzs.len()
            ),
        };
        for h in hdons {
            let stem = h
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let name = if stem == "model" {
                problem.clone()
            } else {
                format!("{problem}/{stem}")
            };
            out.push(Entry {
                problem: name,
                file: LoadedFile::read(&h)?,
                data: data.clone(),
            });
        }
    }
    Ok(out)
}

/// The test suite's models, exported in memory from `tests/fixtures/<name>/`.
fn from_fixtures(fixtures: &Path) -> Result<Vec<Entry>> {
    let mut out = Vec::new();
    for dir in sorted_dirs(fixtures)? {
        let spec = dir.join("model.toml");
        let golden = dir.join("golden.npz");
        let ckpt = ["checkpoint.safetensors", "checkpoint.npz"]
            .iter()
            .map(|n| dir.join(n))
            .find(|p| p.is_file());
        let (Some(ckpt), true, true) = (ckpt, spec.is_file(), golden.is_file()) else {
            continue;
        };
        let plan = Spec::read(&spec)?
            .validate()
            .map_err(|e| anyhow!("{}: {e}", spec.display()))?;
        let exported = crate::export::export(&plan, &Checkpoint::read(&ckpt)?, WeightDtype::F32)?;
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        out.push(Entry {
            problem: name,
            file: LoadedFile::from_bytes(
                &format!("{} (exported in memory)", ckpt.display()),
                &exported.bytes,
            ),
            data: golden,
        });
    }
    Ok(out)
}

/// Runs `hdon demo`.
pub fn run(a: Args) -> Result<()> {
    let models = match &a.models {
        Some(m) => Some(m.clone()),
        None => first_existing(&[PathBuf::from("models"), source_root().join("models")]),
    };
    let mut entries = match &models {
        Some(m) => shipped(m)?,
        None => Vec::new(),
    };
    let mut source = match &models {
        Some(m) => format!("shipped models under {}", m.display()),
        None => String::new(),
    };
    if entries.is_empty() {
        let fixtures = first_existing(&[PathBuf::from("tests/fixtures"), source_root().join("tests/fixtures")])
            .ok_or_else(|| anyhow!("no .hdon models under models/ and no tests/fixtures/ to build them from (looked in . and {})", source_root().display()))?;
        entries = from_fixtures(&fixtures)?;
        source = format!(
            "no .hdon files under {}: built {} models from {} (exported in memory, f32); errors are against the reference framework's outputs in golden.npz",
            models.as_ref().map_or("models/".to_string(), |m| m.display().to_string()),
            entries.len(),
            fixtures.display()
        );
        if entries.is_empty() {
            bail!(
                "{}: no fixture folders with model.toml, checkpoint and golden.npz",
                fixtures.display()
            );
        }
    }
    if !a.json {
        println!("hdon demo: {source}");
        println!("kernel path {}\n", hdon_kernels::active_path().name());
    }
    let bar = progress(entries.len() as u64, "demo");
    let mut rows = Vec::new();
    let mut panels = Vec::new();
    for e in &entries {
        let model = e.file.model()?;
        let set = TestSet::read(&e.data, model.n_sensors(), model.d_y(), model.d_out())?;
        let (reference, want) = match (&set.truth, &set.outputs) {
            (Some(t), _) => ("truth", t),
            (None, Some(o)) => ("outputs", o),
            (None, None) => bail!("{}: no 'truth' or 'outputs' array", e.data.display()),
        };
        let pred = predict(&model, set.n, &set.sensors, |i| set.points_of(i), || {})?;
        let stats = ErrorStats::of(
            (0..set.n)
                .map(|i| rel_l2(set.slice_of(&pred, i), set.slice_of(want, i)))
                .collect(),
        );
        // Latency: generate one function; eval 1,000 points.
        let u = bench_sensors(&model, 1);
        let y = bench_points(&model, 1000);
        let mut ws = vec![0f32; model.workspace_len(1)];
        let mut out = vec![0f32; 1000 * model.d_out()];
        let generate = time_loop(200, 10, || {
            model
                .generate(&u, &mut ws)
                .map(drop)
                .map_err(|e| anyhow!("generate: {e}"))
        })?;
        let mut target = model
            .generate(&u, &mut ws)
            .map_err(|e| anyhow!("generate: {e}"))?;
        let eval = time_loop(50, 3, || {
            target.eval(&y, &mut out).map_err(|e| anyhow!("eval: {e}"))
        })?;
        let report =
            super::inspect::report(&e.file.path.display().to_string(), model.file(), &model);
        let params = report["params"]["stored_total"].as_u64().unwrap_or(0);
        let dtype = model
            .file()
            .arch()
            .networks()
            .filter(|n| !n.role.is_target_side())
            .flat_map(|n| n.layers())
            .filter_map(|l| model.file().tensor(l.weight))
            .map(|t| t.dtype().name())
            .next()
            .unwrap_or("f32");
        if model.d_y() <= 2 {
            let one = set.slice_of(&pred, 0);
            panels.extend(plot::panels_for(
                &e.problem,
                &|_| set.points_of(0).to_vec(),
                (model.d_y(), model.d_out()),
                1,
                one,
                Some(set.slice_of(want, 0)),
                1,
            )?);
        }
        rows.push(json!({
            "problem": e.problem,
            "family": model.family().name(),
            "params": params,
            "dtype": dtype,
            "reference": reference,
            "functions": set.n,
            "rel_l2": { "mean": stats.mean, "std": stats.std, "max": stats.max },
            "generate_us": generate.p50_us,
            "eval_us_per_1000_points": eval.p50_us,
        }));
        bar.inc(1);
    }
    bar.finish_and_clear();
    if !panels.is_empty() {
        plot::draw(&a.plot, &panels)?;
    }
    if a.json {
        return print_json(
            &json!({ "source": source, "kernel_path": hdon_kernels::active_path().name(), "models": rows, "plot": a.plot.display().to_string() }),
        );
    }
    println!(
        "{:<22} {:<14} {:>9} {:<6} {:>12} {:>14} {:>18}",
        "problem", "family", "params", "dtype", "rel L2", "generate us", "eval us/1k pts"
    );
    for r in &rows {
        println!(
            "{:<22} {:<14} {:>9} {:<6} {:>12.4e} {:>14.2} {:>18.2}",
            r["problem"].as_str().unwrap_or(""),
            r["family"].as_str().unwrap_or(""),
            r["params"].as_u64().unwrap_or(0),
            r["dtype"].as_str().unwrap_or(""),
            r["rel_l2"]["mean"].as_f64().unwrap_or(f64::NAN),
            r["generate_us"].as_f64().unwrap_or(f64::NAN),
            r["eval_us_per_1000_points"].as_f64().unwrap_or(f64::NAN)
        );
    }
    println!(
        "\nlatencies are medians on this machine (single thread); figure: {}",
        a.plot.display()
    );
    Ok(())
}
