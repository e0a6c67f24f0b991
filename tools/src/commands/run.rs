//! `hdon run model.hdon --sensors u.npy|u.csv --points y.npy|y.csv -o out.npy|out.csv`.
//!
//! Shapes: sensors `[m]` or `[N, m]` (.npy) or one row of m values per function (.csv);
//! points `[P, d_y]` (or `[P]` when d_y = 1) shared by all functions, or `[N, P, d_y]` (.npy);
//! .csv points have one row of d_y values per point. Output `.npy` is `[N, P, d_out]`; output
//! `.csv` has one row per function with its P * d_out values (point-major, components
//! interleaved), like the sensors file. `--truth` takes either layout.

use super::print_json;
use crate::model_file::{predict, LoadedFile};
use crate::npy;
use crate::plot;
use crate::testset::{check_finite, rel_l2, ErrorStats};
use anyhow::{bail, Result};
use serde_json::json;
use std::path::{Path, PathBuf};

/// Arguments of `hdon run`.
// The field docs are the `--help` text, where `[m]`, `[P, d_y]` are array shapes, not links.
#[allow(rustdoc::broken_intra_doc_links)]
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The .hdon file.
    pub model: PathBuf,
    /// Input functions at the model's sensors: .npy [m] or [N, m], or .csv (one row per function).
    #[arg(long)]
    pub sensors: PathBuf,
    /// Query points: .npy [P, d_y], [P] (d_y = 1) or [N, P, d_y], or .csv (one row per point).
    #[arg(long)]
    pub points: PathBuf,
    /// Output: .npy [N, P, d_out] or .csv (one row per function); the extension picks the
    /// format, any other is an error.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Draw the prediction (and --truth) into this PNG: curves for d_y = 1, heat maps for d_y = 2.
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// True outputs in the output's layout; adds them to the plot and reports relative L2 errors.
    #[arg(long)]
    pub truth: Option<PathBuf>,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

fn is_csv(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
}

/// Reads a 2-D table (`.csv` rows, or `.npy` of rank 1 or 2) as (rows, cols, data).
fn read_rows(path: &Path) -> Result<(Vec<usize>, Vec<f32>)> {
    if is_csv(path) {
        let (r, c, d) = crate::csv::read_csv(path)?;
        Ok((vec![r, c], d))
    } else {
        let a = npy::read_npy(path)?;
        Ok((a.shape, a.data))
    }
}

/// Runs `hdon run`. Every input is read and checked, and the output paths too, before the
/// model runs; the output and the figure are written only when everything else succeeded.
pub fn run(a: Args) -> Result<()> {
    let mut inputs: Vec<(&str, &Path)> = vec![
        ("the model", a.model.as_path()),
        ("--sensors", a.sensors.as_path()),
        ("--points", a.points.as_path()),
    ];
    if let Some(t) = &a.truth {
        inputs.push(("--truth", t.as_path()));
    }
    super::check_output("-o", &a.output, &inputs)?;
    if let Some(png) = &a.plot {
        plot::check_png("--plot", png)?;
        super::check_output("--plot", png, &inputs)?;
        if png == &a.output || super::same_file(png, &a.output) {
            bail!(
                "--plot {} is also the -o output: give them different names",
                png.display()
            );
        }
    }
    let npy_out = a
        .output
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("npy"));
    if !npy_out && !is_csv(&a.output) {
        bail!(
            "-o {}: expected a .npy or .csv file name (the extension picks the format)",
            a.output.display()
        );
    }
    let file = LoadedFile::read(&a.model)?;
    let model = file.model()?;
    let (m, d_y, d_out) = (model.n_sensors(), model.d_y(), model.d_out());
    let sfile = a.sensors.display();
    let (sshape, sensors) = read_rows(&a.sensors)?;
    let n = match sshape.as_slice() {
        [mm] if *mm == m => 1,
        [n, mm] if *mm == m => *n,
        [_, mm] | [mm] => bail!("{sfile}: expected {m} sensor values per input function (the model's m, {}), found {mm}", a.model.display()),
        s => bail!("{sfile}: expected shape [N, {m}] or [{m}], found {s:?}"),
    };
    if n == 0 {
        bail!("{sfile}: no input functions");
    }
    let pfile = a.points.display();
    let (pshape, points) = read_rows(&a.points)?;
    let (np, per_function) = match pshape.as_slice() {
        [p] if d_y == 1 => (*p, false),
        [p, d] if *d == d_y => (*p, false),
        [nn, p, d] if *nn == n && *d == d_y => (*p, true),
        s => bail!("{pfile}: expected points of dimension d_y = {d_y}: shape [P, {d_y}] or [{n}, P, {d_y}], found {s:?}"),
    };
    let len = n * np * d_out;
    let truth = match &a.truth {
        Some(t) => {
            let (_, data) = read_rows(t)?;
            if data.len() != len {
                bail!("{}: expected {len} values ({n} functions x {np} points x {d_out} outputs), found {}", t.display(), data.len());
            }
            check_finite(&data, np, d_out, &t.display().to_string())?;
            Some(data)
        }
        None => None,
    };
    if a.plot.is_some() && !(1..=2).contains(&d_y) {
        bail!("--plot: query dimension d_y = {d_y} cannot be drawn (1-D curves and 2-D heat maps only)");
    }
    let points_of = |i: usize| -> &[f32] {
        if per_function {
            &points[i * np * d_y..(i + 1) * np * d_y]
        } else {
            &points
        }
    };
    let bar = super::progress(n as u64, "run");
    let names = (sfile.to_string(), pfile.to_string());
    let out = predict(&model, n, &sensors, points_of, (&names.0, &names.1), || {
        bar.inc(1)
    })?;
    bar.finish_and_clear();
    let stats = truth.as_ref().map(|t| {
        let len = np * d_out;
        ErrorStats::of(
            (0..n)
                .map(|i| rel_l2(&out[i * len..(i + 1) * len], &t[i * len..(i + 1) * len]))
                .collect(),
        )
    });
    let panels = match &a.plot {
        Some(_) => Some(plot::panels_for(
            "hdon",
            &|i| points_of(i).to_vec(),
            (d_y, d_out),
            n,
            &out,
            truth.as_deref(),
            6,
        )?),
        None => None,
    };
    if is_csv(&a.output) {
        super::write_atomic(
            &a.output,
            crate::csv::format_csv(np * d_out, &out).as_bytes(),
        )?;
    } else {
        super::write_atomic(&a.output, &npy::encode_npy(&[n, np, d_out], &out))?;
    }
    if let (Some(png), Some(panels)) = (&a.plot, &panels) {
        plot::draw(png, panels)?;
    }
    if a.json {
        print_json(&json!({
            "output": a.output.display().to_string(),
            "functions": n, "points": np, "d_out": d_out,
            "rel_l2": stats,
            "plot": a.plot.as_ref().map(|p| p.display().to_string()),
        }))?;
    } else {
        println!(
            "wrote {}: {n} function(s) x {np} point(s) x {d_out} output(s)",
            a.output.display()
        );
        if let Some(s) = &stats {
            println!(
                "relative L2 vs {}: mean {:.4e}, std {:.4e}, worst {:.4e} (function {})",
                a.truth.as_ref().expect("truth").display(),
                s.mean,
                s.std,
                s.max,
                s.worst
            );
        }
        if let Some(p) = &a.plot {
            println!("plot: {}", p.display());
        }
    }
    Ok(())
}
