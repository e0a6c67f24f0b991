//! `hdon_generate_batch`: every target equals `hdon_generate`'s on the same sensors, for every
//! family (bit for bit, except HyperDeepONet batches of 4 or more, whose hypernetwork runs
//! in lanes: equal to rounding); and its errors. `hdon_eval_batch`: every block equals
//! `hdon_eval` of its target, bit for bit; and its errors.

// hdon_generate_batch is in the std library (default features) only; the no_std library is
// tested on its target (examples/firmware_check.sh).
#![cfg(feature = "std")]

use hdon::{
    hdon_eval, hdon_eval_batch, hdon_generate, hdon_generate_batch, hdon_model_open,
    hdon_model_workspace_len, HdonModel, HdonTarget, Status,
};
use hdon_format::AlignedBytes;
use hdon_tests::build::to_hdon;
use hdon_tests::random::{random_model, Spec, WeightType};

/// Zeroed storage for an opaque C struct (the C caller's `hdon_model m;`).
fn zeroed<T>() -> Box<T> {
    // SAFETY: HdonModel / HdonTarget are plain arrays of u64; all-zero is a valid value.
    unsafe { Box::new(core::mem::zeroed()) }
}

/// A small random f32 HyperDeepONet opened through the C API, with the bytes it reads (keep
/// them alive as long as the model).
fn open_small_hyper() -> (Spec, AlignedBytes, Box<HdonModel>) {
    let spec = Spec::small("hyper");
    let bytes = AlignedBytes::from_slice(&to_hdon(&random_model(&spec), WeightType::F32));
    let mut model = zeroed::<HdonModel>();
    // SAFETY: valid pointers; the caller keeps `bytes` (moved out below, its heap buffer
    // unchanged) alive while it uses the model.
    assert_eq!(
        unsafe { hdon_model_open(bytes.as_ptr().cast(), bytes.len(), 1, &mut *model) },
        0
    );
    (spec, bytes, model)
}

/// `hdon_generate_batch` of `sensors` (`[batch, m]`) on an opened model: the workspace (keep
/// it alive while the targets are used) and the `batch` targets.
fn generate_targets(model: &HdonModel, sensors: &[f32], m: usize) -> (Vec<f32>, Vec<HdonTarget>) {
    let batch = sensors.len() / m;
    // SAFETY: the model was opened by the caller.
    let ws_len = unsafe { hdon_model_workspace_len(model, batch) };
    let mut ws = vec![0.0f32; ws_len];
    let mut targets: Vec<HdonTarget> = (0..batch).map(|_| *zeroed::<HdonTarget>()).collect();
    // SAFETY: lengths as declared; `targets` has `batch` entries.
    let rc = unsafe {
        hdon_generate_batch(
            model,
            sensors.as_ptr(),
            batch,
            m,
            ws.as_mut_ptr(),
            ws_len,
            targets.as_mut_ptr(),
        )
    };
    assert_eq!(rc, Status::Ok as i32, "generate_batch");
    (ws, targets)
}

#[test]
fn batch_targets_equal_single_generates_every_family() {
    for fam in hdon_tests::FAMILIES {
        let spec = Spec::small(fam);
        let bytes = AlignedBytes::from_slice(&to_hdon(&random_model(&spec), WeightType::F32));
        let mut model = zeroed::<HdonModel>();
        // SAFETY: valid pointers; `bytes` outlives the model.
        let rc = unsafe { hdon_model_open(bytes.as_ptr().cast(), bytes.len(), 1, &mut *model) };
        assert_eq!(rc, Status::Ok as i32, "{fam}: open");
        let (m, d_y, d_out, batch, n) = (spec.m, spec.d_y, spec.d_out, 5usize, 23usize);
        let sensors: Vec<f32> = (0..batch * m)
            .map(|i| ((i * 37 % 101) as f32) / 50.0 - 1.0)
            .collect();
        let points: Vec<f32> = (0..n * d_y)
            .map(|i| ((i * 13 % 29) as f32) / 14.0 - 1.0)
            .collect();
        // SAFETY: model opened above.
        let ws1 = unsafe { hdon_model_workspace_len(&*model, 1) };
        let (_wb, mut targets) = generate_targets(&model, &sensors, m);
        for (i, t) in targets.iter_mut().enumerate() {
            let mut w1 = vec![0.0f32; ws1];
            let mut single = zeroed::<HdonTarget>();
            let (mut a, mut b) = (vec![0.0f32; n * d_out], vec![1.0f32; n * d_out]);
            // SAFETY: as above; each target's workspace is alive.
            unsafe {
                let s = sensors[i * m..].as_ptr();
                assert_eq!(
                    hdon_generate(&*model, s, m, w1.as_mut_ptr(), ws1, &mut *single),
                    0
                );
                assert_eq!(
                    hdon_eval(&mut *single, points.as_ptr(), n, a.as_mut_ptr(), a.len()),
                    0
                );
                assert_eq!(hdon_eval(t, points.as_ptr(), n, b.as_mut_ptr(), b.len()), 0);
            }
            let same = if fam == "hyper" {
                a.iter()
                    .zip(&b)
                    .all(|(x, y)| (x - y).abs() <= 1e-5 * (1.0 + x.abs()))
            } else {
                a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits())
            };
            assert!(same, "{fam}: function {i} differs from hdon_generate");
        }
        // One hdon_eval_batch call: each block is its target's hdon_eval, bit for bit.
        let per = n * d_out;
        let mut all = vec![f32::NAN; batch * per + 3];
        // SAFETY: targets filled above (workspace alive); `all` holds batch * per + 3 values.
        let rc = unsafe {
            hdon_eval_batch(
                targets.as_mut_ptr(),
                batch,
                points.as_ptr(),
                n,
                all.as_mut_ptr(),
                all.len(),
            )
        };
        assert_eq!(rc, 0, "{fam}: eval_batch");
        for (i, t) in targets.iter_mut().enumerate() {
            let mut one = vec![0.0f32; per];
            // SAFETY: as above.
            assert_eq!(
                unsafe { hdon_eval(t, points.as_ptr(), n, one.as_mut_ptr(), per) },
                0
            );
            let block = &all[i * per..(i + 1) * per];
            assert!(
                block
                    .iter()
                    .zip(&one)
                    .all(|(x, y)| x.to_bits() == y.to_bits()),
                "{fam}: eval_batch block {i} differs from hdon_eval"
            );
        }
        assert!(
            all[batch * per..].iter().all(|v| v.is_nan()),
            "{fam}: wrote past the blocks"
        );
    }
}

#[test]
fn eval_batch_errors() {
    let (spec, _bytes, model) = open_small_hyper();
    let (m, d_y, d_out, batch, n) = (spec.m, spec.d_y, spec.d_out, 3usize, 5usize);
    let sensors = vec![0.5f32; batch * m];
    let (_ws, mut targets) = generate_targets(&model, &sensors, m);
    let mut points = vec![0.25f32; n * d_y];
    let need = batch * n * d_out;
    let mut out = vec![-7.0f32; need];
    let call = |t: *mut HdonTarget, b: usize, p: &[f32], o: &mut [f32], len: usize| {
        // SAFETY: `p` holds n * d_y values, `o` at least `len` (checked by the callers below).
        assert!(len <= o.len());
        unsafe { hdon_eval_batch(t, b, p.as_ptr(), n, o.as_mut_ptr(), len) }
    };
    let tp = targets.as_mut_ptr();
    // Output one value short: refused before anything is written.
    assert_eq!(
        call(tp, batch, &points, &mut out, need - 1),
        Status::OutputLen as i32
    );
    assert!(
        out.iter().all(|&v| v == -7.0),
        "a refused call wrote output"
    );
    assert_eq!(
        call(core::ptr::null_mut(), batch, &points, &mut out, need),
        Status::Null as i32
    );
    // No targets: nothing to do, whatever the pointers.
    assert_eq!(
        call(core::ptr::null_mut(), 0, &points, &mut out, 0),
        Status::Ok as i32
    );
    // A non-finite point is rejected by the first target's eval (the model's default option).
    points[1] = f32::NAN;
    assert_eq!(
        call(tp, batch, &points, &mut out, need),
        Status::NonFinitePoint as i32
    );
    points[1] = 0.25;
    assert_eq!(call(tp, batch, &points, &mut out, need), Status::Ok as i32);
    assert!(out.iter().all(|v| v.is_finite()));
}

#[test]
fn batch_errors() {
    let (spec, _bytes, model) = open_small_hyper();
    let (m, batch) = (spec.m, 3usize);
    let sensors = vec![0.5f32; batch * m];
    // SAFETY: model opened above.
    let wsb = unsafe { hdon_model_workspace_len(&*model, batch) };
    let mut ws = vec![0.0f32; wsb];
    let mut targets: Vec<HdonTarget> = (0..batch).map(|_| *zeroed::<HdonTarget>()).collect();
    let call = |n_sensors: usize, ws_len: usize, ws: &mut [f32], t: *mut HdonTarget| {
        // SAFETY: the sensor slice holds batch * m >= batch * n_sensors values for the calls
        // below; ws_len <= ws.len().
        unsafe {
            hdon_generate_batch(
                &*model,
                sensors.as_ptr(),
                batch,
                n_sensors,
                ws.as_mut_ptr(),
                ws_len,
                t,
            )
        }
    };
    assert_eq!(
        call(m - 1, wsb, &mut ws, targets.as_mut_ptr()),
        Status::SensorCount as i32
    );
    assert_eq!(
        call(m, wsb - 1, &mut ws, targets.as_mut_ptr()),
        Status::WorkspaceTooShort as i32
    );
    assert_eq!(
        call(m, wsb, &mut ws, core::ptr::null_mut()),
        Status::Null as i32
    );
    assert_eq!(
        call(m, wsb, &mut ws, targets.as_mut_ptr()),
        Status::Ok as i32
    );
}
