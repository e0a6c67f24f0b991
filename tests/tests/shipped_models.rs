//! Every `.hdon` file shipped under `models/` loads with this runtime and answers its test set.
//!
//! The files record their workspace lengths, which follow the kernels' tile scratch: a kernel
//! change that alters it must come with a re-export (`models/export.sh`), and this test says so.

use hdon_format::AlignedBytes;
use hdon_runtime::Model;
use std::path::{Path, PathBuf};

fn shipped() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models");
    let mut out = Vec::new();
    let mut stack = vec![root];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "hdon") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn shipped_models_load_and_evaluate() {
    let files = shipped();
    assert!(
        files.len() >= 8,
        "expected the shipped f32 + int8 models, found {files:?}"
    );
    for path in files {
        let raw = std::fs::read(&path).unwrap();
        let bytes = AlignedBytes::from_slice(&raw);
        let model = Model::from_bytes(&bytes).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (re-export the shipped models with models/export.sh)",
                path.display()
            )
        });
        // One generate + eval on a smooth input, inside the domain: finite outputs.
        let m = model.n_sensors();
        let sensors: Vec<f32> = (0..m)
            .map(|i| (i as f32 / m as f32 * 6.0).sin() * 0.2)
            .collect();
        let mut ws = vec![0.0f32; model.workspace_len(1)];
        let mut target = model.generate(&sensors, &mut ws).unwrap();
        let n = 33;
        let d_y = model.d_y();
        let lower = model.file().metadata().domain_lower;
        let upper = model.file().metadata().domain_upper;
        let points: Vec<f32> = (0..n * d_y)
            .map(|k| {
                let (i, j) = (k / d_y, k % d_y);
                lower[j] + (upper[j] - lower[j]) * i as f32 / (n - 1) as f32
            })
            .collect();
        let mut out = vec![f32::NAN; n * model.d_out()];
        target.eval(&points, &mut out).unwrap();
        assert!(
            out.iter().all(|v| v.is_finite()),
            "{}: non-finite output",
            path.display()
        );
    }
}
