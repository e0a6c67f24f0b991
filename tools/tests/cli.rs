//! End-to-end tests of the `hdon` binary on the trainer's golden fixtures (tests/fixtures) and
//! on broken inputs derived from them in temporary directories.

mod common;

use common::{fixture, hdon};
use hdon_tools::checkpoint::{encode_safetensors, Checkpoint};
use hdon_tools::npy;
use predicates::prelude::*;
use predicates::str::contains;
use std::path::{Path, PathBuf};

const FIXTURES: [&str; 8] = [
    "deeponet",
    "shift",
    "flex",
    "nomad",
    "hyper",
    "chunked_hyper",
    "hyper_2d",
    "hyper_in_out",
];

fn checkpoint_of(name: &str) -> PathBuf {
    let st = fixture(name).join("checkpoint.safetensors");
    if st.is_file() {
        st
    } else {
        fixture(name).join("checkpoint.npz")
    }
}

/// Exports fixture `name` into `dir`, returning the model path.
fn export_fixture(dir: &Path, name: &str, extra: &[&str]) -> PathBuf {
    let out = dir.join(format!("{name}.hdon"));
    hdon()
        .arg("export")
        .arg("--spec")
        .arg(fixture(name).join("model.toml"))
        .arg("--weights")
        .arg(checkpoint_of(name))
        .args(extra)
        .arg("-o")
        .arg(&out)
        .assert()
        .success();
    out
}

/// `hdon verify MODEL --data <hyper golden> --against AGAINST --json`, parsed.
fn verify_hyper_against(model: &Path, against: &Path) -> serde_json::Value {
    let a = hdon()
        .arg("verify")
        .arg(model)
        .arg("--data")
        .arg(fixture("hyper").join("golden.npz"))
        .arg("--against")
        .arg(against)
        .arg("--json")
        .assert()
        .success();
    json_of(&a.get_output().stdout)
}

/// `hdon bench MODEL --points 64 --iters 2 --dtype DTYPE --json`, parsed.
fn bench_as(model: &Path, dtype: &str) -> serde_json::Value {
    let a = hdon()
        .arg("bench")
        .arg(model)
        .args(["--points", "64", "--iters", "2", "--dtype", dtype, "--json"])
        .assert()
        .success();
    json_of(&a.get_output().stdout)
}

fn json_of(out: &[u8]) -> serde_json::Value {
    serde_json::from_slice(out)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(out)))
}

/// The hyper fixture's tensors, to write modified checkpoints from.
fn hyper_tensors() -> Vec<(String, Vec<usize>, Vec<f32>)> {
    let c = Checkpoint::read(&checkpoint_of("hyper")).unwrap();
    c.tensors
        .into_iter()
        .map(|(k, a)| (k, a.shape, a.data))
        .collect()
}

fn write_safetensors(path: &Path, tensors: &[(String, Vec<usize>, Vec<f32>)]) {
    let refs: Vec<(&str, &[usize], &[f32])> = tensors
        .iter()
        .map(|(n, s, d)| (n.as_str(), s.as_slice(), d.as_slice()))
        .collect();
    std::fs::write(path, encode_safetensors(&refs).unwrap()).unwrap();
}

#[test]
fn export_check_matches_golden_outputs_for_every_fixture() {
    let dir = tempfile::tempdir().unwrap();
    for name in FIXTURES {
        let out = dir.path().join(format!("{name}.hdon"));
        let assert = hdon()
            .arg("export")
            .arg("--spec")
            .arg(fixture(name).join("model.toml"))
            .arg("--weights")
            .arg(checkpoint_of(name))
            .arg("--check")
            .arg(fixture(name).join("golden.npz"))
            .arg("-o")
            .arg(&out)
            .arg("--json")
            .assert();
        let output = assert.get_output();
        let report = json_of(&output.stdout);
        let check = &report["check"];
        assert!(
            output.status.success() && check["passed"] == true,
            "{name}: max rel {} (worst function {}, point {}): {}",
            check["max_rel"],
            check["worst_function"],
            check["worst_point"],
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            check["max_rel"].as_f64().unwrap() <= 1e-5,
            "{name}: {check}"
        );
        assert_eq!(
            report["workspace_f32"].as_array().unwrap().len(),
            7,
            "{name}"
        );
        assert!(out.is_file(), "{name}");
    }
}

#[test]
fn safetensors_and_npz_of_the_same_weights_give_identical_files() {
    let dir = tempfile::tempdir().unwrap();
    let tensors = hyper_tensors();
    let st = dir.path().join("w.safetensors");
    write_safetensors(&st, &tensors);
    let nz = dir.path().join("w.npz");
    let refs: Vec<(&str, &[usize], &[f32])> = tensors
        .iter()
        .map(|(n, s, d)| (n.as_str(), s.as_slice(), d.as_slice()))
        .collect();
    npy::write_npz(&nz, &refs).unwrap();
    let spec = fixture("hyper").join("model.toml");
    for (w, o) in [(&st, "a.hdon"), (&nz, "b.hdon")] {
        hdon()
            .arg("export")
            .arg("--spec")
            .arg(&spec)
            .arg("--weights")
            .arg(w)
            .arg("-o")
            .arg(dir.path().join(o))
            .assert()
            .success();
    }
    let a = std::fs::read(dir.path().join("a.hdon")).unwrap();
    let b = std::fs::read(dir.path().join("b.hdon")).unwrap();
    assert!(a == b, "safetensors and npz exports differ");

    // Layout in_out (Flax kernels, [in, out]) of the same weights: identical file too.
    let transposed: Vec<(String, Vec<usize>, Vec<f32>)> = tensors
        .iter()
        .map(|(n, s, d)| {
            if s.len() == 2 && n.ends_with(".weight") {
                (
                    n.clone(),
                    vec![s[1], s[0]],
                    hdon_tools::export::transpose(d, s[0], s[1]),
                )
            } else {
                (n.clone(), s.clone(), d.clone())
            }
        })
        .collect();
    let tw = dir.path().join("t.safetensors");
    write_safetensors(&tw, &transposed);
    let tspec = dir.path().join("t.toml");
    std::fs::write(
        &tspec,
        std::fs::read_to_string(&spec)
            .unwrap()
            .replace("layout = \"out_in\"", "layout = \"in_out\""),
    )
    .unwrap();
    hdon()
        .arg("export")
        .arg("--spec")
        .arg(&tspec)
        .arg("--weights")
        .arg(&tw)
        .arg("-o")
        .arg(dir.path().join("c.hdon"))
        .assert()
        .success();
    assert!(
        a == std::fs::read(dir.path().join("c.hdon")).unwrap(),
        "in_out export differs"
    );
}

/// Runs an export of the hyper spec (text transformed by `spec_edit`) on `tensors`; expects
/// failure and returns stderr. The output file must not exist afterwards.
fn failing_export(
    spec_edit: impl Fn(String) -> String,
    tensors: &[(String, Vec<usize>, Vec<f32>)],
) -> String {
    let dir = tempfile::tempdir().unwrap();
    let w = dir.path().join("ckpt.safetensors");
    write_safetensors(&w, tensors);
    let spec = dir.path().join("model.toml");
    std::fs::write(
        &spec,
        spec_edit(std::fs::read_to_string(fixture("hyper").join("model.toml")).unwrap()),
    )
    .unwrap();
    let out = dir.path().join("m.hdon");
    let a = hdon()
        .arg("export")
        .arg("--spec")
        .arg(&spec)
        .arg("--weights")
        .arg(&w)
        .arg("-o")
        .arg(&out)
        .assert()
        .failure();
    assert!(!out.exists(), "a failed export left {}", out.display());
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 2, "temporary files left behind: {names:?}");
    String::from_utf8_lossy(&a.get_output().stderr).into_owned()
}

#[test]
fn export_names_missing_tensor_wrong_shape_layout_and_activation() {
    let tensors = hyper_tensors();
    let same = |s: String| s;

    let missing: Vec<_> = tensors
        .iter()
        .filter(|t| t.0 != "hyper.1.bias")
        .cloned()
        .collect();
    let e = failing_export(same, &missing);
    assert!(
        e.contains("ckpt.safetensors") && e.contains("missing tensor 'hyper.1.bias'"),
        "{e}"
    );

    let mut wrong = tensors.clone();
    let w = wrong.iter_mut().find(|t| t.0 == "hyper.1.weight").unwrap();
    w.1 = vec![16, 15];
    w.2.truncate(16 * 15);
    let e = failing_export(same, &wrong);
    assert!(
        e.contains("'hyper.1.weight'")
            && e.contains("expected shape [16, 16]")
            && e.contains("found [16, 15]"),
        "{e}"
    );

    let e = failing_export(
        |s| s.replace("layout = \"out_in\"", "layout = \"in_out\""),
        &tensors,
    );
    assert!(
        e.contains("'hyper.0.weight'")
            && e.contains("expected shape [12, 16]")
            && e.contains("found [16, 12]"),
        "{e}"
    );
    assert!(
        e.contains("transposed") && e.contains("layout = \"out_in\""),
        "{e}"
    );

    let e = failing_export(
        |s| s.replacen("activation = \"tanh\"", "activation = \"swishy\"", 1),
        &tensors,
    );
    assert!(
        e.contains("model.toml")
            && e.contains("networks.hyper.activation")
            && e.contains("unknown activation 'swishy'"),
        "{e}"
    );

    let e = failing_export(
        |s| s.replace("sizes = [12, 16, 16, 137]", "sizes = [12, 16, 16, 130]"),
        &tensors,
    );
    assert!(
        e.contains("networks.hyper.sizes[-1]")
            && e.contains("N_theta = 137")
            && e.contains("found 130"),
        "{e}"
    );
}

#[test]
fn failed_check_reports_the_worst_point_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.hdon");
    // hyper_in_out is another trained model with the same m, d_y, d_out: its outputs differ.
    let a = hdon()
        .arg("export")
        .arg("--spec")
        .arg(fixture("hyper").join("model.toml"))
        .arg("--weights")
        .arg(checkpoint_of("hyper"))
        .arg("--check")
        .arg(fixture("hyper_in_out").join("golden.npz"))
        .arg("-o")
        .arg(&out)
        .assert()
        .failure()
        .stderr(
            contains("--check failed")
                .and(contains("max rel error"))
                .and(contains("function"))
                .and(contains("was not written"))
                .and(contains("near zero").not()),
        );
    drop(a);
    assert!(!out.exists());
}

#[test]
fn failed_check_on_near_zero_outputs_says_rounding_alone_gives_it() {
    // The hyper fixture with its outputs scaled to ~1e-4 by the spec's output normalization,
    // as an untrained model's are, and a reference 5e-7 off at one point: f32 rounding's size.
    // That is 5e-3 relative to the tiny outputs, and the message must say why.
    let dir = tempfile::tempdir().unwrap();
    let toml = std::fs::read_to_string(fixture("hyper").join("model.toml")).unwrap();
    let (mean, std) = (-0.0015228496512604166f64, 0.27155472821619736f64);
    let old = "output  = { mean = [-0.0015228496512604166], std = [0.27155472821619736] }";
    assert!(toml.contains(old), "the fixture's spec changed");
    let spec = dir.path().join("model.toml");
    std::fs::write(
        &spec,
        toml.replace(old, "output  = { mean = [0.0], std = [1e-4] }"),
    )
    .unwrap();
    let golden = npy::read_npz(&fixture("hyper").join("golden.npz")).unwrap();
    let mut outputs = golden["outputs"].data.clone();
    for v in &mut outputs {
        *v = ((*v as f64 - mean) / std * 1e-4) as f32;
    }
    outputs[22] += 5e-7; // function 1, point 5
    let reference = dir.path().join("reference.npz");
    let (s, p) = (&golden["sensors"], &golden["points"]);
    npy::write_npz(
        &reference,
        &[
            ("sensors", &s.shape, &s.data),
            ("points", &p.shape, &p.data),
            ("outputs", &golden["outputs"].shape, &outputs),
        ],
    )
    .unwrap();
    let out = dir.path().join("m.hdon");
    let export = |extra: &[&str]| {
        hdon()
            .arg("export")
            .arg("--spec")
            .arg(&spec)
            .arg("--weights")
            .arg(checkpoint_of("hyper"))
            .arg("--check")
            .arg(&reference)
            .args(extra)
            .arg("-o")
            .arg(&out)
            .assert()
    };
    let a = export(&["--json"]).failure().stderr(
        contains("function 1, point 5")
            .and(contains("relative to that function's largest |output|"))
            .and(contains("the outputs are near zero"))
            .and(contains("larger --rtol")),
    );
    let check = &json_of(&a.get_output().stdout)["check"];
    let scale = check["worst_scale"].as_f64().unwrap();
    assert!(scale > 1e-6 && scale < 1e-3, "{check}");
    assert!(check["max_abs"].as_f64().unwrap() < 6e-7, "{check}");
    assert!(!out.exists());
    // The remedy the message names: the same export passes with a tolerance above 5e-7 / scale.
    let rtol = format!("{:e}", 2.0 * 5e-7 / scale);
    export(&["--rtol", &rtol]).success();
    assert!(out.exists());
}

#[test]
fn quantized_exports_report_errors_and_verify_against_f32() {
    let dir = tempfile::tempdir().unwrap();
    let f32_model = export_fixture(dir.path(), "hyper", &[]);
    let q = dir.path().join("q.hdon");
    let a = hdon()
        .arg("export")
        .arg("--spec")
        .arg(fixture("hyper").join("model.toml"))
        .arg("--weights")
        .arg(checkpoint_of("hyper"))
        .args(["--dtype", "int8", "--json", "-o"])
        .arg(&q)
        .assert()
        .success();
    let r = json_of(&a.get_output().stdout);
    let quant = r["quantization"].as_array().unwrap();
    assert_eq!(quant.len(), 3, "{r}");
    for t in quant {
        let rel = t["rel_rms"].as_f64().unwrap();
        assert!(rel > 0.0 && rel < 0.02, "{t}");
    }
    hdon()
        .arg("inspect")
        .arg(&q)
        .assert()
        .success()
        .stdout(contains("i8"));
    // The blocked layout: same values, so verify against the row-major int8 file finds 0.
    let qb = dir.path().join("qb.hdon");
    hdon()
        .arg("export")
        .arg("--spec")
        .arg(fixture("hyper").join("model.toml"))
        .arg("--weights")
        .arg(checkpoint_of("hyper"))
        .args(["--dtype", "int8-blocked", "-o"])
        .arg(&qb)
        .assert()
        .success()
        .stdout(contains("weights int8-blocked"));
    hdon()
        .arg("inspect")
        .arg(&qb)
        .assert()
        .success()
        .stdout(contains("i8-blocked"));
    let vb = verify_hyper_against(&qb, &q);
    assert_eq!(vb["against"]["difference_rel_l2"]["worst"], 0.0, "{vb}");
    let v = verify_hyper_against(&q, &f32_model);
    let diff = v["against"]["difference_rel_l2"]["mean"].as_f64().unwrap();
    assert!(diff > 0.0 && diff < 0.05, "{v}");
    assert!(
        v["against"]["rel_l2"]["mean"].as_f64().unwrap() < 1e-5,
        "{v}"
    );
}

#[test]
fn inspect_reports_the_architecture_and_rejects_broken_files() {
    let dir = tempfile::tempdir().unwrap();
    let model = export_fixture(dir.path(), "hyper", &[]);
    hdon().arg("inspect").arg(&model).assert().success().stdout(
        contains("family hyper")
            .and(contains("N_theta = 137\n"))
            .and(contains("workspace bytes"))
            .and(contains("uniform grid")),
    );
    let a = hdon()
        .arg("inspect")
        .arg(&model)
        .arg("--json")
        .assert()
        .success();
    let r = json_of(&a.get_output().stdout);
    assert_eq!(
        r["params"]["generate"],
        12 * 16 + 16 + 16 * 16 + 16 + 16 * 137 + 137
    );
    assert_eq!(r["params"]["target"], 137);
    assert_eq!(r["target"].as_array().unwrap().len(), 3);
    assert!(r["flops"]["per_point"].as_u64().unwrap() > 0);
    assert_eq!(r["workspace"].as_array().unwrap().len(), 7);
    assert_eq!(r["sensors"]["m"], 12);
    // Theta layout 1 unless `--theta-layout folded`.
    assert_eq!(r["theta_layout"], 1);
    let layout = |name: &str, extra: &[&str]| {
        let sub = dir.path().join(name);
        std::fs::create_dir_all(&sub).unwrap();
        let m = export_fixture(&sub, "hyper", extra);
        let a = hdon()
            .arg("inspect")
            .arg(&m)
            .arg("--json")
            .assert()
            .success();
        json_of(&a.get_output().stdout)["theta_layout"].clone()
    };
    assert_eq!(layout("folded", &["--theta-layout", "folded"]), 2);
    assert_eq!(layout("int8", &["--dtype", "int8"]), 1);
    assert_eq!(
        layout(
            "int8-folded",
            &["--dtype", "int8", "--theta-layout", "folded"]
        ),
        2
    );

    let mut bytes = std::fs::read(&model).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x5a;
    let bad = dir.path().join("corrupt.hdon");
    std::fs::write(&bad, &bytes).unwrap();
    hdon()
        .arg("inspect")
        .arg(&bad)
        .assert()
        .failure()
        .stderr(contains("corrupt.hdon").and(contains("checksum").or(contains("CRC"))));
    let short = dir.path().join("short.hdon");
    std::fs::write(&short, &bytes[..100]).unwrap();
    hdon()
        .arg("inspect")
        .arg(&short)
        .assert()
        .failure()
        .stderr(contains("short.hdon"));
    hdon()
        .arg("inspect")
        .arg(dir.path().join("nope.hdon"))
        .assert()
        .failure()
        .stderr(contains("nope.hdon"));
}

#[test]
fn run_reads_npy_and_csv_writes_both_and_plots() {
    let dir = tempfile::tempdir().unwrap();
    let model = export_fixture(dir.path(), "hyper", &[]);
    let golden = npy::read_npz(&fixture("hyper").join("golden.npz")).unwrap();
    let (s, p, o) = (&golden["sensors"], &golden["points"], &golden["outputs"]);
    let u = dir.path().join("u.npy");
    std::fs::write(&u, npy::encode_npy(&s.shape, &s.data)).unwrap();
    let y = dir.path().join("y.csv");
    std::fs::write(&y, hdon_tools::csv::format_csv(1, &p.data)).unwrap();
    let truth = dir.path().join("t.npy");
    std::fs::write(&truth, npy::encode_npy(&o.shape, &o.data)).unwrap();
    let out = dir.path().join("out.npy");
    let png = dir.path().join("plot.png");
    let a = hdon()
        .arg("run")
        .arg(&model)
        .arg("--sensors")
        .arg(&u)
        .arg("--points")
        .arg(&y)
        .arg("-o")
        .arg(&out)
        .arg("--truth")
        .arg(&truth)
        .arg("--plot")
        .arg(&png)
        .arg("--json")
        .assert()
        .success();
    let r = json_of(&a.get_output().stdout);
    assert!(r["rel_l2"]["max"].as_f64().unwrap() < 1e-5, "{r}");
    let got = npy::read_npy(&out).unwrap();
    assert_eq!(got.shape, vec![3, 17, 1]);
    assert!(got
        .data
        .iter()
        .zip(&o.data)
        .all(|(a, b)| (a - b).abs() <= 1e-5 * (1.0 + b.abs())));
    assert_eq!(&std::fs::read(&png).unwrap()[1..4], b"PNG");

    // CSV sensors (one row per function) -> CSV output (one row per function).
    let ucsv = dir.path().join("u.csv");
    std::fs::write(&ucsv, hdon_tools::csv::format_csv(12, &s.data)).unwrap();
    let ocsv = dir.path().join("out.csv");
    hdon()
        .arg("run")
        .arg(&model)
        .arg("--sensors")
        .arg(&ucsv)
        .arg("--points")
        .arg(&y)
        .arg("-o")
        .arg(&ocsv)
        .assert()
        .success();
    let (rows, cols, vals) = hdon_tools::csv::read_csv(&ocsv).unwrap();
    assert_eq!((rows, cols), (3, 17));
    assert_eq!(vals, got.data);

    // Mismatched sensor count and point dimension.
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "1,2,3\n").unwrap();
    hdon()
        .arg("run")
        .arg(&model)
        .arg("--sensors")
        .arg(&bad)
        .arg("--points")
        .arg(&y)
        .arg("-o")
        .arg(dir.path().join("x.npy"))
        .assert()
        .failure()
        .stderr(
            contains("bad.csv")
                .and(contains("expected 12 sensor values"))
                .and(contains("found 3")),
        );
    let y2 = dir.path().join("y2.csv");
    std::fs::write(&y2, "0.1,0.2\n0.3,0.4\n").unwrap();
    hdon()
        .arg("run")
        .arg(&model)
        .arg("--sensors")
        .arg(&u)
        .arg("--points")
        .arg(&y2)
        .arg("-o")
        .arg(dir.path().join("x.npy"))
        .assert()
        .failure()
        .stderr(contains("y2.csv").and(contains("d_y = 1")));
}

#[test]
fn verify_reports_per_function_errors_and_checks_sensor_count() {
    let dir = tempfile::tempdir().unwrap();
    let model = export_fixture(dir.path(), "nomad", &[]);
    let a = hdon()
        .arg("verify")
        .arg(&model)
        .arg("--data")
        .arg(fixture("nomad").join("golden.npz"))
        .arg("--json")
        .assert()
        .success();
    let r = json_of(&a.get_output().stdout);
    assert_eq!(r["reference"], "outputs");
    assert_eq!(r["rel_l2"]["per_function"].as_array().unwrap().len(), 3);
    assert!(r["rel_l2"]["max"].as_f64().unwrap() < 1e-5, "{r}");
    hdon()
        .arg("verify")
        .arg(&model)
        .arg("--data")
        .arg(fixture("hyper").join("golden.npz"))
        .assert()
        .failure()
        .stderr(
            contains("golden.npz")
                .and(contains("'sensors'"))
                .and(contains("expected 10"))
                .and(contains("found 12")),
        );
}

#[test]
fn bench_prints_a_complete_report() {
    let dir = tempfile::tempdir().unwrap();
    let model = export_fixture(dir.path(), "deeponet", &[]);
    let a = hdon()
        .arg("bench")
        .arg(&model)
        .args(["--points", "256", "--iters", "5", "--warmup", "1", "--json"])
        .assert()
        .success();
    let r = json_of(&a.get_output().stdout);
    for key in [
        "kernel_path",
        "amx_tiles",
        "int8_kernel",
        "threads",
        "batch",
        "points",
        "file_bytes",
        "workspace_bytes",
        "flops",
        "generate",
        "eval",
    ] {
        assert!(!r[key].is_null(), "missing {key}: {r}");
    }
    assert_eq!(r["eval"]["latency"]["iters"], 5);
    assert_eq!(r["weights_dtype"], "f32");
    // The fixture's trunk (1 -> 12 -> 8, tanh) is narrower than the 32 inputs the tiles take.
    assert_eq!(r["amx_tiles"], false);
    let qr = bench_as(&model, "int8");
    assert_eq!(qr["weights_dtype"], "i8");
    let path = hdon_kernels::Path::from_name(qr["kernel_path"].as_str().unwrap()).unwrap();
    assert_eq!(qr["int8_kernel"], hdon_kernels::int8_kernel(path));
    let qb = bench_as(&model, "int8-blocked");
    assert_eq!(qb["weights_dtype"], "i8-blocked");
    assert_eq!(qb["int8_kernel"], hdon_kernels::int8_blocked_kernel(path));
    for key in ["p50_us", "p90_us", "p99_us", "max_us"] {
        assert!(r["eval"]["latency"][key].as_f64().is_some(), "{key}");
    }
    hdon()
        .arg("bench")
        .arg(&model)
        .args([
            "--points",
            "100",
            "--batch",
            "3",
            "--threads",
            "2",
            "--iters",
            "3",
            "--warmup",
            "0",
        ])
        .assert()
        .success()
        .stdout(
            contains("generate (batch 3)")
                .and(contains("eval (100 points)"))
                .and(contains("eval all (3 x 100 points)"))
                .and(contains("total (batch 3)"))
                .and(contains("kernel path")),
        );
    // One function: no batch phases.
    assert!(
        r["eval_batch"].is_null() && r["total_batch"].is_null(),
        "{r}"
    );
    assert_eq!(r["executor"], "rayon");
    // On a team of spinning workers: named in the report; 1000 points run in parallel.
    let a = hdon()
        .arg("bench")
        .arg(&model)
        .args(["--points", "1000", "--batch", "3", "--threads", "2"])
        .args(["--spin-us", "500", "--iters", "3", "--json"])
        .assert()
        .success();
    let t = json_of(&a.get_output().stdout);
    assert_eq!(t["executor"], "team (spin 500 us)");
    assert_eq!(t["threads"], 2);
    assert_eq!(t["eval"]["latency"]["iters"], 3);
    // The batch phases: every target at the points in one call, and generate + that.
    for (key, items, per) in [
        ("eval_batch", 3000.0, "points_per_s"),
        ("total_batch", 3.0, "functions_per_s"),
    ] {
        let l = &t[key]["latency"];
        assert_eq!(l["iters"], 3, "{key}: {t}");
        let p50 = l["p50_us"].as_f64().unwrap();
        let rate = t[key][per].as_f64().unwrap();
        assert!(p50 > 0.0, "{key}: {t}");
        assert!((rate * p50 * 1e-6 / items - 1.0).abs() < 1e-9, "{key}: {t}");
    }
    hdon()
        .arg("bench")
        .arg(&model)
        .args(["--spin-us", "500"])
        .assert()
        .failure()
        .stderr(contains("--spin-us").and(contains("--threads 2 or more")));
    assert!(r["evict_mib"].is_null(), "warm by default: {r}");
}

/// `--evict-mib`: cold-cache timing is named in the report (text and JSON) and keeps the
/// requested iteration count; 0 MiB and more than 4 GiB are refused with a message that says
/// what the option is.
#[test]
fn bench_evict_mib_reports_cold_caches() {
    let dir = tempfile::tempdir().unwrap();
    let model = export_fixture(dir.path(), "hyper", &[]);
    let a = hdon()
        .arg("bench")
        .arg(&model)
        .args(["--points", "64", "--iters", "3", "--warmup", "1"])
        .args(["--evict-mib", "2", "--json"])
        .assert()
        .success();
    let r = json_of(&a.get_output().stdout);
    assert_eq!(r["evict_mib"], 2);
    assert_eq!(r["generate"]["latency"]["iters"], 3);
    assert_eq!(r["eval"]["latency"]["iters"], 3);
    hdon()
        .arg("bench")
        .arg(&model)
        .args(["--points", "64", "--iters", "2", "--evict-mib", "2"])
        .assert()
        .success()
        .stdout(contains("cold caches: 2 MiB written before every call"));
    hdon()
        .arg("bench")
        .arg(&model)
        .args(["--evict-mib", "0"])
        .assert()
        .failure()
        .stderr(contains("--evict-mib must be 1..=4096").and(contains("found 0")));
    hdon()
        .arg("bench")
        .arg(&model)
        .args(["--evict-mib", "4097"])
        .assert()
        .failure()
        .stderr(contains("--evict-mib must be 1..=4096").and(contains("found 4097")));
}

/// `--dtype f32-padded`: the same f32 values with rows padded to 64 bytes. No quantization
/// error is reported, inspect names the dtype, verify finds no difference from the f32 file,
/// and `bench --dtype f32-padded` re-stores a file that way.
#[test]
fn f32_padded_export_inspect_verify_and_bench() {
    let dir = tempfile::tempdir().unwrap();
    let f32_model = export_fixture(dir.path(), "hyper", &[]);
    let padded = dir.path().join("padded.hdon");
    let a = hdon()
        .arg("export")
        .arg("--spec")
        .arg(fixture("hyper").join("model.toml"))
        .arg("--weights")
        .arg(checkpoint_of("hyper"))
        .args(["--dtype", "f32-padded", "--json", "-o"])
        .arg(&padded)
        .assert()
        .success();
    let r = json_of(&a.get_output().stdout);
    assert_eq!(r["quantization"].as_array().map(Vec::len), Some(0), "{r}");
    assert!(
        std::fs::metadata(&padded).unwrap().len() > std::fs::metadata(&f32_model).unwrap().len()
    );
    hdon()
        .arg("inspect")
        .arg(&padded)
        .assert()
        .success()
        .stdout(contains("f32-padded"));
    let v = verify_hyper_against(&padded, &f32_model);
    assert_eq!(v["against"]["difference_rel_l2"]["worst"], 0.0, "{v}");
    let b = bench_as(&f32_model, "f32-padded");
    assert_eq!(b["weights_dtype"], "f32-padded", "{b}");
}

#[test]
fn demo_runs_every_fixture_model_and_writes_a_figure() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("demo.png");
    let empty_models = dir.path().join("models");
    std::fs::create_dir(&empty_models).unwrap();
    let a = hdon()
        .current_dir(dir.path())
        .arg("demo")
        .arg("--plot")
        .arg(&png)
        .assert()
        .success();
    let out = String::from_utf8_lossy(&a.get_output().stdout).into_owned();
    assert!(
        out.contains("no .hdon files or trained checkpoints under models"),
        "{out}"
    );
    for name in FIXTURES {
        assert!(out.contains(name), "{name} missing from\n{out}");
    }
    assert_eq!(&std::fs::read(&png).unwrap()[1..4], b"PNG");
}

#[test]
fn demo_prefers_shipped_models() {
    let dir = tempfile::tempdir().unwrap();
    let problem = dir.path().join("models/identity");
    std::fs::create_dir_all(&problem).unwrap();
    export_fixture(&problem, "hyper", &[]);
    std::fs::copy(
        fixture("hyper").join("golden.npz"),
        problem.join("test.npz"),
    )
    .unwrap();
    let a = hdon()
        .current_dir(dir.path())
        .args(["demo", "--json", "--plot", "d.png"])
        .assert()
        .success();
    let r = json_of(&a.get_output().stdout);
    let models = r["models"].as_array().unwrap();
    assert_eq!(models.len(), 1, "{r}");
    assert_eq!(models[0]["problem"], "identity/hyper");
    assert_eq!(models[0]["family"], "hyper");
    assert!(models[0]["rel_l2"]["mean"].as_f64().unwrap() < 1e-5);
    assert!(dir.path().join("d.png").is_file());
}

#[test]
fn demo_exports_trained_checkpoints_when_there_is_no_hdon_file() {
    let dir = tempfile::tempdir().unwrap();
    let problem = dir.path().join("models/identity/hyper");
    std::fs::create_dir_all(&problem).unwrap();
    for (from, to) in [
        ("model.toml", "model.toml"),
        ("checkpoint.safetensors", "checkpoint.safetensors"),
        ("golden.npz", "test.npz"),
    ] {
        std::fs::copy(fixture("hyper").join(from), problem.join(to)).unwrap();
    }
    let a = hdon()
        .current_dir(dir.path())
        .args(["demo", "--plot", "d.png"])
        .assert()
        .success();
    let out = String::from_utf8_lossy(&a.get_output().stdout).into_owned();
    assert!(out.contains("exported 1 trained checkpoints"), "{out}");
    assert!(out.contains("identity/hyper"), "{out}");
}

/// An exported file is as readable as any file the user creates (not the private 0600 of a
/// temporary file), and re-exporting over a file keeps that file's permissions.
#[cfg(unix)]
#[test]
fn export_gives_the_output_normal_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    // What open(2) with 0o666 gives under this process's umask.
    let plain = dir.path().join("plain");
    std::fs::File::create(&plain).unwrap();
    let out = export_fixture(dir.path(), "hyper", &[]);
    assert_eq!(mode(&out), mode(&plain));
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o640)).unwrap();
    export_fixture(dir.path(), "hyper", &[]);
    assert_eq!(mode(&out), 0o640);
}

#[test]
fn bench_sizes_too_large_to_allocate_are_errors_not_aborts() {
    let dir = tempfile::tempdir().unwrap();
    let model = export_fixture(dir.path(), "hyper", &[]);
    // These aborted the process ("memory allocation of ... bytes failed", signal 6).
    for (opt, value, want) in [
        ("--points", "100000000000000", "cannot allocate"),
        ("--batch", "100000000000000", "cannot allocate"),
        ("--batch", "1000000000000000000", "too large"),
    ] {
        hdon()
            .arg("bench")
            .arg(&model)
            .args([opt, value, "--iters", "1", "--warmup", "0"])
            .assert()
            .code(1)
            .stderr(
                contains(format!("error: {opt}"))
                    .and(contains(want))
                    .and(contains("memory allocation of").not()),
            );
    }
}

#[test]
fn bench_refuses_more_threads_than_it_can_start() {
    let dir = tempfile::tempdir().unwrap();
    let model = export_fixture(dir.path(), "hyper", &[]);
    // 100,000 spawned for more than 10 s before this check.
    hdon()
        .arg("bench")
        .arg(&model)
        .args(["--threads", "100000", "--iters", "1", "--warmup", "0"])
        .timeout(std::time::Duration::from_secs(20))
        .assert()
        .code(1)
        .stderr(contains("error: --threads 100000: at most 1024"));
}

#[test]
fn every_subcommand_help_has_an_example() {
    for cmd in ["export", "inspect", "run", "bench", "verify", "demo"] {
        hdon()
            .args([cmd, "--help"])
            .assert()
            .success()
            .stdout(contains("Example:").and(contains(format!("hdon {cmd} "))));
    }
    hdon()
        .arg("--help")
        .assert()
        .success()
        .stdout(contains("Exit status"));
}

#[test]
fn verify_rejects_non_finite_reference_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let model = export_fixture(dir.path(), "hyper", &[]);
    let golden = npy::read_npz(&fixture("hyper").join("golden.npz")).unwrap();
    // A NaN in the reference gave "mean NaN ... worst 0.0000e0 (function 0)" and status 0.
    let mut o = golden["outputs"].data.clone();
    o[2 * 17 + 5] = f32::NAN;
    let data = dir.path().join("nan.npz");
    npy::write_npz(
        &data,
        &[
            ("sensors", &[3, 12], &golden["sensors"].data),
            ("points", &[17, 1], &golden["points"].data),
            ("outputs", &[3, 17, 1], &o),
        ],
    )
    .unwrap();
    hdon()
        .arg("verify")
        .arg(&model)
        .arg("--data")
        .arg(&data)
        .assert()
        .code(1)
        .stderr(
            contains("nan.npz")
                .and(contains("'outputs'"))
                .and(contains("NaN at function 2, point 5, component 0")),
        );
}

#[test]
fn verify_rejects_a_test_set_without_functions() {
    let dir = tempfile::tempdir().unwrap();
    let model = export_fixture(dir.path(), "hyper", &[]);
    let golden = npy::read_npz(&fixture("hyper").join("golden.npz")).unwrap();
    let data = dir.path().join("empty.npz");
    npy::write_npz(
        &data,
        &[
            ("sensors", &[0, 12], &[]),
            ("points", &[17, 1], &golden["points"].data),
            ("outputs", &[0, 17, 1], &[]),
        ],
    )
    .unwrap();
    // It printed "0 functions ... mean -0.0000e0 ... worst 0.0000e0 (function 0)", status 0.
    hdon()
        .arg("verify")
        .arg(&model)
        .arg("--data")
        .arg(&data)
        .assert()
        .code(1)
        .stderr(
            contains("empty.npz")
                .and(contains("'sensors'"))
                .and(contains("no input functions")),
        );
}
