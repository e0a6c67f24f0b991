//! The benchmark binaries' command lines: `-h` explains and exits 0; a usage error (unknown
//! option or workload, missing or malformed value) is one line naming what is wrong and
//! status 2, before anything is timed.

use std::process::{Command, Output};

fn run(bin: &str, args: &[&str]) -> Output {
    Command::new(bin).args(args).output().unwrap()
}

const BINS: [(&str, &str); 9] = [
    ("workloads", env!("CARGO_BIN_EXE_workloads")),
    ("e2e", env!("CARGO_BIN_EXE_e2e")),
    ("machine", env!("CARGO_BIN_EXE_machine")),
    ("threads_ab", env!("CARGO_BIN_EXE_threads_ab")),
    ("layout_ab", env!("CARGO_BIN_EXE_layout_ab")),
    ("tile_ab", env!("CARGO_BIN_EXE_tile_ab")),
    ("port_cost", env!("CARGO_BIN_EXE_port_cost")),
    ("amx_ports", env!("CARGO_BIN_EXE_amx_ports")),
    ("peak", env!("CARGO_BIN_EXE_peak")),
];

fn bin(name: &str) -> &'static str {
    BINS.iter().find(|(n, _)| *n == name).unwrap().1
}

#[test]
fn help_explains_and_succeeds() {
    for (name, path) in BINS {
        for flag in ["-h", "--help"] {
            let o = run(path, &[flag]);
            let out = String::from_utf8_lossy(&o.stdout);
            assert!(o.status.success(), "{name} {flag}: {:?}", o.status);
            assert!(out.starts_with("usage: "), "{name} {flag}: {out}");
            assert!(out.contains(name), "{name} {flag}: {out}");
        }
    }
    let o = run(bin("workloads"), &["export", "-h"]);
    assert!(o.status.success() && String::from_utf8_lossy(&o.stdout).starts_with("usage: "));
}

#[test]
fn usage_errors_are_one_line_and_status_2() {
    // Before: `e2e -h` timed workload S into a folder named "-h" and failed writing it;
    // `e2e DIR --names Q` and `--threads 0` ran (nothing, or on rayon's default pool) with
    // status 0; `machine --dram-mib abc` panicked and ignored unknown options, as `peak` did;
    // `threads_ab S B` timed S for 4 s before refusing B; every error exited with status 1.
    let cases: &[(&str, &[&str], &str)] = &[
        ("workloads", &[], "usage: workloads"),
        ("workloads", &["list", "x"], "usage: workloads"),
        (
            "workloads",
            &["export", "/nonexistent-dir", "Q"],
            "unknown workload \"Q\"; known: S L",
        ),
        ("e2e", &[], "usage: e2e"),
        (
            "e2e",
            &["/nonexistent-dir", "--names", "Q"],
            "unknown workload \"Q\"",
        ),
        (
            "e2e",
            &["/nonexistent-dir", "--threads", "0"],
            "--threads takes 1 to",
        ),
        (
            "e2e",
            &["/nonexistent-dir", "--budget", "-1"],
            "--budget takes seconds > 0",
        ),
        (
            "e2e",
            &["/nonexistent-dir", "--budget", "nan"],
            "--budget takes seconds > 0",
        ),
        (
            "e2e",
            &["/nonexistent-dir", "--budget"],
            "--budget needs a value",
        ),
        (
            "e2e",
            &["/nonexistent-dir", "--bogus"],
            "unknown argument \"--bogus\"",
        ),
        ("machine", &["--bogus"], "unknown argument \"--bogus\""),
        (
            "machine",
            &["--dram-mib", "abc"],
            "--dram-mib takes a number of MiB",
        ),
        (
            "machine",
            &["--dram-mib"],
            "--dram-mib takes a number of MiB",
        ),
        ("threads_ab", &["Q"], "unknown workload \"Q\""),
        (
            "threads_ab",
            &["S", "B"],
            "B: batch 64 (one input function only)",
        ),
        ("threads_ab", &["--threads", "0"], "--threads takes 1 to"),
        (
            "threads_ab",
            &["--budget", "0"],
            "--budget takes seconds > 0",
        ),
        ("threads_ab", &["--budget"], "--budget needs a value"),
        ("layout_ab", &["S", "D"], "D: not a HyperDeepONet workload"),
        (
            "layout_ab",
            &["--threads", "2"],
            "unknown argument \"--threads\"",
        ),
        ("tile_ab", &["0"], "not a count >= 1: \"0\""),
        ("tile_ab", &["3", "4"], "one argument at most"),
        ("port_cost", &["abc"], "not a count >= 1: \"abc\""),
        ("amx_ports", &["-1"], "not a count >= 1: \"-1\""),
        ("peak", &["--iters"], "unknown argument \"--iters\""),
    ];
    for (name, args, want) in cases {
        let o = run(bin(name), args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{name} {args:?}: {err}");
        assert!(
            err.starts_with(&format!("{name}: ")),
            "{name} {args:?}: {err}"
        );
        assert!(err.contains(want), "{name} {args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{name} {args:?}: {err}");
        assert!(
            o.stdout.is_empty(),
            "{name} {args:?}: printed before refusing"
        );
    }
}

#[test]
fn e2e_refuses_a_folder_without_the_dump_before_timing() {
    let dir = std::env::temp_dir().join(format!("hdon-e2e-nodump-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let o = run(bin("e2e"), &[dir.to_str().unwrap(), "--names", "S"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("no workload dump here; run `workloads export"),
        "{err}"
    );
    assert!(o.stdout.is_empty(), "timed before refusing");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn e2e_keeps_the_workloads_it_finished_when_a_later_one_fails() {
    // Before: the results were written once, at the end, so a run that failed (or was stopped)
    // in its last workload lost every workload before it.
    let dir = std::env::temp_dir().join(format!("hdon-e2e-partial-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for name in ["burgers-hyper", "burgers-deeponet"] {
        std::fs::create_dir_all(dir.join(name)).unwrap();
        // e2e builds each workload itself; the dump's folders take its outputs.
        std::fs::write(dir.join(name).join("workload.json"), "{}").unwrap();
    }
    // burgers-deeponet's first output cannot be written: a folder holds its name.
    std::fs::create_dir_all(dir.join("burgers-deeponet/out.hdon-t1.npy")).unwrap();
    let o = run(
        bin("e2e"),
        &[
            dir.to_str().unwrap(),
            "--budget",
            "0.001",
            "--names",
            "burgers-hyper",
            "burgers-deeponet",
        ],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("out.hdon-t1.npy"), "{err}");
    let results = dir.join("results");
    let text = std::fs::read_to_string(results.join("hdon-t1.json")).unwrap();
    let rows: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    // Every burgers-hyper row (3 phases of each weight type) and no burgers-deeponet row.
    assert!(rows.len() >= 3 && rows.len().is_multiple_of(3), "{rows:?}");
    assert!(
        rows.iter().all(|r| r["workload"] == "burgers-hyper"),
        "{rows:?}"
    );
    assert!(rows
        .iter()
        .any(|r| r["phase"] == "total" && r["weights"] == "f32"));
    let left: Vec<_> = std::fs::read_dir(&results)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["hdon-t1.json"], "a temporary file was left");
    std::fs::remove_dir_all(&dir).unwrap();
}
