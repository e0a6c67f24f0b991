//! `hdon verify model.hdon --data test.npz [--against other.hdon]`: relative L2 errors over a
//! test set (against `truth`, else the reference `outputs`), and with `--against` the relative
//! L2 difference between two models on the same inputs.

use super::{print_json, progress};
use crate::model_file::{predict_set, LoadedFile};
use crate::testset::{ErrorStats, TestSet};
use anyhow::{bail, Result};
use serde_json::json;
use std::path::PathBuf;

/// Arguments of `hdon verify`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The .hdon file.
    pub model: PathBuf,
    /// Test set .npz: sensors [N, m], points [P, d_y] or [N, P, d_y], truth and/or outputs [N, P, d_out].
    #[arg(long)]
    pub data: PathBuf,
    /// A second model (e.g. int8 vs f32) to compare on the same inputs.
    #[arg(long)]
    pub against: Option<PathBuf>,
    /// Print the report (with the per-function lists) as JSON.
    #[arg(long)]
    pub json: bool,
}

/// One row of the text report; `width` aligns the labels.
fn line(label: &str, width: usize, s: &ErrorStats) {
    println!(
        "{label:<width$} mean {:.4e}  std {:.4e}  worst {:.4e} (function {})",
        s.mean, s.std, s.max, s.worst
    );
}

/// Runs `hdon verify`.
pub fn run(a: Args) -> Result<()> {
    let file = LoadedFile::read(&a.model)?;
    let model = file.model()?;
    let set = TestSet::read(&a.data, model.n_sensors(), model.d_y(), model.d_out())?;
    let (reference, want) = set.reference(false)?;
    let other_file = match &a.against {
        Some(p) => Some(LoadedFile::read(p)?),
        None => None,
    };
    let other = match &other_file {
        Some(f) => {
            let o = f.model()?;
            if (o.n_sensors(), o.d_y(), o.d_out())
                != (model.n_sensors(), model.d_y(), model.d_out())
            {
                bail!(
                    "{}: expected a model with m = {}, d_y = {}, d_out = {} (as {}), found m = {}, d_y = {}, d_out = {}",
                    f.path.display(), model.n_sensors(), model.d_y(), model.d_out(), a.model.display(), o.n_sensors(), o.d_y(), o.d_out()
                );
            }
            Some(o)
        }
        None => None,
    };
    let runs = if other.is_some() { 2 } else { 1 };
    let bar = progress((set.n * runs) as u64, "verify");
    let pred = predict_set(&model, &set, || bar.inc(1))?;
    let pred_other = match &other {
        Some(o) => Some(predict_set(o, &set, || bar.inc(1))?),
        None => None,
    };
    bar.finish_and_clear();
    let errors = |p: &[f32], w: &[f32]| set.errors(p, w);
    let main = errors(&pred, want);
    let against = pred_other
        .as_ref()
        .map(|po| (errors(po, want), errors(po, &pred)));
    if a.json {
        print_json(&json!({
            "model": a.model.display().to_string(),
            "data": a.data.display().to_string(),
            "reference": reference,
            "functions": set.n,
            "points": set.n_points,
            "rel_l2": main,
            "against": against.as_ref().map(|(e, d)| json!({
                "model": a.against.as_ref().map(|p| p.display().to_string()),
                "rel_l2": e,
                "difference_rel_l2": d,
            })),
        }))
    } else {
        println!(
            "{}: {} functions x {} points, relative L2 vs '{reference}'",
            a.data.display(),
            set.n,
            set.n_points
        );
        let name = a.model.display().to_string();
        let other = a.against.as_ref().map(|p| p.display().to_string());
        let width = name
            .len()
            .max(other.as_ref().map_or(0, String::len))
            .max(12);
        line(&name, width, &main);
        if let (Some((e, d)), Some(p)) = (&against, &a.against) {
            line(&p.display().to_string(), width, e);
            println!("difference ||other - model|| / ||model||:");
            line("", width, d);
        }
        Ok(())
    }
}
