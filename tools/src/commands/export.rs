//! `hdon export --spec model.toml --weights ckpt -o model.hdon`.

use super::{print_json, progress, write_atomic};
use crate::checkpoint::Checkpoint;
use crate::export::{self, Exported, ThetaLayout};
use crate::model_file::{predict_set, LoadedFile};
use crate::quantize::WeightDtype;
use crate::spec::Spec;
use crate::testset::TestSet;
use anyhow::{anyhow, bail, Result};
use serde_json::json;
use std::path::{Path, PathBuf};

/// Arguments of `hdon export`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Model spec (TOML; docs/EXPORT.md).
    #[arg(long)]
    pub spec: PathBuf,
    /// Checkpoint: .safetensors (F32/F64/F16/BF16) or .npz (float32/float64/float16).
    #[arg(long)]
    pub weights: PathBuf,
    /// Storage type of the generate-side weights (hyper, branch, scale, shift, pre).
    /// Biases, target-side (trunk/decoder) blocks and chunk embeddings stay f32.
    #[arg(long, value_enum, default_value = "f32")]
    pub dtype: WeightDtype,
    /// Reference .npz (sensors, points, outputs from the training framework): run the new
    /// file through the runtime and fail if it differs by more than --rtol.
    #[arg(long)]
    pub check: Option<PathBuf>,
    /// Tolerance of --check (needs --check; a number >= 0): max |hdon - reference| / max
    /// |reference of that function|. Default 1e-5 for f32 and f32-padded, 1e-2 for f16, 5e-2
    /// for bf16, int8 and int8-blocked.
    #[arg(long, requires = "check")]
    pub rtol: Option<f64>,
    /// Theta layout of a HyperDeepONet file (docs/FORMAT.md; other families always write
    /// layout 1). `folded` costs accuracy: up to ~1.8x the f32 rounding error (shipped models:
    /// at most 2.9e-5 against 2.6e-5) and 1.3-4.4x the int8 error (docs/CLI.md); runtimes
    /// older than layout 2 reject it.
    #[arg(long, value_enum, default_value = "rows")]
    pub theta_layout: ThetaLayout,
    /// Output .hdon file (written atomically: temporary file + rename). Any name but those of
    /// the formats hdon reads (.npy, .npz, .safetensors, .toml, .json, .onnx, .csv).
    #[arg(short, long)]
    pub output: PathBuf,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Default --check tolerance for a dtype.
pub fn default_rtol(dtype: WeightDtype) -> f64 {
    match dtype {
        WeightDtype::F32 | WeightDtype::F32Padded => 1e-5,
        WeightDtype::F16 => 1e-2,
        WeightDtype::Bf16 | WeightDtype::Int8 | WeightDtype::Int8Blocked => 5e-2,
    }
}

/// Result of comparing a model's outputs with reference outputs.
#[derive(Clone, Debug, serde::Serialize)]
pub struct CheckReport {
    /// Reference file.
    pub reference: String,
    /// Which array was compared (`outputs`, else `truth`).
    pub array: String,
    /// Max over functions and points of |hdon - ref| / max |ref of that function|.
    pub max_rel: f64,
    /// Max |hdon - ref|.
    pub max_abs: f64,
    /// Function index of the worst element.
    pub worst_function: usize,
    /// Point index of the worst element.
    pub worst_point: usize,
    /// Output component of the worst element.
    pub worst_component: usize,
    /// hdon's value there.
    pub hdon_value: f32,
    /// The reference value there.
    pub reference_value: f32,
    /// Largest |reference| of the worst function: the denominator of `max_rel`. Near zero (an
    /// untrained model) it turns f32 rounding into a large relative error.
    pub worst_scale: f64,
    /// Tolerance used.
    pub rtol: f64,
    /// max_rel <= rtol.
    pub passed: bool,
}

/// Runs `file` on the reference set and compares with its `outputs` (or `truth`).
pub fn check_against(
    file: &LoadedFile,
    reference: &std::path::Path,
    rtol: f64,
) -> Result<CheckReport> {
    let model = file.model()?;
    let set = TestSet::read(reference, model.n_sensors(), model.d_y(), model.d_out())?;
    let (array, want) = set.reference(true)?;
    let bar = progress(set.n as u64, "check");
    let got = predict_set(&model, &set, || bar.inc(1))?;
    bar.finish_and_clear();
    let mut r = CheckReport {
        reference: reference.display().to_string(),
        array: array.into(),
        max_rel: 0.0,
        max_abs: 0.0,
        worst_function: 0,
        worst_point: 0,
        worst_component: 0,
        hdon_value: 0.0,
        reference_value: 0.0,
        worst_scale: 0.0,
        rtol,
        passed: false,
    };
    let d_out = set.d_out;
    let mut first = true;
    for i in 0..set.n {
        let g = set.slice_of(&got, i);
        let w = set.slice_of(want, i);
        let scale = w
            .iter()
            .fold(0f64, |m, &x| m.max((x as f64).abs()))
            .max(f64::MIN_POSITIVE);
        for (k, (&a, &b)) in g.iter().zip(w).enumerate() {
            let abs = ((a as f64) - (b as f64)).abs();
            let rel = if abs.is_nan() {
                f64::INFINITY
            } else {
                abs / scale
            };
            r.max_abs = r.max_abs.max(abs);
            if first || rel > r.max_rel {
                first = false;
                r.max_rel = rel;
                r.worst_function = i;
                r.worst_point = k / d_out;
                r.worst_component = k % d_out;
                r.hdon_value = a;
                r.reference_value = b;
                r.worst_scale = scale;
            }
        }
    }
    r.passed = r.max_rel <= rtol;
    Ok(r)
}

/// A hint for a check that failed by f32 rounding alone on outputs near zero (an untrained or
/// barely trained model): an absolute error within a few f32 ulps of 1 is no export fault,
/// whatever its ratio to the function's tiny outputs.
fn near_zero_hint(c: &CheckReport) -> String {
    // 1e-6 is ~8 ulps of 1.0; a real fault (wrong layout, wrong tensor) is far larger.
    if c.max_abs <= 1e-6 && c.worst_scale < 0.1 {
        format!(
            " (the outputs are near zero and differ by {:.1e} at most, which f32 rounding alone gives; if the model is untrained, check with a larger --rtol)",
            c.max_abs
        )
    } else {
        String::new()
    }
}

/// Extensions of the formats hdon reads or writes other than `.hdon`: an export under one of
/// these names would pass a model file off as a checkpoint, spec or array file.
const OTHER_FORMATS: [&str; 7] = ["npy", "npz", "safetensors", "toml", "json", "onnx", "csv"];

/// Refuses an output name whose extension says another format (`-o model.npy`): any other name
/// is allowed (`.hdon`, or `.bin` for a firmware image's build, say).
fn check_output_name(output: &Path) -> Result<()> {
    let ext = output.extension().and_then(|e| e.to_str()).unwrap_or("");
    if let Some(f) = OTHER_FORMATS.iter().find(|f| ext.eq_ignore_ascii_case(f)) {
        bail!(
            "-o {}: an .hdon model would be written under a .{f} name; name it {}",
            output.display(),
            output.with_extension("hdon").display()
        );
    }
    Ok(())
}

/// Runs `hdon export`.
pub fn run(a: Args) -> Result<()> {
    if let Some(r) = a.rtol.filter(|r| !(r.is_finite() && *r >= 0.0)) {
        bail!("--rtol: expected a finite number >= 0, found {r}");
    }
    let mut inputs = vec![
        ("--spec", a.spec.as_path()),
        ("--weights", a.weights.as_path()),
    ];
    if let Some(c) = &a.check {
        inputs.push(("--check", c.as_path()));
    }
    super::check_output("-o", &a.output, &inputs)?;
    check_output_name(&a.output)?;
    let plan = Spec::read(&a.spec)?
        .validate()
        .map_err(|e| anyhow!("{}: {e}", a.spec.display()))?;
    let ckpt = Checkpoint::read(&a.weights)?;
    let Exported {
        bytes,
        quant,
        unused,
        workspace,
    } = export::export_with(&plan, &ckpt, a.dtype, a.theta_layout)?;
    let file = LoadedFile::from_bytes(&a.output.display().to_string(), &bytes);
    // The runtime must accept what we built (structure, checksums, workspace records).
    file.model()?;
    let check = match &a.check {
        Some(reference) => Some(check_against(
            &file,
            reference,
            a.rtol.unwrap_or(default_rtol(a.dtype)),
        )?),
        None => None,
    };
    let failed = check.as_ref().is_some_and(|c| !c.passed);
    if !failed {
        write_atomic(&a.output, &bytes)?;
    }
    if a.json {
        print_json(&json!({
            "output": a.output.display().to_string(),
            "written": !failed,
            "family": plan.family.name(),
            "dtype": a.dtype.name(),
            "file_bytes": bytes.len(),
            "workspace_f32": workspace.iter().map(|(b, l)| json!({"batch": b, "f32": l, "bytes": l * 4})).collect::<Vec<_>>(),
            "quantization": quant,
            "unused_checkpoint_tensors": unused,
            "check": check,
        }))?;
    } else {
        for name in &unused {
            eprintln!(
                "warning: {}: tensor '{name}' is not used by the spec",
                a.weights.display()
            );
        }
        if !quant.is_empty() {
            println!(
                "{:<20} {:>10} {:>12} {:>12}",
                format!("{} tensor", a.dtype.name()),
                "elements",
                "max abs err",
                "rel RMS err"
            );
            for q in &quant {
                println!(
                    "{:<20} {:>10} {:>12.3e} {:>12.3e}",
                    q.tensor, q.elements, q.max_abs, q.rel_rms
                );
            }
        }
        if let Some(c) = &check {
            println!(
                "check vs {} ('{}'): max rel error {:.3e} (tolerance {:.1e}), max abs {:.3e}; worst: function {}, point {}, component {} (hdon {} vs reference {}; that function's outputs reach {:.3e})",
                c.reference, c.array, c.max_rel, c.rtol, c.max_abs, c.worst_function, c.worst_point, c.worst_component, c.hdon_value, c.reference_value, c.worst_scale
            );
        }
        if !failed {
            let ws = workspace.first().map_or(0, |w| w.1 * 4);
            println!(
                "wrote {} ({} {}, {} bytes, weights {}, workspace {} bytes for batch 1)",
                a.output.display(),
                plan.family.name(),
                plan.name,
                bytes.len(),
                a.dtype.name(),
                ws
            );
        }
    }
    if let Some(c) = check.filter(|c| !c.passed) {
        bail!(
            "--check failed: {} differs from {} ('{}') by max rel error {:.3e} > tolerance {:.1e} at function {}, point {}, component {} (hdon {} vs reference {}; the error is relative to that function's largest |output|, {:.3e}){}; {} was not written",
            a.output.display(),
            c.reference,
            c.array,
            c.max_rel,
            c.rtol,
            c.worst_function,
            c.worst_point,
            c.worst_component,
            c.hdon_value,
            c.reference_value,
            c.worst_scale,
            near_zero_hint(&c),
            a.output.display()
        );
    }
    Ok(())
}
