//! `hdon demo`: every shipped model on its shipped test set, in one table and one figure.
//!
//! Where the models come from, in this order (the first that yields any model wins):
//! 1. `.hdon` files anywhere under `models/` (up to 3 folders deep); the test set is
//!    `test.npz` in the model's folder or its parent (or the only `.npz` there);
//! 2. trained checkpoints under `models/` (folders with `model.toml`, `checkpoint.safetensors`
//!    or `.npz`, and `test.npz`), exported in memory (f32);
//! 3. the test suite's fixtures `tests/fixtures/<name>/` (model.toml + checkpoint +
//!    golden.npz), exported in memory and measured against the framework's reference outputs.
//!
//! `models/` and `tests/fixtures/` are looked up in the current directory, then in the source
//! tree next to this crate (`CARGO_MANIFEST_DIR/..`). The demo says on screen which it used.

use super::bench::{bench_points, bench_sensors, time_loop, Iters};
use super::{print_json, progress};
use crate::checkpoint::Checkpoint;
use crate::model_file::{predict_set, LoadedFile};
use crate::plot;
use crate::quantize::WeightDtype;
use crate::spec::Spec;
use crate::testset::TestSet;
use anyhow::{anyhow, bail, Result};
use serde_json::json;
use std::path::{Path, PathBuf};

/// Timed calls per phase and model: about a quarter second's worth, 5..=200.
const DEMO_ITERS: Iters = Iters::Budget {
    seconds: 0.25,
    min: 5,
    max: 200,
};

/// Arguments of `hdon demo` (all optional).
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Folder of shipped models (default: ./models, else the source tree's models/, else the
    /// test fixtures); a --models that is not a folder is an error.
    #[arg(long)]
    pub models: Option<PathBuf>,
    /// Where to write the figure (PNG, one test function per problem).
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

/// `dir` and its sub-folders down to `depth` levels, sorted.
fn folders(dir: &Path, depth: usize) -> Vec<PathBuf> {
    let mut out = vec![dir.to_path_buf()];
    if depth > 0 {
        let mut subs: Vec<PathBuf> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir())
            .collect();
        subs.sort();
        for s in subs {
            out.extend(folders(&s, depth - 1));
        }
    }
    out
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

/// The name of `dir` relative to `root` (`burgers/hyper`), or the folder name.
fn relative_name(root: &Path, dir: &Path) -> String {
    let rel = dir.strip_prefix(root).unwrap_or(dir);
    let name = rel.to_string_lossy().replace('\\', "/");
    if name.is_empty() {
        root.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    } else {
        name
    }
}

/// The test set of a model in `dir`: `test.npz` there or in the parent, else the only `.npz`.
fn test_set_for(dir: &Path) -> Result<PathBuf> {
    for d in [Some(dir), dir.parent()].into_iter().flatten() {
        let npzs = files_with_ext(d, "npz");
        if let Some(p) = npzs
            .iter()
            .find(|p| p.file_name().is_some_and(|n| n == "test.npz"))
        {
            return Ok(p.clone());
        }
        let sets: Vec<&PathBuf> = npzs
            .iter()
            .filter(|p| {
                !p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("checkpoint"))
            })
            .collect();
        if sets.len() == 1 {
            return Ok(sets[0].clone());
        }
    }
    bail!(
        "{}: no test set (test.npz) next to the model or in its parent folder",
        dir.display()
    )
}

/// `.hdon` files under `root`.
fn hdon_files(root: &Path) -> Result<Vec<Entry>> {
    let mut out = Vec::new();
    for dir in folders(root, 3) {
        for h in files_with_ext(&dir, "hdon") {
            let stem = h
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let base = relative_name(root, &dir);
            let problem = if stem == "model" {
                base
            } else {
                format!("{base}/{stem}")
            };
            out.push(Entry {
                problem,
                file: LoadedFile::read(&h)?,
                data: test_set_for(&dir)?,
            });
        }
    }
    Ok(out)
}

/// Folders under `root` with a spec, a checkpoint and the test set file `data_name`, exported
/// in memory (f32).
fn checkpoints(root: &Path, data_name: &str) -> Result<Vec<Entry>> {
    let mut out = Vec::new();
    for dir in folders(root, 3) {
        let spec = dir.join("model.toml");
        let data = dir.join(data_name);
        let ckpt = ["checkpoint.safetensors", "checkpoint.npz"]
            .iter()
            .map(|n| dir.join(n))
            .find(|p| p.is_file());
        let (Some(ckpt), true, true) = (ckpt, spec.is_file(), data.is_file()) else {
            continue;
        };
        let plan = Spec::read(&spec)?
            .validate()
            .map_err(|e| anyhow!("{}: {e}", spec.display()))?;
        let exported = crate::export::export(&plan, &Checkpoint::read(&ckpt)?, WeightDtype::F32)?;
        out.push(Entry {
            problem: relative_name(root, &dir),
            file: LoadedFile::from_bytes(
                &format!("{} (exported in memory)", ckpt.display()),
                &exported.bytes,
            ),
            data,
        });
    }
    Ok(out)
}

/// Finds the models to run and says where they came from.
fn discover(models_arg: Option<&Path>) -> Result<(Vec<Entry>, String)> {
    let models = match models_arg {
        Some(m) => Some(m.to_path_buf()),
        None => first_existing(&[PathBuf::from("models"), source_root().join("models")]),
    };
    if let Some(m) = &models {
        let entries = hdon_files(m)?;
        if !entries.is_empty() {
            let note = format!(
                "{} shipped .hdon models under {}",
                entries.len(),
                m.display()
            );
            return Ok((entries, note));
        }
        let entries = checkpoints(m, "test.npz")?;
        if !entries.is_empty() {
            let note = format!(
                "no .hdon files under {}: exported {} trained checkpoints found there in memory (f32)",
                m.display(),
                entries.len()
            );
            return Ok((entries, note));
        }
    }
    let fixtures = first_existing(&[PathBuf::from("tests/fixtures"), source_root().join("tests/fixtures")])
        .ok_or_else(|| {
            anyhow!(
                "no models under models/ and no tests/fixtures/ to build them from (looked in . and {})",
                source_root().display()
            )
        })?;
    let entries = checkpoints(&fixtures, "golden.npz")?;
    if entries.is_empty() {
        bail!(
            "{}: no fixture folders with model.toml, checkpoint and golden.npz",
            fixtures.display()
        );
    }
    let note = format!(
        "no .hdon files or trained checkpoints under {}: built {} models from {} (exported in memory, f32); errors are against the reference framework's outputs in golden.npz",
        models.as_ref().map_or("models/".to_string(), |m| m.display().to_string()),
        entries.len(),
        fixtures.display()
    );
    Ok((entries, note))
}

/// Runs `hdon demo`.
pub fn run(a: Args) -> Result<()> {
    if let Some(m) = a.models.as_deref().filter(|m| !m.is_dir()) {
        bail!(
            "--models {}: not a folder (it should hold the shipped models, e.g. models/)",
            m.display()
        );
    }
    plot::check_png("--plot", &a.plot)?;
    super::check_output("--plot", &a.plot, &[])?;
    let (entries, source) = discover(a.models.as_deref())?;
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
        let (reference, want) = set.reference(false)?;
        let pred = predict_set(&model, &set, || {})?;
        let stats = set.errors(&pred, want);
        // Latency: generate one function; eval 1,000 points.
        let u = bench_sensors(&model, 1);
        let y = bench_points(&model, 1000);
        let mut ws = vec![0f32; model.workspace_len(1)];
        let mut out = vec![0f32; 1000 * model.d_out()];
        let generate = time_loop(
            DEMO_ITERS,
            2,
            || {},
            || {
                model
                    .generate(&u, &mut ws)
                    .map(drop)
                    .map_err(|e| anyhow!("generate: {e}"))
            },
        )?;
        let mut target = model
            .generate(&u, &mut ws)
            .map_err(|e| anyhow!("generate: {e}"))?;
        let eval = time_loop(
            DEMO_ITERS,
            1,
            || {},
            || target.eval(&y, &mut out).map_err(|e| anyhow!("eval: {e}")),
        )?;
        let report =
            super::inspect::report(&e.file.path.display().to_string(), model.file(), &model);
        let params = report["params"]["stored_total"].as_u64().unwrap_or(0);
        let dtype = super::bench::weights_dtype(model.file());
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
            &json!({ "source": source, "kernel_path": hdon_kernels::active_path().name(),
            "build": super::BUILD, "models": rows, "plot": a.plot.display().to_string() }),
        );
    }
    // The problem column is as wide as its longest name (shipped files are named
    // <problem>/<family>/model-<dtype>), so the columns stay aligned.
    let w = rows
        .iter()
        .map(|r| r["problem"].as_str().unwrap_or("").len())
        .max()
        .unwrap_or(0)
        .max(26);
    println!(
        "{:<w$} {:<14} {:>9} {:<6} {:>12} {:>14} {:>18}",
        "problem", "family", "params", "dtype", "rel L2", "generate us", "eval us/1k pts"
    );
    for r in &rows {
        println!(
            "{:<w$} {:<14} {:>9} {:<6} {:>12.4e} {:>14.2} {:>18.2}",
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
        "\nlatencies are medians on this machine ({} build, single thread); figure: {}",
        super::BUILD,
        a.plot.display()
    );
    super::warn_if_debug();
    Ok(())
}
