//! Test data sets (`.npz`, docs/CLI.md, `verify`): `sensors` [N, m]; `points`
//! [P, d_y] shared by all functions or [N, P, d_y]; `truth` and/or `outputs` [N, P, d_out]
//! (the last axis may be dropped when d_out = 1, and the points' when d_y = 1).
//! Also the relative L2 error statistics every command reports.

use crate::npy::{self, Array};
use anyhow::{bail, Result};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// A loaded test set, shapes checked against a model's m, d_y, d_out.
#[derive(Clone, Debug)]
pub struct TestSet {
    /// Source file.
    pub path: PathBuf,
    /// Number of input functions N.
    pub n: usize,
    /// Sensors per function m.
    pub m: usize,
    /// `[N, m]` row-major.
    pub sensors: Vec<f32>,
    /// Query points per function P.
    pub n_points: usize,
    /// Query dimension.
    pub d_y: usize,
    /// `[P, d_y]` if shared, else `[N, P, d_y]`.
    pub points: Vec<f32>,
    /// Whether each function has its own points.
    pub per_function_points: bool,
    /// Output dimension.
    pub d_out: usize,
    /// `[N, P, d_out]` ground truth, if present.
    pub truth: Option<Vec<f32>>,
    /// `[N, P, d_out]` reference-framework outputs (golden), if present.
    pub outputs: Option<Vec<f32>>,
}

impl TestSet {
    /// Reads `path` and checks its arrays against `m`, `d_y`, `d_out`.
    pub fn read(path: &Path, m: usize, d_y: usize, d_out: usize) -> Result<TestSet> {
        let mut arrays = npy::read_npz(path)?;
        let file = path.display().to_string();
        let Some(sensors) = arrays.remove("sensors") else {
            bail!(
                "{file}: missing array 'sensors' [N, m]; found arrays: {}",
                names(&arrays)
            );
        };
        let Some(points) = arrays.remove("points") else {
            bail!("{file}: missing array 'points' [P, d_y] or [N, P, d_y]");
        };
        let (n, m_found) = match sensors.shape.as_slice() {
            [n, m] => (*n, *m),
            [m] => (1, *m),
            s => bail!("{file}: array 'sensors': expected shape [N, {m}], found {s:?}"),
        };
        if n == 0 {
            bail!(
                "{file}: array 'sensors': no input functions (shape {:?})",
                sensors.shape
            );
        }
        if m_found != m {
            bail!("{file}: array 'sensors': expected {m} sensor values per function (the model's m), found {m_found} (shape {:?})", sensors.shape);
        }
        let (n_points, per_function_points) = match points.shape.as_slice() {
            [p] if d_y == 1 => (*p, false),
            [p, d] if *d == d_y => (*p, false),
            [nn, p] if d_y == 1 && *nn == n && *p != 1 => (*p, true),
            [nn, p, d] if *nn == n && *d == d_y => (*p, true),
            s => bail!("{file}: array 'points': expected shape [P, {d_y}] or [{n}, P, {d_y}] (d_y = {d_y}), found {s:?}"),
        };
        let read_out = |a: Option<Array>, key: &str| -> Result<Option<Vec<f32>>> {
            let Some(a) = a else { return Ok(None) };
            let ok = match a.shape.as_slice() {
                [nn, p, d] => *nn == n && *p == n_points && *d == d_out,
                [nn, p] => d_out == 1 && *nn == n && *p == n_points,
                _ => false,
            };
            if !ok {
                bail!("{file}: array '{key}': expected shape [{n}, {n_points}, {d_out}] (N, P, d_out), found {:?}", a.shape);
            }
            check_finite(&a.data, n_points, d_out, &format!("{file}: array '{key}'"))?;
            Ok(Some(a.data))
        };
        let truth = read_out(arrays.remove("truth"), "truth")?;
        let outputs = read_out(arrays.remove("outputs"), "outputs")?;
        Ok(TestSet {
            path: path.to_path_buf(),
            n,
            m,
            sensors: sensors.data,
            n_points,
            d_y,
            points: points.data,
            per_function_points,
            d_out,
            truth,
            outputs,
        })
    }

    /// The array to compare with: `truth` first unless `prefer_outputs` (then `outputs`
    /// first); returns its name and `[N, P, d_out]` values, or an error naming the file.
    pub fn reference(&self, prefer_outputs: bool) -> Result<(&'static str, &[f32])> {
        let truth = self.truth.as_deref().map(|t| ("truth", t));
        let outputs = self.outputs.as_deref().map(|o| ("outputs", o));
        let found = if prefer_outputs {
            outputs.or(truth)
        } else {
            truth.or(outputs)
        };
        found.ok_or_else(|| {
            anyhow::anyhow!(
                "{}: no 'truth' or 'outputs' array [N, P, d_out] to compare with",
                self.path.display()
            )
        })
    }

    /// Relative L2 error of each function of `pred` (`[N, P, d_out]`) against `want`.
    pub fn errors(&self, pred: &[f32], want: &[f32]) -> ErrorStats {
        ErrorStats::of(
            (0..self.n)
                .map(|i| rel_l2(self.slice_of(pred, i), self.slice_of(want, i)))
                .collect(),
        )
    }

    /// Sensor values of function `i`.
    pub fn sensors_of(&self, i: usize) -> &[f32] {
        &self.sensors[i * self.m..(i + 1) * self.m]
    }

    /// Query points of function `i` (`[P, d_y]`).
    pub fn points_of(&self, i: usize) -> &[f32] {
        if self.per_function_points {
            let len = self.n_points * self.d_y;
            &self.points[i * len..(i + 1) * len]
        } else {
            &self.points
        }
    }

    /// Outputs of function `i` in an `[N, P, d_out]` array.
    pub fn slice_of<'v>(&self, all: &'v [f32], i: usize) -> &'v [f32] {
        let len = self.n_points * self.d_out;
        &all[i * len..(i + 1) * len]
    }
}

/// Fails on the first NaN or infinite value of reference outputs `[N, P, d_out]`, naming
/// `what` (file and array) and the function, point and component: a relative error against
/// such a reference means nothing.
pub fn check_finite(data: &[f32], n_points: usize, d_out: usize, what: &str) -> Result<()> {
    if let Some(k) = data.iter().position(|x| !x.is_finite()) {
        let per_function = (n_points * d_out).max(1);
        bail!(
            "{what}: value {} at function {}, point {}, component {}: expected finite reference values",
            data[k],
            k / per_function,
            k % per_function / d_out.max(1),
            k % d_out.max(1)
        );
    }
    Ok(())
}

fn names(a: &std::collections::BTreeMap<String, Array>) -> String {
    a.keys().cloned().collect::<Vec<_>>().join(", ")
}

/// `||pred - truth||_2 / ||truth||_2` (plain `||pred - truth||_2` if truth is all zero).
pub fn rel_l2(pred: &[f32], truth: &[f32]) -> f64 {
    let mut num = 0f64;
    let mut den = 0f64;
    for (&a, &b) in pred.iter().zip(truth) {
        num += ((a - b) as f64).powi(2);
        den += (b as f64).powi(2);
    }
    if den > 0.0 {
        (num / den).sqrt()
    } else {
        num.sqrt()
    }
}

/// Relative L2 errors over a set of functions.
#[derive(Clone, Debug, Serialize)]
pub struct ErrorStats {
    /// Mean over functions.
    pub mean: f64,
    /// Population standard deviation over functions.
    pub std: f64,
    /// Worst (largest) error.
    pub max: f64,
    /// Index of the worst function.
    pub worst: usize,
    /// Every function's error, in order.
    pub per_function: Vec<f64>,
}

impl ErrorStats {
    /// Statistics of `errors` (must be non-empty).
    pub fn of(errors: Vec<f64>) -> ErrorStats {
        let n = errors.len().max(1) as f64;
        let mean = errors.iter().sum::<f64>() / n;
        let std = (errors.iter().map(|e| (e - mean).powi(2)).sum::<f64>() / n).sqrt();
        // A NaN error (a NaN output or truth) is the worst: it must not hide behind the others.
        let (worst, max) = match errors.iter().position(|e| e.is_nan()) {
            Some(i) => (i, f64::NAN),
            None => errors
                .iter()
                .enumerate()
                .fold((0, f64::NEG_INFINITY), |(wi, wm), (i, &e)| {
                    if e > wm {
                        (i, e)
                    } else {
                        (wi, wm)
                    }
                }),
        };
        ErrorStats {
            mean,
            std,
            // An empty list has max -inf: report 0 (f64::max keeps a NaN out, so test first).
            max: if max.is_nan() { max } else { max.max(0.0) },
            worst,
            per_function: errors,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_shared_and_per_function_points_and_checks_shapes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.npz");
        let s = [1f32, 2., 3., 4., 5., 6.];
        npy::write_npz(
            &p,
            &[
                ("sensors", &[2, 3], &s),
                ("points", &[4], &[0., 1., 2., 3.]),
                ("truth", &[2, 4], &[1.; 8]),
            ],
        )
        .unwrap();
        let t = TestSet::read(&p, 3, 1, 1).unwrap();
        assert_eq!((t.n, t.n_points, t.per_function_points), (2, 4, false));
        assert_eq!(t.sensors_of(1), &[4., 5., 6.]);
        let e = TestSet::read(&p, 5, 1, 1).unwrap_err().to_string();
        assert!(
            e.contains("t.npz") && e.contains("expected 5") && e.contains("found 3"),
            "{e}"
        );
        let e = TestSet::read(&p, 3, 1, 2).unwrap_err().to_string();
        assert!(e.contains("'truth'"), "{e}");
        npy::write_npz(
            &p,
            &[("sensors", &[2, 3], &s), ("points", &[2, 2, 2], &[0.; 8])],
        )
        .unwrap();
        let t = TestSet::read(&p, 3, 2, 1).unwrap();
        assert!(t.per_function_points);
        assert_eq!(t.points_of(1).len(), 4);
    }

    #[test]
    fn error_stats() {
        assert!((rel_l2(&[1., 1.], &[1., 2.]) - (1f64 / 5f64).sqrt()).abs() < 1e-12);
        let s = ErrorStats::of(vec![0.1, 0.3]);
        assert!((s.mean - 0.2).abs() < 1e-12 && (s.std - 0.1).abs() < 1e-12);
        assert_eq!((s.worst, s.max), (1, 0.3));
        let s = ErrorStats::of(vec![0.1, f64::NAN, 0.3]);
        assert_eq!(s.worst, 1);
        assert!(s.max.is_nan() && s.mean.is_nan());
    }
}
