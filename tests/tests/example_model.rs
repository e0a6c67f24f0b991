//! The model embedded by `runtime/examples/firmware.rs` (`runtime/examples/model.hdon`):
//! it must load with the current runtime, fit the example's static workspace, and compute the
//! model it claims to be (compared with the f64 reference of the same random spec).
//!
//! Regenerate it with `HDON_BLESS=1 cargo test -p hdon-tests --test example_model`.

use std::path::PathBuf;

use hdon_format::AlignedBytes;
use hdon_runtime::Model;
use hdon_tests::build::to_hdon;
use hdon_tests::random::{random_model, Spec, WeightType};
use hdon_tests::reference::Act;
use hdon_tests::rel_l2;

/// `WORKSPACE_LEN` of the firmware example.
const FIRMWARE_WORKSPACE_LEN: usize = 1024;

fn spec() -> Spec {
    Spec {
        family: "hyper",
        m: 16,
        d_y: 1,
        d_out: 1,
        p: 0,
        gen_hidden: vec![24],
        target_hidden: vec![10, 10],
        gen_act: Act::Tanh,
        target_acts: vec![Act::Tanh],
        weights: WeightType::F32,
        norms: true,
        b0: false,
        n_chunks: 0,
        d_z: 0,
        seed: 42,
    }
}

#[test]
fn embedded_example_model_is_current() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../runtime/examples/model.hdon");
    let spec = spec();
    let pm = random_model(&spec);
    if std::env::var_os("HDON_BLESS").is_some() {
        std::fs::write(&path, to_hdon(&pm, spec.weights)).unwrap();
    }
    let bytes = AlignedBytes::read(&path).unwrap();
    let model = Model::from_bytes(&bytes).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; regenerate with HDON_BLESS=1 cargo test -p hdon-tests --test example_model",
            path.display()
        )
    });
    assert!(model.workspace_len(1) <= FIRMWARE_WORKSPACE_LEN);
    let sensors: Vec<f32> = (0..16).map(|i| (i as f32 * 0.4).sin()).collect();
    let points: Vec<f32> = (0..8).map(|k| k as f32 / 7.0).collect();
    let mut ws = vec![0.0f32; model.workspace_len(1)];
    let mut out = vec![0.0f32; 8];
    model
        .generate(&sensors, &mut ws)
        .unwrap()
        .eval(&points, &mut out)
        .unwrap();
    let want = pm.eval(&sensors, &points);
    assert!(rel_l2(&out, &want) < 1e-5);
}
