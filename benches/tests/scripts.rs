//! The benchmark scripts (`benches/peers/run.sh`, `cli.sh`, `peers.py`, `benches/check_entries.sh`)
//! on bad input: a usage error is one line and status 2 before anything is built or timed; a
//! missing Python module is named with what to pip install; the peers' table shows a peer whose
//! output differs from hdon's, or is missing.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn script(rel: &str) -> Command {
    let mut c = Command::new("bash");
    c.arg(root().join(rel));
    c
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn have(cmd: &str, args: &[&str]) -> bool {
    Command::new(cmd)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success())
}

fn tempdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("hdon-scripts-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `$PYTHON` (default python3), which must import numpy: the test command's prerequisites
/// include it (.ci/run installs it), so a missing one is a failure, not a skip.
fn python_with_numpy() -> String {
    let py = std::env::var("PYTHON").unwrap_or("python3".into());
    assert!(
        have(&py, &["-c", "import numpy"]),
        "{py} cannot import numpy: pip install numpy (.ci/run installs it)"
    );
    py
}

/// `peers.py CMD DIR ARGS...` run by `py`.
fn peers_py(py: &str, cmd: &str, dir: &Path, args: &[&str]) -> Output {
    Command::new(py)
        .arg(root().join("benches/peers/peers.py"))
        .arg(cmd)
        .arg(dir)
        .args(args)
        .output()
        .unwrap()
}

fn assert_usage(o: &Output, what: &str, want: &str) {
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{what}: {err}");
    assert!(err.contains(want), "{what}: {err}");
    assert!(
        !err.contains("== building"),
        "{what}: built before refusing: {err}"
    );
}

#[test]
fn run_sh_refuses_bad_arguments_before_building() {
    // `--budget abc` reached the timing loops after the whole build; `--out` at the end of
    // the line ended in "$2: unbound variable".
    for (args, want) in [
        (&["--budget"][..], "--budget needs seconds"),
        (
            &["--budget", "abc"],
            "--budget takes seconds > 0 (found 'abc')",
        ),
        (&["--budget", "-1"], "--budget takes seconds > 0"),
        (&["--budget", "0"], "--budget takes seconds > 0"),
        (&["--out"], "--out needs a folder"),
        (&["--bogus"], "unknown option --bogus"),
    ] {
        let o = script("benches/peers/run.sh").args(args).output().unwrap();
        assert_usage(&o, &format!("run.sh {args:?}"), want);
    }
    let o = script("benches/peers/run.sh")
        .arg("--help")
        .output()
        .unwrap();
    assert!(o.status.success());
    assert!(text(&o.stdout).starts_with("Runs hdon and every peer"));
    assert!(text(&o.stdout).contains("usage: benches/peers/run.sh"));
    assert!(
        !text(&o.stdout).contains("set -e"),
        "help ran into the code"
    );
}

#[test]
fn run_sh_names_the_python_module_to_install_first() {
    // The test command's prerequisites include python3 with numpy (.ci/run installs them):
    // a missing one is a failure, not a skip.
    assert!(have("python3", &["-c", ""]), "python3 is needed");
    // A module that fails to import, whatever the machine has installed.
    let fake = tempdir("fakemods");
    std::fs::write(
        fake.join("onnxruntime.py"),
        "raise ImportError('simulated')\n",
    )
    .unwrap();
    let out = tempdir("run-out");
    let o = script("benches/peers/run.sh")
        .args(["--no-tract", "--quick", "--out"])
        .arg(&out)
        .env("PYTHONPATH", &fake)
        .env("PYTHON", "python3")
        .output()
        .unwrap();
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("cannot import") && err.contains("onnxruntime"),
        "{err}"
    );
    assert!(
        err.contains("pip install") && err.contains("onnxruntime"),
        "{err}"
    );
    assert!(
        !err.contains("== building"),
        "built before checking python: {err}"
    );
    let o = script("benches/peers/run.sh")
        .args(["--no-tract", "--out"])
        .arg(&out)
        .env("PYTHON", "/nonexistent/python3")
        .output()
        .unwrap();
    assert!(text(&o.stderr).contains("/nonexistent/python3 not found"));
    std::fs::remove_dir_all(&fake).unwrap();
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn cli_sh_and_check_entries_refuse_bad_arguments() {
    // `cli.sh --help` built and ran the whole measurement; other arguments were ignored.
    let o = script("benches/peers/cli.sh")
        .arg("--help")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("usage: benches/peers/cli.sh [--out DIR]"));
    let o = script("benches/peers/cli.sh")
        .arg("--bogus")
        .output()
        .unwrap();
    assert_usage(&o, "cli.sh --bogus", "unknown argument --bogus");
    let o = script("benches/peers/cli.sh")
        .arg("--out")
        .output()
        .unwrap();
    assert_usage(&o, "cli.sh --out", "--out needs a folder");

    let o = script("benches/check_entries.sh")
        .arg("-h")
        .output()
        .unwrap();
    assert!(o.status.success());
    assert!(text(&o.stdout).contains("usage: benches/check_entries.sh"));
    let o = script("benches/check_entries.sh").output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    if have("objdump", &["--version"]) {
        // A file without hdon's kernels (stripped, say) passed: "no intrinsic ... calls".
        let o = script("benches/check_entries.sh")
            .arg("/bin/sh")
            .output()
            .unwrap();
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains("no hdon_kernels::x86_64 symbols"), "{err}");
    }
}

/// The table's `max abs diff` compares each peer's `total` output with hdon f32's: a peer
/// off by 0.5 shows 5.00e-01, a peer whose output file is missing shows `missing!`.
#[test]
fn peers_table_compares_every_peer_with_hdon() {
    let py = python_with_numpy();
    let dir = tempdir("table");
    let setup = r#"
import json, os, sys
import numpy as np
d = sys.argv[1]
os.makedirs(f"{d}/S"); os.makedirs(f"{d}/results")
json.dump({"order": 0}, open(f"{d}/S/workload.json", "w"))
h = np.linspace(-1, 1, 60, dtype=np.float32).reshape(1, 30, 2)
np.save(f"{d}/S/out.hdon-t1.npy", h)
np.save(f"{d}/S/out.ort-t1.npy", h + np.float32(0.5) * (np.arange(60) == 7).reshape(h.shape))
np.save(f"{d}/S/out.tract-t1.npy", h.reshape(-1)[:50])
def row(peer, label, out=True):
    return {"workload": "S", "phase": "total", "peer": peer, "weights": "f32", "threads": 1,
            "median_us": 10.0, "iters": 5, "flops": 1000, "out": f"out.{label}.npy" if out else None}
for peer in ["hdon", "ort", "numpy", "tract"]:
    json.dump([row(peer, f"{peer}-t1")], open(f"{d}/results/{peer}-t1.json", "w"))
"#;
    let o = Command::new(&py)
        .args(["-c", setup])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    let o = peers_py(&py, "table", &dir, &[]);
    let out = text(&o.stdout);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let diff = |peer: &str| -> String {
        let line = out
            .lines()
            .find(|l| l.split('|').nth(4).is_some_and(|p| p.trim() == peer))
            .unwrap_or_else(|| panic!("no {peer} row in\n{out}"));
        line.split('|').nth(8).unwrap().trim().to_string()
    };
    assert_eq!(diff("hdon"), "-", "{out}");
    assert_eq!(diff("ort"), "5.00e-01", "{out}");
    assert_eq!(diff("numpy"), "missing!", "{out}");
    assert_eq!(diff("tract"), "shape!", "{out}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn peers_py_refuses_unknown_workloads_and_empty_dumps() {
    let py = python_with_numpy();
    let empty = tempdir("empty");
    // Both ran nothing, wrote an empty result and exited 0.
    let o = peers_py(&py, "run", &empty, &["--peer", "numpy"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("no workload dump in"));
    std::fs::create_dir_all(empty.join("S")).unwrap();
    std::fs::write(empty.join("S/workload.json"), "{}").unwrap();
    let o = peers_py(&py, "run", &empty, &["--peer", "numpy", "--names", "Q"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("no workload Q in"));
    for bad in [["--budget", "-1"], ["--budget", "nan"], ["--threads", "0"]] {
        let o = peers_py(&py, "run", &empty, &["--peer", "numpy", bad[0], bad[1]]);
        assert_eq!(o.status.code(), Some(2), "{bad:?}");
        assert!(text(&o.stderr).contains(bad[0]), "{bad:?}");
    }
    // ONNX Runtime without the graphs: a traceback (NO_SUCHFILE) before.
    if have(&py, &["-c", "import onnxruntime"]) {
        let o = peers_py(&py, "run", &empty, &["--peer", "ort"]);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert!(
            err.contains("generate.onnx missing; build the graphs first: peers.py onnx"),
            "{err}"
        );
    }
    assert!(!empty.join("results").join("numpy-t1.json").exists());
    // A file that cannot be read or written ended in a traceback; now one line, status 1.
    std::fs::create_dir_all(empty.join("results/hdon-t1.json")).unwrap();
    let o = peers_py(&py, "table", &empty, &[]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.starts_with("peers.py table: ") && err.contains("hdon-t1.json"),
        "{err}"
    );
    assert!(!err.contains("Traceback"), "{err}");
    std::fs::remove_dir_all(&empty).unwrap();
}
