//! The caller's buffers through the C API: a misaligned pointer or a length no buffer can have
//! is a status code (before the fix, `from_raw_parts`' precondition check aborted the process,
//! and without debug assertions it was undefined behaviour); and every call touches exactly
//! the lengths it documents: the bytes past `hdon_model_workspace_len(model, batch)` floats of
//! a workspace, past `n_points * d_out` (times batch) floats of an output and past `batch`
//! targets keep their poison, for every family and every call.

// The team calls are in the std library (default features) only; the no_std library is
// tested on its target (examples/firmware_check.sh).
#![cfg(feature = "std")]

use core::ptr::{null, null_mut};

use hdon::{
    hdon_eval, hdon_eval_batch, hdon_eval_batch_on, hdon_eval_on, hdon_generate,
    hdon_generate_batch, hdon_generate_on, hdon_model_d_y, hdon_model_n_sensors, hdon_model_open,
    hdon_model_workspace_len, hdon_team_free, hdon_team_new, HdonModel, HdonTarget, Status,
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

/// `spec`'s random model as file bytes, opened through the C API (keep the bytes alive as long
/// as the model).
fn open(spec: &Spec) -> (AlignedBytes, Box<HdonModel>) {
    let bytes = AlignedBytes::from_slice(&to_hdon(&random_model(spec), spec.weights));
    let mut model = zeroed::<HdonModel>();
    // SAFETY: valid pointers and length; `bytes` outlives the model (moved out, its heap buffer
    // unchanged).
    let rc = unsafe { hdon_model_open(bytes.as_ptr().cast(), bytes.len(), 1, &mut *model) };
    assert_eq!(rc, Status::Ok as i32, "{}", spec.family);
    (bytes, model)
}

const OK: i32 = Status::Ok as i32;

/// Every float pointer one byte off its alignment, and `hdon_model` / `hdon_target` pointers
/// 4 bytes off theirs: `HDON_ERR_MISALIGNED`, nothing written.
#[test]
fn misaligned_pointers_are_errors() {
    let spec = Spec::small("hyper");
    let (_bytes, model) = open(&spec);
    let (m, d_y, d_out, n) = (spec.m, spec.d_y, spec.d_out, 9usize);
    // SAFETY: the model is open.
    let ws_len = unsafe { hdon_model_workspace_len(&*model, 1) };
    // Byte buffers one longer than needed, read/written at offset 1.
    let sensors = vec![0u8; 4 * m + 1];
    let points = vec![0u8; 4 * n * d_y + 1];
    let mut ws_bytes = vec![0x5au8; 4 * ws_len + 1];
    let mut out_bytes = vec![0x5au8; 4 * n * d_out + 1];
    let odd_sensors = sensors[1..].as_ptr().cast::<f32>();
    let odd_points = points[1..].as_ptr().cast::<f32>();
    let odd_ws = ws_bytes[1..].as_mut_ptr().cast::<f32>();
    let odd_out = out_bytes[1..].as_mut_ptr().cast::<f32>();
    let good_sensors = vec![0.5f32; m];
    let good_points = vec![0.5f32; n * d_y];
    let mut ws = vec![0.0f32; ws_len];
    let mut out = vec![0.0f32; n * d_out];
    let mut target = zeroed::<HdonTarget>();
    let misaligned = Status::Misaligned as i32;
    // SAFETY: every pointer is valid for its length; the misaligned ones are reported before
    // they are read or written.
    unsafe {
        let rc = hdon_generate(
            &*model,
            odd_sensors,
            m,
            ws.as_mut_ptr(),
            ws_len,
            &mut *target,
        );
        assert_eq!(rc, misaligned, "sensors");
        let rc = hdon_generate(
            &*model,
            good_sensors.as_ptr(),
            m,
            odd_ws,
            ws_len,
            &mut *target,
        );
        assert_eq!(rc, misaligned, "workspace");
        assert!(ws_bytes.iter().all(|&b| b == 0x5a), "workspace written");
        let team = hdon_team_new(2, 0);
        assert!(!team.is_null());
        let rc = hdon_generate_on(
            team,
            &*model,
            odd_sensors,
            m,
            ws.as_mut_ptr(),
            ws_len,
            &mut *target,
        );
        assert_eq!(rc, misaligned, "generate_on sensors");
        let rc = hdon_generate_batch(
            &*model,
            odd_sensors,
            1,
            m,
            ws.as_mut_ptr(),
            ws_len,
            &mut *target,
        );
        assert_eq!(rc, misaligned, "generate_batch sensors");

        // The structs: storage of two targets / models, pointers 4 bytes in.
        let mut two_targets = zeroed::<[HdonTarget; 2]>();
        let odd_target = two_targets
            .as_mut_ptr()
            .cast::<u8>()
            .add(4)
            .cast::<HdonTarget>();
        let rc = hdon_generate(
            &*model,
            good_sensors.as_ptr(),
            m,
            ws.as_mut_ptr(),
            ws_len,
            odd_target,
        );
        assert_eq!(rc, misaligned, "out target");
        let rc = hdon_eval(
            odd_target,
            good_points.as_ptr(),
            n,
            out.as_mut_ptr(),
            out.len(),
        );
        assert_eq!(rc, misaligned, "eval target");
        let rc = hdon_eval_batch(
            odd_target,
            1,
            good_points.as_ptr(),
            n,
            out.as_mut_ptr(),
            out.len(),
        );
        assert_eq!(rc, misaligned, "eval_batch targets");
        let mut model_store = zeroed::<[HdonModel; 2]>();
        let odd_model = model_store
            .as_mut_ptr()
            .cast::<u8>()
            .add(4)
            .cast::<HdonModel>();
        let rc = hdon_model_open(_bytes.as_ptr().cast(), _bytes.len(), 1, odd_model);
        assert_eq!(rc, misaligned, "model_open out");
        assert_eq!(hdon_model_n_sensors(odd_model), 0);
        let rc = hdon_generate(
            odd_model,
            good_sensors.as_ptr(),
            m,
            ws.as_mut_ptr(),
            ws_len,
            &mut *target,
        );
        assert_eq!(rc, misaligned, "generate model");

        // A real target, misaligned points and output.
        let rc = hdon_generate(
            &*model,
            good_sensors.as_ptr(),
            m,
            ws.as_mut_ptr(),
            ws_len,
            &mut *target,
        );
        assert_eq!(rc, OK);
        let rc = hdon_eval(&mut *target, odd_points, n, out.as_mut_ptr(), out.len());
        assert_eq!(rc, misaligned, "points");
        let rc = hdon_eval(&mut *target, good_points.as_ptr(), n, odd_out, n * d_out);
        assert_eq!(rc, misaligned, "out");
        let rc = hdon_eval_on(
            team,
            &mut *target,
            good_points.as_ptr(),
            n,
            odd_out,
            n * d_out,
        );
        assert_eq!(rc, misaligned, "eval_on out");
        let rc = hdon_eval_batch(&mut *target, 1, good_points.as_ptr(), n, odd_out, n * d_out);
        assert_eq!(rc, misaligned, "eval_batch out");
        let rc = hdon_eval_batch_on(
            team,
            &mut *target,
            1,
            odd_points,
            n,
            out.as_mut_ptr(),
            out.len(),
        );
        assert_eq!(rc, misaligned, "eval_batch_on points");
        assert!(out_bytes.iter().all(|&b| b == 0x5a), "out written");
        // Length 0: any pointer will do.
        assert_eq!(hdon_eval(&mut *target, odd_points, 0, odd_out, 0), OK);
        hdon_team_free(team);
    }
}

/// A length that no buffer can have (a negative count cast to `size_t`) is the status of that
/// length; an output or workspace length larger than needed, however large, is fine: only the
/// needed part is taken.
#[test]
fn huge_lengths_are_statuses_or_capped() {
    // d_y = 1, so that n_points * d_y does not overflow.
    let mut spec = Spec::small("deeponet");
    spec.d_y = 1;
    let (_bytes, model) = open(&spec);
    let (m, d_out, n) = (spec.m, spec.d_out, 40usize);
    // SAFETY: the model is open.
    let ws_len = unsafe { hdon_model_workspace_len(&*model, 1) };
    // SAFETY: the model is open.
    assert_eq!(unsafe { hdon_model_d_y(&*model) }, 1);
    let sensors = vec![0.25f32; m];
    let points: Vec<f32> = (0..n).map(|i| i as f32 / n as f32).collect();
    let mut ws = vec![0.0f32; ws_len];
    let mut target = zeroed::<HdonTarget>();
    let minus_one = usize::MAX;
    let huge = usize::MAX / 2;
    // SAFETY: valid pointers; the huge lengths are reported (sensors, points) or cut to the
    // needed part (out, workspace), which the buffers hold.
    unsafe {
        for len in [minus_one, huge] {
            let rc = hdon_generate(
                &*model,
                sensors.as_ptr(),
                len,
                ws.as_mut_ptr(),
                ws_len,
                &mut *target,
            );
            assert_eq!(rc, Status::SensorCount as i32, "n_sensors {len}");
        }
        let rc = hdon_generate(
            &*model,
            sensors.as_ptr(),
            m,
            ws.as_mut_ptr(),
            minus_one,
            &mut *target,
        );
        assert_eq!(rc, OK, "workspace_len SIZE_MAX");
        let mut want = vec![0.0f32; n * d_out];
        assert_eq!(
            hdon_eval(
                &mut *target,
                points.as_ptr(),
                n,
                want.as_mut_ptr(),
                want.len()
            ),
            OK
        );
        for len in [minus_one, huge] {
            let rc = hdon_eval(
                &mut *target,
                points.as_ptr(),
                len,
                want.as_mut_ptr(),
                want.len(),
            );
            assert_eq!(rc, Status::PointDim as i32, "n_points {len}");
        }
        let mut got = vec![7.0f32; n * d_out + 1];
        let rc = hdon_eval(
            &mut *target,
            points.as_ptr(),
            n,
            got.as_mut_ptr(),
            minus_one,
        );
        assert_eq!(rc, OK, "out_len SIZE_MAX");
        assert_eq!(got[..n * d_out], want[..]);
        assert_eq!(got[n * d_out], 7.0);
        got.fill(7.0);
        let rc = hdon_eval_batch(
            &mut *target,
            1,
            points.as_ptr(),
            n,
            got.as_mut_ptr(),
            minus_one,
        );
        assert_eq!(rc, OK, "eval_batch out_len SIZE_MAX");
        assert_eq!(got[..n * d_out], want[..]);
        assert_eq!(got[n * d_out], 7.0);
        let rc = hdon_generate_batch(
            &*model,
            sensors.as_ptr(),
            1,
            m,
            ws.as_mut_ptr(),
            minus_one,
            &mut *target,
        );
        assert_eq!(rc, OK, "generate_batch workspace_len SIZE_MAX");
        let rc = hdon_generate_batch(
            &*model,
            sensors.as_ptr(),
            huge,
            1,
            ws.as_mut_ptr(),
            ws_len,
            &mut *target,
        );
        assert_eq!(rc, Status::SensorCount as i32, "batch * n_sensors huge");
        // NULL with a huge length is still NULL.
        let rc = hdon_eval(&mut *target, null(), huge, null_mut(), 0);
        assert_eq!(rc, Status::Null as i32);
    }
}

/// NaN-free poison that no computation here produces.
const POISON: f32 = -1.234_567e30;

/// Whether every value of `v` is the poison, bit for bit.
fn poisoned(v: &[f32]) -> bool {
    v.iter().all(|x| x.to_bits() == POISON.to_bits())
}

/// The proof that the sizes the API asks for are the sizes it uses: each buffer is given with
/// a poisoned tail (`TAIL` floats, and its length argument covers the tail too, so the library
/// is allowed to touch it), and after each call the tail is still poison; the target after the
/// last of a batch keeps its bytes. Every family, f32 and int8 weights, d_y = 3, d_out = 2,
/// point counts across the tile sizes and the 512-point chunks of the team calls.
#[test]
fn nothing_is_touched_past_the_documented_lengths() {
    const TAIL: usize = 67;
    let team = hdon_team_new(2, 200);
    assert!(!team.is_null());
    let mut rng = Rng(5);
    for fam in FAMILIES {
        for weights in [WeightType::F32, WeightType::I8] {
            let mut spec = Spec::small(fam);
            (spec.weights, spec.d_y, spec.d_out) = (weights, 3, 2);
            let (_bytes, model) = open(&spec);
            let (m, d_y, d_out) = (spec.m, spec.d_y, spec.d_out);
            let what = format!("{fam} {weights:?}");
            // SAFETY: the model is open.
            let ws_len = unsafe { hdon_model_workspace_len(&*model, 1) };
            let sensors = rng.vec_f32(m, -1.0, 1.0);
            let mut ws = vec![POISON; ws_len + TAIL];
            let mut target = zeroed::<HdonTarget>();
            // SAFETY: lengths as declared; `ws` outlives the target.
            let rc = unsafe {
                hdon_generate(
                    &*model,
                    sensors.as_ptr(),
                    m,
                    ws.as_mut_ptr(),
                    ws.len(),
                    &mut *target,
                )
            };
            assert_eq!(rc, OK, "{what}");
            assert!(
                poisoned(&ws[ws_len..]),
                "{what}: generate wrote past workspace_len(1)"
            );
            let mut ws_on = vec![POISON; ws_len + TAIL];
            let mut target_on = zeroed::<HdonTarget>();
            // SAFETY: as above; `team` is live.
            let rc = unsafe {
                hdon_generate_on(
                    team,
                    &*model,
                    sensors.as_ptr(),
                    m,
                    ws_on.as_mut_ptr(),
                    ws_on.len(),
                    &mut *target_on,
                )
            };
            assert_eq!(rc, OK, "{what}");
            assert!(
                poisoned(&ws_on[ws_len..]),
                "{what}: generate_on wrote past workspace_len(1)"
            );

            let batch = 5;
            // SAFETY: the model is open.
            let wsb_len = unsafe { hdon_model_workspace_len(&*model, batch) };
            let sensors_b = rng.vec_f32(batch * m, -1.0, 1.0);
            let mut wsb = vec![POISON; wsb_len + TAIL];
            // One target more than the batch, filled with a pattern.
            let mut targets: Vec<HdonTarget> = (0..=batch)
                .map(|_| {
                    let mut t = *zeroed::<HdonTarget>();
                    // SAFETY: a plain u64 array; any bytes are a valid value.
                    unsafe { t.opaque_ptr().write_bytes(0xa5, size_of::<HdonTarget>()) };
                    t
                })
                .collect();
            // SAFETY: lengths as declared; `wsb` outlives the targets.
            let rc = unsafe {
                hdon_generate_batch(
                    &*model,
                    sensors_b.as_ptr(),
                    batch,
                    m,
                    wsb.as_mut_ptr(),
                    wsb.len(),
                    targets.as_mut_ptr(),
                )
            };
            assert_eq!(rc, OK, "{what}");
            assert!(
                poisoned(&wsb[wsb_len..]),
                "{what}: generate_batch wrote past workspace_len(batch)"
            );
            // SAFETY: reading the plain bytes of the extra target.
            let extra = unsafe {
                core::slice::from_raw_parts(targets[batch].opaque_ptr(), size_of::<HdonTarget>())
            };
            assert!(
                extra.iter().all(|&b| b == 0xa5),
                "{what}: generate_batch wrote targets[batch]"
            );

            for n in [1usize, 7, 8, 33, 513, 1100] {
                let points = rng.vec_f32(n * d_y, -1.0, 1.0);
                let per = n * d_out;
                let mut want = vec![POISON; per + TAIL];
                // SAFETY: lengths as declared.
                let rc = unsafe {
                    hdon_eval(
                        &mut *target,
                        points.as_ptr(),
                        n,
                        want.as_mut_ptr(),
                        want.len(),
                    )
                };
                assert_eq!(rc, OK, "{what} n {n}");
                assert!(
                    poisoned(&want[per..]),
                    "{what} n {n}: eval wrote past n * d_out"
                );
                assert!(!want[..per].iter().any(|x| x.to_bits() == POISON.to_bits()));
                let mut got = vec![POISON; per + TAIL];
                // SAFETY: lengths as declared; `team` is live.
                let rc = unsafe {
                    hdon_eval_on(
                        team,
                        &mut *target_on,
                        points.as_ptr(),
                        n,
                        got.as_mut_ptr(),
                        got.len(),
                    )
                };
                assert_eq!(rc, OK, "{what} n {n}");
                assert!(
                    poisoned(&got[per..]),
                    "{what} n {n}: eval_on wrote past n * d_out"
                );
                let mut outs = vec![POISON; batch * per + TAIL];
                // SAFETY: lengths as declared.
                let rc = unsafe {
                    hdon_eval_batch(
                        targets.as_mut_ptr(),
                        batch,
                        points.as_ptr(),
                        n,
                        outs.as_mut_ptr(),
                        outs.len(),
                    )
                };
                assert_eq!(rc, OK, "{what} n {n}");
                assert!(
                    poisoned(&outs[batch * per..]),
                    "{what} n {n}: eval_batch wrote past"
                );
                outs.fill(POISON);
                // SAFETY: lengths as declared; `team` is live.
                let rc = unsafe {
                    hdon_eval_batch_on(
                        team,
                        targets.as_mut_ptr(),
                        batch,
                        points.as_ptr(),
                        n,
                        outs.as_mut_ptr(),
                        outs.len(),
                    )
                };
                assert_eq!(rc, OK, "{what} n {n}");
                assert!(
                    poisoned(&outs[batch * per..]),
                    "{what} n {n}: eval_batch_on wrote past"
                );
            }
            // The evaluations use the workspaces' tile scratch, inside the lengths too.
            assert!(
                poisoned(&ws[ws_len..]),
                "{what}: eval wrote past workspace_len(1)"
            );
            assert!(
                poisoned(&ws_on[ws_len..]),
                "{what}: eval_on wrote past workspace_len(1)"
            );
            assert!(
                poisoned(&wsb[wsb_len..]),
                "{what}: eval_batch wrote past workspace_len(batch)"
            );
        }
    }
    // SAFETY: the team is live and idle.
    unsafe { hdon_team_free(team) };
}

/// Raw byte access to the opaque storage of the C structs (for poison and misaligned
/// pointers).
trait Opaque {
    fn opaque_ptr(&mut self) -> *mut u8;
}

impl Opaque for HdonTarget {
    fn opaque_ptr(&mut self) -> *mut u8 {
        (self as *mut HdonTarget).cast()
    }
}
