//! Runtime API contracts: exact workspace length, workspace records, error cases, the
//! non-finite policy, and the std helpers: eval_par and eval_on (teams) bit-identical to serial, generate_batch
//! bit-identical to serial or (HyperDeepONet hypernetworks in lanes) equal to rounding and independent
//! of the batch and the thread count.

use std::time::Duration;

use hdon_format::AlignedBytes;
use hdon_runtime::{workspace_len_for, Error, Model, NonFinite, Options, Team};
use hdon_tests::build::{builder, to_hdon};
use hdon_tests::random::{random_model, Rng, Spec, WeightType};

use hdon_tests::FAMILIES;

fn file(spec: &Spec) -> AlignedBytes {
    AlignedBytes::from_slice(&to_hdon(&random_model(spec), spec.weights))
}

#[test]
fn workspace_len_is_exact() {
    for fam in FAMILIES {
        let spec = Spec::small(fam);
        let bytes = file(&spec);
        let model = Model::from_bytes(&bytes).unwrap();
        let n = model.workspace_len(1);
        assert_eq!(n, workspace_len_for(model.file().arch(), 1));
        assert_eq!(model.workspace_len(5), 5 * n);
        assert_eq!(model.file().arch().workspace_len(1), Some(n as u64));
        let sensors = vec![0.25f32; spec.m];
        let mut short = vec![0.0f32; n - 1];
        assert_eq!(
            model.generate(&sensors, &mut short).err(),
            Some(Error::WorkspaceTooShort {
                needed: n,
                found: n - 1
            }),
            "{fam}"
        );
        let mut exact = vec![0.0f32; n];
        let mut t = model.generate(&sensors, &mut exact).unwrap();
        let points = vec![0.5f32; 3 * spec.d_y];
        let mut out = vec![0.0f32; 3 * spec.d_out];
        t.eval(&points, &mut out).unwrap();
        assert!(out.iter().all(|v| v.is_finite()));
    }
}

#[test]
fn wrong_workspace_record_is_rejected() {
    for fam in FAMILIES {
        let spec = Spec::small(fam);
        let pm = random_model(&spec);
        let mut b = builder(&pm, spec.weights);
        let good = {
            let bytes = AlignedBytes::from_slice(&to_hdon(&pm, spec.weights));
            Model::from_bytes(&bytes).unwrap().workspace_len(2)
        };
        b.set_workspace(&[(2, good as u64 + 1)]);
        let bytes = AlignedBytes::from_slice(&b.to_bytes().unwrap());
        assert_eq!(
            Model::from_bytes(&bytes).err(),
            Some(Error::WorkspaceMismatch {
                batch: 2,
                recorded: good as u64 + 1,
                computed: good as u64
            }),
            "{fam}"
        );
    }
}

#[test]
fn argument_errors() {
    let spec = Spec::small("hyper");
    let bytes = file(&spec);
    let model = Model::from_bytes(&bytes).unwrap();
    let mut ws = vec![0.0f32; model.workspace_len(1)];
    let m = spec.m;
    assert_eq!(
        model.generate(&vec![0.0; m + 1], &mut ws).err(),
        Some(Error::SensorCount {
            expected: m,
            found: m + 1
        })
    );
    let mut bad = vec![0.0f32; m];
    bad[3] = f32::NAN;
    bad[5] = f32::INFINITY;
    assert_eq!(
        model.generate(&bad, &mut ws).err(),
        Some(Error::NonFiniteSensor { index: 3 })
    );
    let mut t = model.generate(&vec![0.1; m], &mut ws).unwrap();
    let d_y = spec.d_y;
    let mut out = vec![0.0f32; 4 * spec.d_out];
    assert_eq!(
        t.eval(&vec![0.0; 4 * d_y + 1], &mut out).err(),
        Some(Error::PointDim {
            d_y,
            found: 4 * d_y + 1
        })
    );
    assert_eq!(
        t.eval(&vec![0.0; 5 * d_y], &mut out).err(),
        Some(Error::OutputLen {
            needed: 5 * spec.d_out,
            found: 4 * spec.d_out
        })
    );
    let mut pts = vec![0.0f32; 4 * d_y];
    pts[2] = f32::NEG_INFINITY;
    assert_eq!(
        t.eval(&pts, &mut out).err(),
        Some(Error::NonFinitePoint { index: 2 })
    );
    // A longer `out` is fine; only the first n * d_out values are written.
    let mut long = vec![7.0f32; 4 * spec.d_out + 3];
    t.eval(&vec![0.0; 4 * d_y], &mut long).unwrap();
    assert_eq!(&long[4 * spec.d_out..], &[7.0, 7.0, 7.0]);
}

#[test]
fn nonfinite_propagate_option() {
    let spec = Spec::small("deeponet");
    let bytes = file(&spec);
    let opts = Options {
        verify_checksums: true,
        nonfinite: NonFinite::Propagate,
    };
    let model = Model::from_bytes_with(&bytes, opts).unwrap();
    let mut ws = vec![0.0f32; model.workspace_len(1)];
    let mut t = model.generate(&vec![0.1; spec.m], &mut ws).unwrap();
    let mut pts = vec![0.25f32; 2 * spec.d_y];
    pts[0] = f32::NAN;
    let mut out = vec![0.0f32; 2 * spec.d_out];
    // No error; the NaN point's outputs are NaN (the small spec's nets are tanh), the other
    // point is computed as usual.
    t.eval(&pts, &mut out).unwrap();
    assert!(out[..spec.d_out].iter().all(|v| v.is_nan()), "{out:?}");
    let mut alone = vec![0.0f32; spec.d_out];
    t.eval(&pts[spec.d_y..], &mut alone).unwrap();
    assert_eq!(&out[spec.d_out..], &alone[..], "other points unaffected");
    // A NaN sensor reaches every coefficient, hence every output.
    let mut sensors = vec![0.1f32; spec.m];
    sensors[0] = f32::NAN;
    let mut t = model.generate(&sensors, &mut ws).unwrap();
    let mut out = vec![0.0f32; 2 * spec.d_out];
    t.eval(&[0.25f32; 2 * 4][..2 * spec.d_y], &mut out).unwrap();
    assert!(out.iter().all(|v| v.is_nan()), "{out:?}");
}

#[test]
fn misaligned_and_corrupt_bytes_are_errors() {
    let spec = Spec::small("nomad");
    let raw = to_hdon(&random_model(&spec), spec.weights);
    // Misaligned by one byte.
    let mut buf = AlignedBytes::from_slice(&[&[0u8][..], &raw[..]].concat());
    let shifted = &buf[1..];
    assert!(matches!(Model::from_bytes(shifted), Err(Error::Format(_))));
    // A flipped byte in the middle: checksum error, or accepted without checksums.
    let mut bad = raw.clone();
    let k = bad.len() - 70;
    bad[k] ^= 0x40;
    buf = AlignedBytes::from_slice(&bad);
    assert!(matches!(Model::from_bytes(&buf), Err(Error::Format(_))));
    // Truncated.
    buf = AlignedBytes::from_slice(&raw[..raw.len() / 2]);
    assert!(matches!(Model::from_bytes(&buf), Err(Error::Format(_))));
}

/// Teams (`eval_on`, `generate_batch_on`) of 1, 2 and 8 threads whose workers park at once
/// or poll for 1 ms.
fn teams() -> Vec<Team> {
    [1, 2, 8]
        .into_iter()
        .flat_map(|t| [0, 1].map(|ms| Team::new(t, Duration::from_millis(ms)).unwrap()))
        .collect()
}

/// No pool (calls from outside any pool: the global pool's threads and the caller share the
/// work), then rayon pools of 1, 2 and 8 threads.
fn pools() -> Vec<Option<rayon::ThreadPool>> {
    std::iter::once(None)
        .chain([1, 2, 8].map(|t| {
            Some(
                rayon::ThreadPoolBuilder::new()
                    .num_threads(t)
                    .build()
                    .unwrap(),
            )
        }))
        .collect()
}

#[test]
fn eval_par_is_bit_identical_to_eval() {
    // From outside any pool (the global pool's threads and the caller share the chunks),
    // inside pools of 1, 2 and 8 threads, and on teams; point counts around the 512- and
    // 2,048-point chunks.
    let pools = pools();
    let teams = teams();
    // A target the AMX tiles take where the CPU has them (tanh hidden layers of 64 inputs, one
    // output), whose chunks are 2,048 points.
    let mut wide = Spec::small("hyper");
    (wide.target_hidden, wide.d_out) = (vec![64, 64], 1);
    let specs = FAMILIES.iter().map(|f| Spec::small(f)).chain([wide]);
    for spec in specs {
        let fam = spec.family;
        let bytes = file(&spec);
        let model = Model::from_bytes(&bytes).unwrap();
        let mut rng = Rng(5);
        let mut ws = vec![0.0f32; model.workspace_len(1)];
        let sensors = rng.vec_f32(spec.m, -1.0, 1.0);
        let mut t = model.generate(&sensors, &mut ws).unwrap();
        if spec.target_hidden == [64, 64] {
            // Where tiles run, this target is on them (so the test covers their chunks).
            let tiles = hdon_kernels::amx_enabled()
                && hdon_kernels::active_path() == hdon_kernels::Path::Avx512;
            assert_eq!(hdon_kernels::mlp_uses_amx(t.layers()), tiles);
        }
        for n in [0usize, 1, 65, 512, 513, 1000, 1536, 4099, 9000] {
            let pts = rng.vec_f32(n * spec.d_y, -1.0, 1.0);
            let mut a = vec![0.0f32; n * spec.d_out];
            t.eval(&pts, &mut a).unwrap();
            for pool in &pools {
                let mut b = vec![1.0f32; n * spec.d_out];
                match pool {
                    None => t.eval_par(&pts, &mut b).unwrap(),
                    Some(p) => p.install(|| t.eval_par(&pts, &mut b)).unwrap(),
                }
                assert!(
                    a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()),
                    "{fam} n {n} pool {:?}",
                    pool.as_ref().map(|p| p.current_num_threads())
                );
            }
            for team in &teams {
                let mut b = vec![1.0f32; n * spec.d_out];
                t.eval_on(team, &pts, &mut b).unwrap();
                assert_eq!(bits(&a), bits(&b), "{fam} n {n} {team:?}");
            }
        }
    }
}

#[test]
fn eval_par_reports_the_first_non_finite_point_like_eval() {
    // The scan runs inside the parallel tasks: bad values in several tasks' ranges must still
    // give the index of the first, as the serial `eval` does.
    let spec = Spec::small("hyper");
    let bytes = file(&spec);
    let model = Model::from_bytes(&bytes).unwrap();
    let mut rng = Rng(6);
    let mut ws = vec![0.0f32; model.workspace_len(1)];
    let sensors = rng.vec_f32(spec.m, -1.0, 1.0);
    let mut t = model.generate(&sensors, &mut ws).unwrap();
    let n = 5000;
    let len = n * spec.d_y;
    let clean = rng.vec_f32(len, -1.0, 1.0);
    let mut out = vec![0.0f32; n * spec.d_out];
    // 10 chunks of 512 points (1024 values). 8 threads (on 2 cores too) claim them in turn,
    // so the chunks of later bad values often fail before the first one's (scheduling varies
    // from run to run: each case runs 50 times).
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(8)
        .build()
        .unwrap();
    let team = Team::new(8, Duration::from_millis(1)).unwrap();
    for bad in [
        vec![7],
        vec![len - 1],
        vec![190, len - 1],
        vec![len / 2, 9, len - 3],
        vec![2500, 3000, 4000],
        // The last value of a chunk and the first of the next, claimed by another thread.
        vec![1023, 1025],
        vec![2047, 2049, 5121],
    ] {
        let mut pts = clean.clone();
        for &i in &bad {
            pts[i] = if i % 2 == 0 { f32::NAN } else { f32::INFINITY };
        }
        let serial = t.eval(&pts, &mut out).err();
        let first = *bad.iter().min().unwrap();
        assert_eq!(serial, Some(Error::NonFinitePoint { index: first }));
        for _ in 0..50 {
            let par = pool.install(|| t.eval_par(&pts, &mut out).err());
            assert_eq!(par, serial, "bad {bad:?}");
            let on_team = t.eval_on(&team, &pts, &mut out).err();
            assert_eq!(on_team, serial, "bad {bad:?} {team:?}");
        }
    }
    pool.install(|| t.eval_par(&clean, &mut out)).unwrap();
    t.eval_on(&team, &clean, &mut out).unwrap();
}

/// Evaluates function `i` of a batch at `pts`.
fn eval_batch(
    tb: &mut hdon_runtime::TargetBatch<'_>,
    i: usize,
    pts: &[f32],
    d_out: usize,
) -> Vec<f32> {
    let mut out = vec![0.0f32; pts.len() / 2 * d_out];
    tb.eval(i, pts, &mut out).unwrap();
    out
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

#[test]
fn generate_batch_matches_generate() {
    let teams = teams();
    // 2 functions: gemv_batch, bit-identical to the serial generate, for every weight type.
    // 5 and 13: groups of 4, 8 or 13 by the thread count; 37: groups of 16-37, 4 + 1. From 4
    // functions on, HyperDeepONet runs its hypernetwork in lanes (gemm; int8 weights widened
    // a block of rows at a time): equal to the serial generate to rounding, and the same bits
    // whatever the batch around a function and the thread count. Other families: serial code.
    for (fam, weights, batch) in FAMILIES.iter().flat_map(|&f| {
        [
            (f, WeightType::F32, 2),
            (f, WeightType::I8, 2),
            (f, WeightType::F32, 5),
            (f, WeightType::I8, 5),
            (f, WeightType::F32, 13),
            (f, WeightType::I8, 13),
            (f, WeightType::F32, 37),
            (f, WeightType::I8, 37),
            (f, WeightType::F16, 5),
            (f, WeightType::Bf16, 13),
        ]
    }) {
        let mut spec = Spec::small(fam);
        spec.weights = weights;
        if batch == 37 {
            // Rows of at least 16 columns: gemv_batch's wide blocks need a full vector.
            (spec.m, spec.gen_hidden) = (40, vec![20, 17]);
        }
        assert_eq!(spec.d_y, 2);
        let bytes = file(&spec);
        let model = Model::from_bytes(&bytes).unwrap();
        let lanes = fam == "hyper" && batch >= 4;
        // int8 in lanes: widened weights (`scale * q`), no W8A16 quantization of the
        // activations as in the serial generate, whose input rounding is <= max|x| / 65534.
        // f16 / bf16 widen exactly: only the summation order differs, as for f32.
        let tol = if weights == WeightType::F32 {
            1e-5
        } else {
            1e-4
        };
        let mut rng = Rng(9);
        let sensors = rng.vec_f32(batch * spec.m, -1.0, 1.0);
        let pts = rng.vec_f32(40 * spec.d_y, -1.0, 1.0);
        let mut ws_batch = vec![0.0f32; model.workspace_len(batch)];
        let mut tb = model.generate_batch(&sensors, &mut ws_batch).unwrap();
        assert_eq!(tb.len(), batch);
        let batched: Vec<Vec<f32>> = (0..batch)
            .map(|i| eval_batch(&mut tb, i, &pts, spec.d_out))
            .collect();
        // On a team: the bits of rayon's generate_batch, whatever the thread count.
        for team in &teams {
            let mut ws_team = vec![0.0f32; model.workspace_len(batch)];
            let mut tt = model
                .generate_batch_on(team, &sensors, &mut ws_team)
                .unwrap();
            for (i, want) in batched.iter().enumerate() {
                let got = eval_batch(&mut tt, i, &pts, spec.d_out);
                assert_eq!(bits(&got), bits(want), "{fam} batch {batch} {team:?}");
            }
        }
        let mut ws = vec![0.0f32; model.workspace_len(1)];
        for (i, got) in batched.iter().enumerate() {
            let mut serial = vec![0.0f32; 40 * spec.d_out];
            model
                .generate(&sensors[i * spec.m..(i + 1) * spec.m], &mut ws)
                .unwrap()
                .eval(&pts, &mut serial)
                .unwrap();
            let what = format!("{fam} {weights:?} batch {batch} function {i}");
            if lanes {
                for (a, b) in got.iter().zip(&serial) {
                    assert!((a - b).abs() <= tol * (1.0 + b.abs()), "{what}: {a} vs {b}");
                }
            } else {
                assert_eq!(bits(got), bits(&serial), "{what}");
            }
        }
        if lanes {
            // Functions 1..=4 alone (a group of 4 in 16 lanes), and the whole batch on one
            // thread (groups of 64), give the bits of the batch above.
            let mut ws4 = vec![0.0f32; model.workspace_len(4)];
            let mut t4 = model
                .generate_batch(&sensors[spec.m..5 * spec.m], &mut ws4)
                .unwrap();
            for i in 0..4 {
                let got = eval_batch(&mut t4, i, &pts, spec.d_out);
                assert_eq!(
                    bits(&got),
                    bits(&batched[i + 1]),
                    "{fam} batch {batch}: 4 of them"
                );
            }
            let one = rayon::ThreadPoolBuilder::new()
                .num_threads(1)
                .build()
                .unwrap();
            one.install(|| {
                let mut ws1 = vec![0.0f32; model.workspace_len(batch)];
                let mut t1 = model.generate_batch(&sensors, &mut ws1).unwrap();
                for (i, want) in batched.iter().enumerate() {
                    let got = eval_batch(&mut t1, i, &pts, spec.d_out);
                    assert_eq!(bits(&got), bits(want), "{fam} batch {batch} on 1 thread");
                }
            });
        }
        assert_eq!(
            tb.target(batch).err(),
            Some(Error::BatchIndex {
                index: batch,
                len: batch
            })
        );
        let mut short = vec![0.0f32; model.workspace_len(batch) - 1];
        assert!(matches!(
            model.generate_batch(&sensors, &mut short),
            Err(Error::WorkspaceTooShort { .. })
        ));
        let m = model.n_sensors();
        let e = model
            .generate_batch(&sensors[1..], &mut ws_batch)
            .unwrap_err();
        assert_eq!(
            e,
            Error::SensorCount {
                expected: m,
                found: sensors.len() - 1
            }
        );
        if sensors.len() - 1 > m {
            assert!(
                e.to_string().ends_with("(not a whole number of functions)"),
                "{e}"
            );
        }
        // A single function's slice of two functions' values is not called fractional.
        if sensors.len() >= 2 * m {
            let e = model
                .generate(&sensors[..2 * m], &mut ws_batch)
                .unwrap_err();
            assert_eq!(
                e.to_string(),
                format!(
                    "sensors: expected {m} values per input function, found a slice of {}",
                    2 * m
                )
            );
        }
        assert!(matches!(
            model.generate_batch_on(&teams[2], &sensors, &mut short),
            Err(Error::WorkspaceTooShort { .. })
        ));
    }
}

/// `generate_par` (rayon) and `generate_on` (teams) give the bits of `generate` for every
/// weight type and layout, from outside any pool and inside pools of 1, 2 and 8 threads: on a
/// HyperDeepONet whose last hypernetwork layer (9,794 x 128) is large enough to be split
/// between threads with every weight type (int8: 1.25 MB), and on the small models of every
/// family (not split: the serial code).
#[test]
fn generate_par_is_bit_identical_to_generate() {
    use hdon_tools::quantize::WeightDtype;
    let pools = pools();
    let teams = teams();
    let mut big = Spec::small("hyper");
    (big.m, big.gen_hidden, big.target_hidden) = (30, vec![128], vec![96, 96]);
    let f32_file = file(&big);
    let parsed = hdon_format::ModelFile::parse(&f32_file).unwrap();
    let mut files: Vec<(String, AlignedBytes)> = [
        WeightDtype::F32Padded,
        WeightDtype::F16,
        WeightDtype::Bf16,
        WeightDtype::Int8,
        WeightDtype::Int8Blocked,
    ]
    .into_iter()
    .map(|d| {
        let bytes = hdon_tools::export::requantize(&parsed, d).unwrap().bytes;
        (
            format!("big {}", d.name()),
            AlignedBytes::from_slice(&bytes),
        )
    })
    .collect();
    files.push(("big f32".into(), f32_file.clone()));
    for fam in FAMILIES {
        files.push((format!("small {fam}"), file(&Spec::small(fam))));
    }
    let mut rng = Rng(11);
    for (name, bytes) in &files {
        let model = Model::from_bytes(bytes).unwrap();
        let m = model.n_sensors();
        let sensors = rng.vec_f32(m, -1.0, 1.0);
        let pts = rng.vec_f32(50 * model.d_y(), -1.0, 1.0);
        let len = model.workspace_len(1);
        let eval = |t: &mut hdon_runtime::Target<'_>| {
            let mut out = vec![0.0f32; 50 * model.d_out()];
            t.eval(&pts, &mut out).unwrap();
            bits(&out)
        };
        let mut ws = vec![0.0f32; len];
        model.generate(&sensors, &mut ws).unwrap();
        // The workspace as generate leaves it (before an eval writes its tile scratch, whose
        // place depends on the buffer's address).
        let want_ws = bits(&ws);
        let want = eval(&mut model.generate(&sensors, &mut ws).unwrap());
        for pool in &pools {
            // Zeroed as `ws`: the whole workspace (theta and the scratch generate used) must
            // come out the same, not only the outputs.
            let mut ws_par = vec![0.0f32; len];
            let threads = pool.as_ref().map(|p| p.current_num_threads());
            // The workspace as generate_par leaves it, then the outputs of its target.
            let mut run = || {
                model.generate_par(&sensors, &mut ws_par).unwrap();
                let got_ws = bits(&ws_par);
                (
                    eval(&mut model.generate_par(&sensors, &mut ws_par).unwrap()),
                    got_ws,
                )
            };
            let (got, got_ws) = match pool {
                None => run(),
                Some(p) => p.install(run),
            };
            assert!(got_ws == want_ws, "{name} pool {threads:?}: workspace");
            assert_eq!(got, want, "{name} pool {threads:?}");
        }
        for team in &teams {
            let mut ws_team = vec![f32::NAN; len];
            let got = eval(&mut model.generate_on(team, &sensors, &mut ws_team).unwrap());
            assert_eq!(got, want, "{name} {team:?}");
        }
        let mut short = vec![0.0f32; len - 1];
        assert!(matches!(
            model.generate_par(&sensors, &mut short),
            Err(Error::WorkspaceTooShort { .. })
        ));
        assert!(matches!(
            model.generate_on(&teams[2], &sensors[1..], &mut ws),
            Err(Error::SensorCount { .. })
        ));
        let mut bad = sensors.clone();
        bad[m / 2] = f32::NAN;
        assert_eq!(
            model.generate_par(&bad, &mut ws).err(),
            Some(Error::NonFiniteSensor { index: m / 2 })
        );
    }
}

/// `TargetBatch::eval_all_par` (rayon) and `eval_all_on` (teams) write every function's block
/// with the bits of its serial `eval`: batches below and above 4 functions per thread (points
/// split per function, or whole functions per thread), point counts around the 512-point
/// chunks, every family; and report bad input before writing anything.
#[test]
fn eval_all_par_gives_each_function_eval_bits() {
    let pools = pools();
    let teams = teams();
    let mut rng = Rng(13);
    for fam in FAMILIES {
        let spec = Spec::small(fam);
        let bytes = file(&spec);
        let model = Model::from_bytes(&bytes).unwrap();
        for batch in [1usize, 3, 8, 37] {
            let sensors = rng.vec_f32(batch * spec.m, -1.0, 1.0);
            let mut ws = vec![0.0f32; model.workspace_len(batch)];
            let mut tb = model.generate_batch(&sensors, &mut ws).unwrap();
            for n in [0usize, 1, 65, 513, 1000] {
                let pts = rng.vec_f32(n * spec.d_y, -1.0, 1.0);
                let per = n * spec.d_out;
                let mut want = vec![0.0f32; batch * per];
                for (i, o) in want.chunks_exact_mut(per.max(1)).enumerate().take(batch) {
                    tb.eval(i, &pts, o).unwrap();
                }
                let what = |on: String| format!("{fam} batch {batch} n {n} {on}");
                for pool in &pools {
                    // One value more than needed: it must stay untouched.
                    let mut got = vec![7.0f32; batch * per + 1];
                    match pool {
                        None => tb.eval_all_par(&pts, &mut got).unwrap(),
                        Some(p) => p.install(|| tb.eval_all_par(&pts, &mut got)).unwrap(),
                    }
                    let on = format!("pool {:?}", pool.as_ref().map(|p| p.current_num_threads()));
                    assert_eq!(bits(&got[..batch * per]), bits(&want), "{}", what(on));
                    assert_eq!(got[batch * per], 7.0);
                }
                for team in &teams {
                    let mut got = vec![7.0f32; batch * per];
                    tb.eval_all_on(team, &pts, &mut got).unwrap();
                    assert_eq!(bits(&got), bits(&want), "{}", what(format!("{team:?}")));
                }
            }
            // Bad input: nothing written.
            let mut pts = rng.vec_f32(600 * spec.d_y, -1.0, 1.0);
            let mut out = vec![7.0f32; batch * 600 * spec.d_out];
            assert_eq!(
                tb.eval_all_par(&pts[1..], &mut out).err(),
                Some(Error::PointDim {
                    d_y: spec.d_y,
                    found: pts.len() - 1
                })
            );
            assert_eq!(
                tb.eval_all_on(&teams[2], &pts, &mut out[1..]).err(),
                Some(Error::OutputLen {
                    needed: out.len(),
                    found: out.len() - 1
                })
            );
            pts[999] = f32::NAN;
            pts[555] = f32::INFINITY;
            assert_eq!(
                tb.eval_all_par(&pts, &mut out).err(),
                Some(Error::NonFinitePoint { index: 555 })
            );
            assert!(
                out.iter().all(|&v| v == 7.0),
                "{fam} batch {batch}: written on error"
            );
        }
    }
}

#[test]
fn flops_are_counted() {
    let spec = Spec::small("hyper");
    let bytes = file(&spec);
    let model = Model::from_bytes(&bytes).unwrap();
    // Target [2, 7, 5, 2]: 2 * (2*7 + 7*5 + 5*2) MACs + (7 + 5 + 2) bias adds.
    assert_eq!(model.flops_per_point(), 2 * (14 + 35 + 10) + 14);
    // Hyper [12, 10, 9, n_theta]: n_theta = 7*3 + 5*8 + 2*6 = 73.
    let nt = 73u64;
    assert_eq!(
        model.flops_generate(),
        2 * (12 * 10 + 10 * 9 + 9 * nt) + 10 + 9 + nt
    );
}
