//! The `hdon` binary on bad input: every failure exits with status 1 (2 for a malformed
//! command line), names the file and what was wrong, never panics, and never destroys or
//! half-writes a file.

mod common;

use common::{fixture, hdon};
use hdon_tools::npy;
use predicates::prelude::*;
use predicates::str::contains;
use std::path::{Path, PathBuf};

/// The hyper fixture exported into `dir` (`m = 12`, `d_y = 1`, `d_out = 1`), and its golden
/// sensors `[3, 12]`, points `[17, 1]` and outputs `[3, 17, 1]` as `u.npy`, `y.npy`, `t.npy`.
struct Setup {
    dir: tempfile::TempDir,
    model: PathBuf,
    u: PathBuf,
    y: PathBuf,
    t: PathBuf,
}

/// `hdon export` of the hyper fixture (f32) to `out`; more arguments may follow.
fn export_hyper(out: &Path) -> assert_cmd::Command {
    let mut c = hdon();
    c.arg("export")
        .arg("--spec")
        .arg(fixture("hyper").join("model.toml"))
        .arg("--weights")
        .arg(fixture("hyper").join("checkpoint.safetensors"))
        .arg("-o")
        .arg(out);
    c
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.hdon");
    export_hyper(&model).assert().success();
    let golden = npy::read_npz(&fixture("hyper").join("golden.npz")).unwrap();
    let save = |name: &str, key: &str| {
        let a = &golden[key];
        let p = dir.path().join(name);
        std::fs::write(&p, npy::encode_npy(&a.shape, &a.data)).unwrap();
        p
    };
    let (u, y, t) = (
        save("u.npy", "sensors"),
        save("y.npy", "points"),
        save("t.npy", "outputs"),
    );
    Setup {
        dir,
        model,
        u,
        y,
        t,
    }
}

impl Setup {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `hdon run MODEL --sensors u --points y` plus `extra`.
    fn run(&self, u: &Path, y: &Path, extra: &[&std::ffi::OsStr]) -> assert_cmd::assert::Assert {
        hdon()
            .arg("run")
            .arg(&self.model)
            .arg("--sensors")
            .arg(u)
            .arg("--points")
            .arg(y)
            .args(extra)
            .assert()
    }
}

fn os(p: &Path) -> &std::ffi::OsStr {
    p.as_os_str()
}

fn s(x: &str) -> &std::ffi::OsStr {
    std::ffi::OsStr::new(x)
}

/// No temporary file of an atomic write is left in `dir`.
fn no_temporaries(dir: &Path) {
    let left: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".hdon-tmp-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn run_refuses_an_output_that_is_one_of_its_inputs() {
    let st = setup();
    let before = std::fs::read(&st.u).unwrap();
    st.run(&st.u, &st.y, &[s("-o"), os(&st.u)]).code(1).stderr(
        contains("-o")
            .and(contains("u.npy"))
            .and(contains("same file as --sensors"))
            .and(contains("panicked").not()),
    );
    assert_eq!(
        std::fs::read(&st.u).unwrap(),
        before,
        "the sensors were overwritten"
    );
    let model = std::fs::read(&st.model).unwrap();
    st.run(&st.u, &st.y, &[s("-o"), os(&st.model)])
        .code(1)
        .stderr(contains("same file as the model").and(contains("m.hdon")));
    assert_eq!(std::fs::read(&st.model).unwrap(), model);
    // --truth and -o the same file compared the output with itself: relative L2 0.
    let truth = std::fs::read(&st.t).unwrap();
    st.run(&st.u, &st.y, &[s("-o"), os(&st.t), s("--truth"), os(&st.t)])
        .code(1)
        .stderr(contains("same file as --truth"));
    assert_eq!(std::fs::read(&st.t).unwrap(), truth);
    // The figure must not replace the points either.
    let y = std::fs::read(&st.y).unwrap();
    let png = st.path("y.png");
    std::fs::copy(&st.y, &png).unwrap();
    st.run(
        &st.u,
        &png,
        &[s("-o"), os(&st.path("o.npy")), s("--plot"), os(&png)],
    )
    .code(1)
    .stderr(contains("--plot").and(contains("same file as --points")));
    assert_eq!(std::fs::read(&png).unwrap(), y);
    assert!(!st.path("o.npy").exists());
}

#[cfg(unix)]
#[test]
fn run_sees_an_input_through_a_symbolic_link() {
    let st = setup();
    let link = st.path("link.npy");
    std::os::unix::fs::symlink(&st.u, &link).unwrap();
    let before = std::fs::read(&st.u).unwrap();
    st.run(&link, &st.y, &[s("-o"), os(&st.u)])
        .code(1)
        .stderr(contains("same file as --sensors").and(contains("link.npy")));
    assert_eq!(std::fs::read(&st.u).unwrap(), before);
}

#[test]
fn export_refuses_an_output_that_is_one_of_its_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("model.toml");
    let weights = dir.path().join("checkpoint.safetensors");
    let check = dir.path().join("golden.npz");
    std::fs::copy(fixture("hyper").join("model.toml"), &spec).unwrap();
    std::fs::copy(fixture("hyper").join("checkpoint.safetensors"), &weights).unwrap();
    std::fs::copy(fixture("hyper").join("golden.npz"), &check).unwrap();
    for (out, flag) in [
        (&spec, "--spec"),
        (&weights, "--weights"),
        (&check, "--check"),
    ] {
        let before = std::fs::read(out).unwrap();
        hdon()
            .arg("export")
            .arg("--spec")
            .arg(&spec)
            .arg("--weights")
            .arg(&weights)
            .arg("--check")
            .arg(&check)
            .arg("-o")
            .arg(out)
            .assert()
            .code(1)
            .stderr(contains(format!("same file as {flag}")).and(contains("refusing")));
        assert_eq!(
            &std::fs::read(out).unwrap(),
            &before,
            "{flag} was overwritten"
        );
    }
}

#[test]
fn run_checks_truth_and_plot_before_writing_the_output() {
    let st = setup();
    let out = st.path("out.npy");
    // A --truth with one value too few: the output was written, then the command failed.
    let golden = npy::read_npy(&st.t).unwrap();
    let short = st.path("short.npy");
    std::fs::write(&short, npy::encode_npy(&[50], &golden.data[..50])).unwrap();
    st.run(&st.u, &st.y, &[s("-o"), os(&out), s("--truth"), os(&short)])
        .code(1)
        .stderr(
            contains("short.npy")
                .and(contains("expected 51 values"))
                .and(contains("found 50")),
        );
    assert!(!out.exists(), "a failed run wrote its output");
    // A figure that is not a PNG: plotters' error after the output was written.
    st.run(
        &st.u,
        &st.y,
        &[s("-o"), os(&out), s("--plot"), os(&st.path("fig.npy"))],
    )
    .code(1)
    .stderr(
        contains("--plot")
            .and(contains("fig.npy"))
            .and(contains(".png")),
    );
    assert!(!out.exists(), "a failed run wrote its output");
    // An output folder that does not exist: said before the model runs, with the path.
    st.run(
        &st.u,
        &st.y,
        &[s("-o"), os(&st.path("no/such/dir/out.npy"))],
    )
    .code(1)
    .stderr(contains("out.npy").and(contains("does not exist")));
    // An output that is neither .npy nor .csv got .npy bytes under its name.
    st.run(&st.u, &st.y, &[s("-o"), os(&st.path("out.txt"))])
        .code(1)
        .stderr(contains("out.txt").and(contains(".npy or .csv")));
    assert!(!st.path("out.txt").exists());
    // The same path for the output and the figure.
    st.run(
        &st.u,
        &st.y,
        &[
            s("-o"),
            os(&st.path("a.png")),
            s("--plot"),
            os(&st.path("a.png")),
        ],
    )
    .code(1)
    .stderr(contains("also the -o output"));
    assert!(!st.path("a.png").exists());
    no_temporaries(st.dir.path());
    // And a good run leaves the output, the figure, and no temporary file.
    let png = st.path("fig.png");
    st.run(&st.u, &st.y, &[s("-o"), os(&out), s("--plot"), os(&png)])
        .success();
    assert_eq!(&std::fs::read(&png).unwrap()[1..4], b"PNG");
    assert!(out.is_file());
    no_temporaries(st.dir.path());
}

#[test]
fn run_names_the_file_of_a_non_finite_input_or_truth() {
    let st = setup();
    let golden = npy::read_npz(&fixture("hyper").join("golden.npz")).unwrap();
    let mut u = golden["sensors"].data.clone();
    u[12 + 3] = f32::NAN;
    let bad_u = st.path("u_nan.npy");
    std::fs::write(&bad_u, npy::encode_npy(&[3, 12], &u)).unwrap();
    st.run(&bad_u, &st.y, &[s("-o"), os(&st.path("o.npy"))])
        .code(1)
        .stderr(
            contains("u_nan.npy")
                .and(contains("input function 1"))
                .and(contains("sensors[3]"))
                .and(contains("NaN")),
        );
    // A NaN in the truth gave "mean NaN ... worst 0.0000e0 (function 0)" and status 0.
    let mut t = golden["outputs"].data.clone();
    t[17 + 2] = f32::INFINITY;
    let bad_t = st.path("t_inf.npy");
    std::fs::write(&bad_t, npy::encode_npy(&[3, 17, 1], &t)).unwrap();
    st.run(
        &st.u,
        &st.y,
        &[s("-o"), os(&st.path("o.npy")), s("--truth"), os(&bad_t)],
    )
    .code(1)
    .stderr(
        contains("t_inf.npy")
            .and(contains("inf at function 1, point 2, component 0"))
            .and(contains("finite")),
    );
    assert!(!st.path("o.npy").exists());
}

#[test]
fn demo_rejects_a_bad_figure_path_up_front() {
    let dir = tempfile::tempdir().unwrap();
    // A figure in a missing folder failed only after every model had run and been timed.
    hdon()
        .arg("demo")
        .arg("--plot")
        .arg(dir.path().join("no/such/demo.png"))
        .assert()
        .code(1)
        .stdout(contains("hdon demo").not())
        .stderr(contains("demo.png").and(contains("does not exist")));
    hdon()
        .arg("demo")
        .arg("--plot")
        .arg(dir.path().join("demo.jpg"))
        .assert()
        .code(1)
        .stdout(contains("hdon demo").not())
        .stderr(contains("demo.jpg").and(contains(".png")));
}

#[test]
fn export_rejects_a_meaningless_rtol() {
    let export = |extra: &[&str]| {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("m.hdon");
        let a = export_hyper(&out).args(extra).assert();
        (a, out.exists())
    };
    let golden = fixture("hyper").join("golden.npz");
    let golden = golden.to_str().unwrap();
    // NaN compared false with every error, so a perfect file failed the check ("> tolerance NaN").
    for bad in ["nan", "-1", "inf"] {
        let (a, written) = export(&["--check", golden, &format!("--rtol={bad}")]);
        a.code(1)
            .stderr(contains("--rtol").and(contains("finite number >= 0")));
        assert!(!written);
    }
    // --rtol without --check was silently ignored.
    let (a, written) = export(&["--rtol", "0.1"]);
    a.code(2).stderr(contains("--check"));
    assert!(!written);
}

#[test]
fn demo_rejects_a_models_path_that_is_not_a_folder() {
    let dir = tempfile::tempdir().unwrap();
    // A mistyped --models ran the test fixtures instead, with status 0.
    hdon()
        .arg("demo")
        .arg("--models")
        .arg(dir.path().join("modles"))
        .arg("--plot")
        .arg(dir.path().join("demo.png"))
        .assert()
        .code(1)
        .stdout(contains("hdon demo").not())
        .stderr(
            contains("--models")
                .and(contains("modles"))
                .and(contains("not a folder")),
        );
    assert!(!dir.path().join("demo.png").exists());
}

#[test]
fn export_refuses_an_output_named_as_another_format() {
    // `-o model.npy` wrote .hdon bytes that every .npy reader then rejected.
    let dir = tempfile::tempdir().unwrap();
    let export = |name: &str| {
        let out = dir.path().join(name);
        let a = export_hyper(&out).assert();
        (a, out.exists())
    };
    for (name, ext) in [
        ("m.npy", "npy"),
        ("m.NPZ", "npz"),
        ("m.safetensors", "safetensors"),
    ] {
        let (a, written) = export(name);
        a.code(1).stderr(
            contains(format!("under a .{ext} name"))
                .and(contains("name it"))
                .and(contains("m.hdon")),
        );
        assert!(!written, "{name}");
    }
    // Any other name is the user's choice (a firmware build's .bin, say).
    for name in ["m.hdon", "m.bin", "model"] {
        let (a, written) = export(name);
        a.success();
        assert!(written, "{name}");
    }
}
