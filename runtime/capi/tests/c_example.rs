//! Compiles `examples/run_model.c` against the static library with the system C compiler
//! (`cc`, or `$CC`), runs it on model files written here, and compares its printed outputs
//! with the Rust API's on the same inputs (bit for bit: it is the same code).

// run_model.c and abi.c call the team functions, which only the std library (default
// features) has; the no_std library is tested on its target (examples/firmware_check.sh).
#![cfg(feature = "std")]

use std::path::{Path, PathBuf};
use std::process::Command;

use hdon_format::AlignedBytes;
use hdon_runtime::Model;
use hdon_tests::build::to_hdon;
use hdon_tests::random::{random_model, Spec, WeightType};

/// The directory cargo puts this package's library artifacts in (`target/<profile>`), from
/// this test executable's path (`target/<profile>/deps/c_example-*`).
fn artifact_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().and_then(Path::parent).unwrap().to_path_buf()
}

/// `libhdon.a`: `cargo test` builds it with this package (the crate types include
/// staticlib) into `target/<profile>/deps/`; `cargo build` uplifts it to `target/<profile>/`.
/// If neither exists (unusual setups), it is built here into a private target dir (slow).
fn static_lib() -> PathBuf {
    let dir = artifact_dir();
    for lib in [dir.join("deps").join("libhdon.a"), dir.join("libhdon.a")] {
        if lib.exists() {
            return lib;
        }
    }
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("capi-build");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "-p", "hdon-capi", "--target-dir"])
        .arg(&target)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .expect("run cargo build -p hdon-capi");
    assert!(status.success(), "cargo build -p hdon-capi failed");
    let lib = target.join("debug").join("libhdon.a");
    assert!(lib.exists(), "{} missing after build", lib.display());
    lib
}

/// Compiles `source` (a path relative to this package) with `compiler` (`$CC` / `cc` for C,
/// `$CXX` / `c++` for C++) and the flags of a strict firmware build, warnings as errors, and
/// links it with the static library into `out_dir/name`.
fn compile(out_dir: &Path, source: &str, name: &str, cxx: bool) -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let exe = out_dir.join(name);
    let (var, default, lang) = if cxx {
        ("CXX", "c++", ["-x", "c++", "-std=c++11"])
    } else {
        ("CC", "cc", ["-x", "c", "-std=c99"])
    };
    let compiler = std::env::var(var).unwrap_or_else(|_| default.into());
    let output = Command::new(&compiler)
        .args(lang)
        .args(["-O1", "-Wall", "-Wextra", "-Wpedantic", "-Werror", "-I"])
        .arg(manifest)
        .arg(manifest.join(source))
        // Back to linking: the library is not a source file of the language above.
        .args(["-x", "none"])
        .arg(static_lib())
        .args(["-lpthread", "-ldl", "-lm", "-o"])
        .arg(&exe)
        .output()
        .unwrap_or_else(|e| panic!("cannot run the compiler `{compiler}`: {e}"));
    assert!(
        output.status.success(),
        "{source}: compile failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    exe
}

fn compile_example(out_dir: &Path) -> PathBuf {
    compile(out_dir, "examples/run_model.c", "run_model", false)
}

/// The same inputs as run_model.c computes.
fn inputs(m: usize, d_y: usize, n: usize) -> (Vec<f32>, Vec<f32>) {
    let sensors = (0..m)
        .map(|i| ((7 * i) % 13) as f32 / 13.0f32 - 0.5f32)
        .collect();
    let mut points = Vec::with_capacity(n * d_y);
    for k in 0..n {
        for i in 0..d_y {
            points.push(((3 * k + 5 * i) % 11) as f32 / 11.0f32);
        }
    }
    (sensors, points)
}

#[test]
fn c_example_matches_rust_api() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("c_example");
    std::fs::create_dir_all(&dir).unwrap();
    let exe = compile_example(&dir);
    for (fam, weights) in [
        ("deeponet", WeightType::F32),
        ("nomad", WeightType::F16),
        ("hyper", WeightType::I8),
        ("chunked_hyper", WeightType::Bf16),
    ] {
        let mut spec = Spec::small(fam);
        spec.weights = weights;
        spec.d_y = 3;
        spec.d_out = 2;
        let bytes = to_hdon(&random_model(&spec), weights);
        let path = dir.join(format!("{fam}.hdon"));
        std::fs::write(&path, &bytes).unwrap();
        let n = 37;
        let run = Command::new(&exe)
            .arg(&path)
            .arg(n.to_string())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&run.stdout);
        assert!(
            run.status.success(),
            "{fam}: run_model failed: {}\n{stdout}",
            String::from_utf8_lossy(&run.stderr)
        );
        let mut lines = stdout.lines();
        let aligned = AlignedBytes::from_slice(&bytes);
        let model = Model::from_bytes(&aligned).unwrap();
        let header = format!(
            "m={} d_y={} d_out={} workspace={}",
            model.n_sensors(),
            model.d_y(),
            model.d_out(),
            model.workspace_len(1)
        );
        assert_eq!(lines.next(), Some(header.as_str()), "{fam}");
        let c_out: Vec<f32> = lines.map(|l| l.trim().parse().unwrap()).collect();

        let (sensors, points) = inputs(model.n_sensors(), model.d_y(), n);
        let mut ws = vec![0.0f32; model.workspace_len(1)];
        let mut out = vec![0.0f32; n * model.d_out()];
        model
            .generate(&sensors, &mut ws)
            .unwrap()
            .eval(&points, &mut out)
            .unwrap();
        assert_eq!(c_out.len(), out.len(), "{fam}");
        for (k, (c, r)) in c_out.iter().zip(&out).enumerate() {
            assert_eq!(
                c.to_bits(),
                r.to_bits(),
                "{fam} value {k}: C {c} vs Rust {r}"
            );
        }
    }
}

#[test]
fn c_api_errors_and_messages() {
    use hdon::*;
    // Bad bytes: a format error with a message, not a crash.
    let junk = [0u64; 16];
    let mut model = std::mem::MaybeUninit::<HdonModel>::uninit();
    // SAFETY: valid pointers; junk is 8-byte aligned and 128 bytes long.
    let rc = unsafe { hdon_model_open(junk.as_ptr().cast(), 128, 1, model.as_mut_ptr()) };
    assert_eq!(rc, Status::Format as i32);
    // SAFETY: null pointers are reported, not dereferenced.
    let rc = unsafe { hdon_model_open(std::ptr::null(), 0, 1, model.as_mut_ptr()) };
    assert_eq!(rc, Status::Null as i32);
    for code in 0..=13 {
        let msg = hdon_error_message(code);
        // SAFETY: hdon_error_message returns a static NUL-terminated string.
        let s = unsafe { std::ffi::CStr::from_ptr(msg) }.to_str().unwrap();
        assert!(!s.is_empty());
    }
    // SAFETY: NULL model gives 0.
    assert_eq!(unsafe { hdon_model_n_sensors(std::ptr::null()) }, 0);
}

/// `hdon.h` as a C99 and as a C++11 compiler read it (`tests/c/abi.c`) agrees with the library:
/// the opaque structs' sizes and alignments, every status code's value (and that the library
/// has a message for it), and each function called through its prototype returning the
/// status its checks give.
#[test]
fn header_matches_the_library_in_c_and_cpp() {
    use hdon::{HdonModel, HdonTarget, Status};
    use std::mem::{align_of, size_of};
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("c_abi");
    std::fs::create_dir_all(&dir).unwrap();
    let codes = [
        Status::Ok,
        Status::Null,
        Status::Format,
        Status::Kernel,
        Status::SensorCount,
        Status::PointDim,
        Status::OutputLen,
        Status::WorkspaceTooShort,
        Status::NonFiniteSensor,
        Status::NonFinitePoint,
        Status::WorkspaceMismatch,
        Status::Unsupported,
        Status::InvalidModel,
        Status::Misaligned,
    ];
    let mut want = vec![
        format!(
            "hdon_model {} {}",
            size_of::<HdonModel>(),
            align_of::<HdonModel>()
        ),
        format!(
            "hdon_target {} {}",
            size_of::<HdonTarget>(),
            align_of::<HdonTarget>()
        ),
    ];
    for s in codes {
        let msg = hdon::hdon_error_message(s as i32);
        // SAFETY: hdon_error_message returns a static NUL-terminated string.
        let msg = unsafe { std::ffi::CStr::from_ptr(msg) }.to_str().unwrap();
        assert_ne!(msg, "unknown hdon status code", "{s:?}");
        want.push(format!("status {} {msg}", s as i32));
    }
    // 16 bytes of zeros are no model; NULL models, targets and teams.
    want.push(format!("model_open {}", Status::Format as i32));
    want.push("model_getters 0".into());
    for f in [
        "generate",
        "generate_batch",
        "eval",
        "eval_batch",
        "eval_on",
    ] {
        want.push(format!("{f} {}", Status::Null as i32));
    }
    want.push(format!("eval_batch_on {}", Status::Null as i32));
    want.push(format!("generate_on {}", Status::Null as i32));
    // The header's thread limit is the runtime's, and a count above it (or -1) gives NULL.
    want.push(format!("max_threads {} 1", hdon_runtime::Team::MAX_THREADS));
    want.push("team_new_minus_one 1".into());
    for (cxx, name) in [(false, "abi_c"), (true, "abi_cpp")] {
        let exe = compile(&dir, "tests/c/abi.c", name, cxx);
        let run = Command::new(&exe).output().unwrap();
        assert!(run.status.success(), "{name}: {:?}", run.status);
        let got = String::from_utf8(run.stdout).unwrap();
        assert_eq!(got.lines().collect::<Vec<_>>(), want, "{name}");
    }
}
