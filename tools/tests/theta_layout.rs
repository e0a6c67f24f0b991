//! Theta layout 2 (`hdon export --theta-layout folded`) computes what layout 1 computes: the exporter's rewrite of the hypernetwork's last layer matches the
//! runtime's rewrite of each generated theta to rounding, for point and output normalization
//! (off-centre, per component), folded tanh layers, and a target without tanh.

use hdon_format::{AlignedBytes, ModelFile, THETA_LAYOUT_FOLDED, THETA_LAYOUT_ROWS};
use hdon_runtime::Model;
use hdon_tools::checkpoint::Checkpoint;
use hdon_tools::export::{
    export, export_with, fold_theta_rows, requantize, Dense, FoldDirection, ThetaLayout,
};
use hdon_tools::quantize::WeightDtype;
use hdon_tools::spec::{ModelPlan, Spec};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures")
        .join(name)
}

fn checkpoint(dir: &Path) -> Checkpoint {
    let st = dir.join("checkpoint.safetensors");
    Checkpoint::read(&if st.exists() {
        st
    } else {
        dir.join("checkpoint.npz")
    })
    .unwrap()
}

/// The spec of `dir` with the target's hidden activation replaced by `act` (None: as is).
fn plan(dir: &Path, target_act: Option<&str>) -> ModelPlan {
    let mut text = std::fs::read_to_string(dir.join("model.toml")).unwrap();
    if let Some(act) = target_act {
        let t = text.find("[target]").expect("a [target] table");
        let a = t + text[t..]
            .find("activation = \"tanh\"")
            .expect("target activation");
        text.replace_range(
            a..a + "activation = \"tanh\"".len(),
            &format!("activation = \"{act}\""),
        );
    }
    Spec::parse(&text).unwrap().validate().unwrap()
}

/// Deterministic values in [lo, hi).
fn values(n: usize, seed: u64, lo: f32, hi: f32) -> Vec<f32> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            lo + (hi - lo) * ((s >> 40) as f32 / (1u64 << 24) as f32)
        })
        .collect()
}

/// Generated target parameters (as eval runs them) and outputs at `points`, per function.
fn run(bytes: &[u8], sensors: &[f32], points: &[f32]) -> Vec<(Vec<f32>, Vec<f32>)> {
    let bytes = AlignedBytes::from_slice(bytes);
    let model = Model::from_bytes(&bytes).unwrap();
    let mut ws = vec![0.0f32; model.workspace_len(1)];
    let m = model.n_sensors();
    let n = points.len() / model.d_y();
    sensors
        .chunks_exact(m)
        .map(|u| {
            let mut target = model.generate(u, &mut ws).unwrap();
            let params: Vec<f32> = target
                .layers()
                .iter()
                .flat_map(|l| l.params.iter().copied())
                .collect();
            let mut out = vec![0.0f32; n * target.d_out()];
            target.eval(points, &mut out).unwrap();
            (params, out)
        })
        .collect()
}

fn max_rel(got: &[f32], want: &[f32]) -> f64 {
    let scale = want.iter().fold(0.0f64, |a, &v| a.max(f64::from(v).abs()));
    let diff = got.iter().zip(want).fold(0.0f64, |a, (&g, &w)| {
        a.max((f64::from(g) - f64::from(w)).abs())
    });
    diff / scale.max(1e-30)
}

#[test]
fn folded_layout_computes_what_the_rows_layout_computes() {
    let cases = [
        ("hyper", None),
        ("hyper_2d", None),
        ("hyper_2d", Some("relu")),
        ("hyper_2d", Some("sin")),
        ("hyper_in_out", None),
    ];
    for (name, act) in cases {
        let dir = fixture(name);
        let plan = plan(&dir, act);
        let ckpt = checkpoint(&dir);
        for dtype in [WeightDtype::F32, WeightDtype::Int8] {
            let rows = export_with(&plan, &ckpt, dtype, ThetaLayout::Rows).unwrap();
            let folded = export_with(&plan, &ckpt, dtype, ThetaLayout::Folded).unwrap();
            let layout = |b: &[u8]| {
                let b = AlignedBytes::from_slice(b);
                ModelFile::parse(&b).unwrap().arch().theta_layout
            };
            assert_eq!(layout(&rows.bytes), THETA_LAYOUT_ROWS, "{name}");
            assert_eq!(layout(&folded.bytes), THETA_LAYOUT_FOLDED, "{name}");
            assert_eq!(
                export(&plan, &ckpt, dtype).unwrap().bytes,
                rows.bytes,
                "{name} {dtype:?}: rows is the default"
            );

            let m = plan.n_sensors as usize;
            let d_y = plan.d_y as usize;
            let sensors = values(4 * m, 1, -0.5, 0.5);
            let points = values(33 * d_y, 2, -1.0, 1.0);
            let a = run(&rows.bytes, &sensors, &points);
            let b = run(&folded.bytes, &sensors, &points);
            // f32: the same rewrites, rounded differently (per theta in f32 after the GEMV,
            // against once per weight in f64 before it). int8: each file quantizes its own
            // last layer, so the weights differ by the quantization step.
            // Outputs: the golden tests' 1e-5 (the target net amplifies the parameters'
            // ~1e-7 differences).
            let (tol_p, tol_o) = if dtype == WeightDtype::F32 {
                (1e-6, 1e-5)
            } else {
                (5e-2, 5e-2)
            };
            for (k, ((pa, oa), (pb, ob))) in a.iter().zip(&b).enumerate() {
                let (rp, ro) = (max_rel(pb, pa), max_rel(ob, oa));
                assert!(
                    rp <= tol_p && ro <= tol_o,
                    "{name} {act:?} {dtype:?} function {k}: params rel {rp:.2e} (max {tol_p:.0e}), outputs rel {ro:.2e} (max {tol_o:.0e})"
                );
            }
        }
    }
}

#[test]
fn other_families_keep_the_rows_layout() {
    for name in ["deeponet", "chunked_hyper", "nomad"] {
        let dir = fixture(name);
        let plan = plan(&dir, None);
        let bytes = export_with(
            &plan,
            &checkpoint(&dir),
            WeightDtype::F32,
            ThetaLayout::Folded,
        )
        .unwrap()
        .bytes;
        let bytes = AlignedBytes::from_slice(&bytes);
        assert_eq!(
            ModelFile::parse(&bytes).unwrap().arch().theta_layout,
            THETA_LAYOUT_ROWS,
            "{name}"
        );
    }
}

/// `Unfold` undoes `Fold` to f64-then-f32 rounding, and `requantize` of a folded f32 file into
/// a quantized type writes layout 1 that computes what the direct (layout 1) export computes.
#[test]
fn unfolding_restores_the_rows_layout() {
    for name in ["hyper", "hyper_2d"] {
        let dir = fixture(name);
        let plan = plan(&dir, None);
        let ckpt = checkpoint(&dir);
        let folded = export_with(&plan, &ckpt, WeightDtype::F32, ThetaLayout::Folded).unwrap();
        let rows = export_with(&plan, &ckpt, WeightDtype::F32, ThetaLayout::Rows).unwrap();
        let fb = AlignedBytes::from_slice(&folded.bytes);
        let rb = AlignedBytes::from_slice(&rows.bytes);
        let (ff, rf) = (
            ModelFile::parse(&fb).unwrap(),
            ModelFile::parse(&rb).unwrap(),
        );
        // The hypernetwork's last layer: weight then bias tensors.
        let last = |f: &ModelFile<'_>| {
            let l = f
                .arch()
                .network(hdon_format::Role::Hyper)
                .unwrap()
                .layers()
                .last()
                .unwrap();
            let v = |i: u32| hdon_tools::export::tensor_values(&f.tensor(i).unwrap());
            Dense {
                n_out: l.n_out as usize,
                n_in: l.n_in as usize,
                weight: v(l.weight),
                bias: v(l.bias.unwrap()),
            }
        };
        let target: Vec<_> = ff.arch().target_layers().collect();
        let meta = ff.metadata();
        let back = fold_theta_rows(
            &last(&ff),
            &target,
            meta.point_norm,
            meta.output_norm,
            FoldDirection::Unfold,
        );
        let want = last(&rf);
        let rel = |a: &[f32], b: &[f32]| max_rel(a, b);
        assert!(rel(&back.weight, &want.weight) < 1e-6, "{name}: weights");
        assert!(rel(&back.bias, &want.bias) < 1e-6, "{name}: biases");

        let m = plan.n_sensors as usize;
        let sensors = values(3 * m, 5, -0.5, 0.5);
        let points = values(17 * plan.d_y as usize, 6, -1.0, 1.0);
        for dtype in [WeightDtype::Int8, WeightDtype::F16] {
            let again = requantize(&ff, dtype).unwrap();
            let ab = AlignedBytes::from_slice(&again.bytes);
            assert_eq!(
                ModelFile::parse(&ab).unwrap().arch().theta_layout,
                THETA_LAYOUT_ROWS,
                "{name} {dtype:?}"
            );
            let direct = export(&plan, &ckpt, dtype).unwrap();
            let (a, b) = (
                run(&again.bytes, &sensors, &points),
                run(&direct.bytes, &sensors, &points),
            );
            for (k, ((_, oa), (_, ob))) in a.iter().zip(&b).enumerate() {
                // A weight ~1e-7 away from a rounding boundary may quantize one step apart.
                let r = max_rel(oa, ob);
                assert!(
                    r < 1e-3,
                    "{name} {dtype:?} function {k}: outputs rel {r:.2e}"
                );
            }
        }
    }
}
