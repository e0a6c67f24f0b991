//! `hdon_eval_on`: the same bits as `hdon_eval` for every family, on teams of 1-3 threads,
//! at point counts below, at and above the 512-point chunks; its errors; `hdon_team_free`.
//! `hdon_generate_on`: the workspace `hdon_generate` writes, bit for bit, for a HyperDeepONet
//! whose last layer it splits (f32 and int8) and for every family's small model; its errors.
//! `hdon_eval_batch_on`: every block the bits of its target's `hdon_eval`, with whole targets
//! per thread and with each target's points split; its errors.

// The team calls are in the std library (default features) only; the no_std library is
// tested on its target (examples/firmware_check.sh).
#![cfg(feature = "std")]

use hdon::{
    hdon_eval, hdon_eval_batch_on, hdon_eval_on, hdon_generate, hdon_generate_batch,
    hdon_generate_on, hdon_model_open, hdon_model_workspace_len, hdon_team_free, hdon_team_new,
    HdonModel, HdonTarget, Status,
};
use hdon_format::AlignedBytes;
use hdon_tests::build::to_hdon;
use hdon_tests::random::{random_model, Rng, Spec, WeightType};
use hdon_tests::FAMILIES;

/// Zeroed storage for an opaque C struct (the C caller's `hdon_model m;`).
fn zeroed<T>() -> Box<T> {
    // SAFETY: HdonModel / HdonTarget are plain arrays of u64; all-zero is a valid value.
    unsafe { Box::new(core::mem::zeroed()) }
}

#[test]
fn eval_on_a_team_gives_eval_bits_for_every_family() {
    let teams = [(1, 0), (2, 0), (2, 1000), (3, 1000)].map(|(t, us)| hdon_team_new(t, us));
    assert!(teams.iter().all(|t| !t.is_null()));
    for fam in FAMILIES {
        let spec = Spec::small(fam);
        let bytes = AlignedBytes::from_slice(&to_hdon(&random_model(&spec), WeightType::F32));
        let mut model = zeroed::<HdonModel>();
        let mut target = zeroed::<HdonTarget>();
        let mut rng = Rng(11);
        let sensors = rng.vec_f32(spec.m, -1.0, 1.0);
        // SAFETY: valid pointers and lengths; `bytes` and `ws` outlive the model and target.
        let mut ws = vec![
            0.0f32;
            unsafe {
                assert_eq!(
                    hdon_model_open(bytes.as_ptr().cast(), bytes.len(), 1, &mut *model),
                    0
                );
                hdon_model_workspace_len(&*model, 1)
            }
        ];
        // SAFETY: as above.
        let rc = unsafe {
            hdon_generate(
                &*model,
                sensors.as_ptr(),
                spec.m,
                ws.as_mut_ptr(),
                ws.len(),
                &mut *target,
            )
        };
        assert_eq!(rc, Status::Ok as i32, "{fam}");
        for n in [0usize, 5, 512, 513, 2000] {
            let points = rng.vec_f32(n * spec.d_y, -1.0, 1.0);
            let len = n * spec.d_out;
            let mut want = vec![0.0f32; len];
            // SAFETY: lengths as declared.
            let rc = unsafe { hdon_eval(&mut *target, points.as_ptr(), n, want.as_mut_ptr(), len) };
            assert_eq!(rc, Status::Ok as i32, "{fam} n {n}");
            for &team in &teams {
                let mut got = vec![f32::NAN; len];
                // SAFETY: lengths as declared; `team` is live.
                let rc = unsafe {
                    hdon_eval_on(
                        team,
                        &mut *target,
                        points.as_ptr(),
                        n,
                        got.as_mut_ptr(),
                        len,
                    )
                };
                assert_eq!(rc, Status::Ok as i32, "{fam} n {n}");
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&got), bits(&want), "{fam} n {n}");
            }
            if n > 0 {
                // One value short: the status hdon_eval gives.
                let mut short = vec![0.0f32; len - 1];
                // SAFETY: lengths as declared.
                let (a, b) = unsafe {
                    (
                        hdon_eval(
                            &mut *target,
                            points.as_ptr(),
                            n,
                            short.as_mut_ptr(),
                            len - 1,
                        ),
                        hdon_eval_on(
                            teams[1],
                            &mut *target,
                            points.as_ptr(),
                            n,
                            short.as_mut_ptr(),
                            len - 1,
                        ),
                    )
                };
                assert_ne!(a, Status::Ok as i32, "{fam} n {n}");
                assert_eq!(a, b, "{fam} n {n}");
            }
        }
        // A NULL team, and a NULL target on a team.
        let mut out = vec![0.0f32; spec.d_out];
        let p = vec![0.5f32; spec.d_y];
        // SAFETY: NULL pointers are what is tested; the rest is valid.
        unsafe {
            let null_team = hdon_eval_on(
                core::ptr::null(),
                &mut *target,
                p.as_ptr(),
                1,
                out.as_mut_ptr(),
                1,
            );
            let null_target = hdon_eval_on(
                teams[1],
                core::ptr::null_mut(),
                p.as_ptr(),
                1,
                out.as_mut_ptr(),
                1,
            );
            assert_eq!(null_team, Status::Null as i32);
            assert_eq!(null_target, Status::Null as i32);
        }
    }
    // SAFETY: each team from hdon_team_new, freed once; NULL is allowed.
    unsafe {
        for team in teams {
            hdon_team_free(team);
        }
        hdon_team_free(core::ptr::null_mut());
    }
}

#[test]
fn generate_on_a_team_gives_generate_bits() {
    let teams = [(1, 0), (2, 0), (2, 1000), (3, 1000)].map(|(t, us)| hdon_team_new(t, us));
    assert!(teams.iter().all(|t| !t.is_null()));
    // A hypernetwork whose last layer (9,794 x 128) is split with f32 and with int8 weights,
    // and every family's small model (run on the calling thread).
    let mut big = Spec::small("hyper");
    (big.m, big.gen_hidden, big.target_hidden) = (30, vec![128], vec![96, 96]);
    let mut specs = vec![(big.clone(), WeightType::F32), (big, WeightType::I8)];
    specs.extend(FAMILIES.map(|f| (Spec::small(f), WeightType::F32)));
    for (mut spec, weights) in specs {
        spec.weights = weights;
        let what = format!("{} {weights:?} m {}", spec.family, spec.m);
        let bytes = AlignedBytes::from_slice(&to_hdon(&random_model(&spec), weights));
        let mut model = zeroed::<HdonModel>();
        let mut target = zeroed::<HdonTarget>();
        let sensors = Rng(12).vec_f32(spec.m, -1.0, 1.0);
        // SAFETY: valid pointers and lengths; `bytes` outlives the model.
        let len = unsafe {
            assert_eq!(
                hdon_model_open(bytes.as_ptr().cast(), bytes.len(), 1, &mut *model),
                0
            );
            hdon_model_workspace_len(&*model, 1)
        };
        let mut want = vec![0.0f32; len];
        // SAFETY: lengths as declared; the workspace outlives the target.
        let rc = unsafe {
            hdon_generate(
                &*model,
                sensors.as_ptr(),
                spec.m,
                want.as_mut_ptr(),
                len,
                &mut *target,
            )
        };
        assert_eq!(rc, Status::Ok as i32, "{what}");
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        // hdon_generate_on with the first `m` sensors and the first `ws_len` floats of `ws`.
        let on = |team, m: usize, ws: &mut [f32], ws_len: usize, out: *mut HdonTarget| {
            assert!(m <= sensors.len() && ws_len <= ws.len());
            // SAFETY: `m` sensors and `ws_len` floats are there (checked); `model` is open;
            // `team` and `out` are live or NULL, which is what some calls test.
            unsafe {
                hdon_generate_on(
                    team,
                    &*model,
                    sensors.as_ptr(),
                    m,
                    ws.as_mut_ptr(),
                    ws_len,
                    out,
                )
            }
        };
        for &team in &teams {
            let mut got = vec![0.0f32; len];
            let rc = on(team, spec.m, &mut got, len, &mut *target);
            assert_eq!(rc, Status::Ok as i32, "{what}");
            assert!(bits(&got) == bits(&want), "{what}: workspace differs");
            // A workspace one float short and one sensor short: hdon_generate's statuses.
            assert_eq!(
                on(team, spec.m, &mut got, len - 1, &mut *target),
                Status::WorkspaceTooShort as i32,
                "{what}"
            );
            assert_eq!(
                on(team, spec.m - 1, &mut got, len, &mut *target),
                Status::SensorCount as i32,
                "{what}"
            );
        }
        let mut ws = vec![0.0f32; len];
        let null_team = on(core::ptr::null(), spec.m, &mut ws, len, &mut *target);
        let null_out = on(teams[1], spec.m, &mut ws, len, core::ptr::null_mut());
        assert_eq!(null_team, Status::Null as i32);
        assert_eq!(null_out, Status::Null as i32);
    }
    // SAFETY: each team from hdon_team_new, freed once.
    unsafe {
        for team in teams {
            hdon_team_free(team);
        }
    }
}

#[test]
fn eval_batch_on_a_team_gives_each_target_eval_bits() {
    let teams = [(1, 0), (2, 0), (2, 1000), (3, 1000)].map(|(t, us)| hdon_team_new(t, us));
    assert!(teams.iter().all(|t| !t.is_null()));
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    for fam in FAMILIES {
        let spec = Spec::small(fam);
        let bytes = AlignedBytes::from_slice(&to_hdon(&random_model(&spec), WeightType::F32));
        let mut model = zeroed::<HdonModel>();
        // SAFETY: valid pointers; `bytes` outlives the model.
        assert_eq!(
            unsafe { hdon_model_open(bytes.as_ptr().cast(), bytes.len(), 1, &mut *model) },
            0
        );
        let mut rng = Rng(14);
        // 3 targets: fewer than 4 per thread (points split); 37: whole targets per thread.
        for batch in [3usize, 37] {
            let sensors = rng.vec_f32(batch * spec.m, -1.0, 1.0);
            // SAFETY: the model is open.
            let ws_len = unsafe { hdon_model_workspace_len(&*model, batch) };
            let mut ws = vec![0.0f32; ws_len];
            let mut targets: Vec<HdonTarget> =
                (0..batch).map(|_| *zeroed::<HdonTarget>()).collect();
            // SAFETY: lengths as declared; the workspace outlives the targets.
            let rc = unsafe {
                hdon_generate_batch(
                    &*model,
                    sensors.as_ptr(),
                    batch,
                    spec.m,
                    ws.as_mut_ptr(),
                    ws_len,
                    targets.as_mut_ptr(),
                )
            };
            assert_eq!(rc, Status::Ok as i32);
            for n in [0usize, 5, 513, 1000] {
                let points = rng.vec_f32(n * spec.d_y, -1.0, 1.0);
                let per = n * spec.d_out;
                let mut want = vec![0.0f32; batch * per];
                for (i, t) in targets.iter_mut().enumerate() {
                    let o = &mut want[i * per..(i + 1) * per];
                    // SAFETY: lengths as declared.
                    let rc = unsafe { hdon_eval(t, points.as_ptr(), n, o.as_mut_ptr(), per) };
                    assert_eq!(rc, Status::Ok as i32);
                }
                for &team in &teams {
                    // One value more: it must stay untouched.
                    let mut got = vec![f32::NAN; batch * per + 1];
                    // SAFETY: lengths as declared; `team` is live.
                    let rc = unsafe {
                        hdon_eval_batch_on(
                            team,
                            targets.as_mut_ptr(),
                            batch,
                            points.as_ptr(),
                            n,
                            got.as_mut_ptr(),
                            got.len(),
                        )
                    };
                    assert_eq!(rc, Status::Ok as i32, "{fam} batch {batch} n {n}");
                    assert_eq!(
                        bits(&got[..batch * per]),
                        bits(&want),
                        "{fam} batch {batch} n {n}"
                    );
                    assert!(
                        got[batch * per].is_nan(),
                        "{fam} batch {batch} n {n}: wrote past"
                    );
                }
            }
            // Errors: one value short (nothing written), a NULL team, a rejected point.
            let n = 600;
            let mut points = rng.vec_f32(n * spec.d_y, -1.0, 1.0);
            let need = batch * n * spec.d_out;
            let mut out = vec![-7.0f32; need];
            let call = |team, p: &[f32], o: &mut [f32], len: usize, t: &mut [HdonTarget]| {
                assert!(len <= o.len());
                // SAFETY: `p` holds n * d_y values, `o` at least `len`, `t` batch targets.
                unsafe {
                    hdon_eval_batch_on(
                        team,
                        t.as_mut_ptr(),
                        batch,
                        p.as_ptr(),
                        n,
                        o.as_mut_ptr(),
                        len,
                    )
                }
            };
            assert_eq!(
                call(teams[1], &points, &mut out, need - 1, &mut targets),
                Status::OutputLen as i32
            );
            assert!(
                out.iter().all(|&v| v == -7.0),
                "a refused call wrote output"
            );
            assert_eq!(
                call(core::ptr::null(), &points, &mut out, need, &mut targets),
                Status::Null as i32
            );
            points[2 * spec.d_y + 1] = f32::NAN;
            for &team in &teams {
                assert_eq!(
                    call(team, &points, &mut out, need, &mut targets),
                    Status::NonFinitePoint as i32
                );
            }
            // No targets: nothing to do.
            // SAFETY: batch 0 reads nothing.
            let rc = unsafe {
                hdon_eval_batch_on(
                    teams[1],
                    core::ptr::null_mut(),
                    0,
                    points.as_ptr(),
                    n,
                    out.as_mut_ptr(),
                    0,
                )
            };
            assert_eq!(rc, Status::Ok as i32);
        }
    }
    // SAFETY: each team from hdon_team_new, freed once.
    unsafe {
        for team in teams {
            hdon_team_free(team);
        }
    }
}
