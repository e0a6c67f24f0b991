//! Firmware-style use of hdon, runnable on the host:
//! `cargo run -p hdon-runtime --example firmware`.
//!
//! Everything a microcontroller build would have: the model is part of the program image
//! (`include_bytes!` in a 64-byte-aligned wrapper, since `Model::from_bytes` borrows tensors
//! in place and needs at least 4-byte alignment), the workspace is a static array sized at
//! compile time (the file records the exact length: `hdon inspect model.hdon`), and the hot
//! path (`from_bytes`, `generate`, `eval`) uses neither the heap nor std. Only `main`'s
//! printing is host-specific.
//!
//! The embedded model (`examples/model.hdon`) is a small HyperDeepONet (16 sensors, d_y = 1,
//! d_out = 1, target net 1-10-10-1 tanh) with random weights, written by the test
//! `tests/tests/example_model.rs`.

use hdon_runtime::{Error, Model, NonFinite, Options};

/// A byte array with the alignment the model file wants (tensors are 64-byte aligned in the
/// file; 4 is the minimum the runtime accepts).
#[repr(C, align(64))]
struct Aligned<Bytes: ?Sized>(Bytes);

/// The model, in flash on a device.
static MODEL_FILE: &Aligned<[u8]> = &Aligned(*include_bytes!("model.hdon"));

/// f32 count of the workspace; must be >= `model.workspace_len(1)` (checked at start-up).
const WORKSPACE_LEN: usize = 1024;

/// Number of query points evaluated per input function.
const N_POINTS: usize = 8;

/// One sensor frame -> the operator's output at N_POINTS points. No heap, no std.
fn step(
    model: &Model<'_>,
    sensors: &[f32],
    workspace: &mut [f32],
    out: &mut [f32; N_POINTS],
) -> Result<(), Error> {
    let mut points = [0.0f32; N_POINTS];
    for (k, y) in points.iter_mut().enumerate() {
        *y = k as f32 / (N_POINTS - 1) as f32;
    }
    let mut target = model.generate(sensors, workspace)?; // once per input function
    target.eval(&points, out)?; // any number of times
    Ok(())
}

fn main() -> Result<(), Error> {
    // The workspace is RAM reserved at link time (.bss), as on a device.
    static mut WORKSPACE: [f32; WORKSPACE_LEN] = [0.0; WORKSPACE_LEN];
    // This is the only reference ever made to WORKSPACE, taken once, single-threaded.
    let ptr: *mut [f32; WORKSPACE_LEN] = &raw mut WORKSPACE;
    // SAFETY: see above; the pointer is valid, aligned and unaliased for 'static.
    let workspace: &'static mut [f32; WORKSPACE_LEN] = unsafe { &mut *ptr };

    // Checksums were verified when the image was flashed: skip them at boot.
    let opts = Options {
        verify_checksums: false,
        nonfinite: NonFinite::Reject,
    };
    let model = Model::from_bytes_with(&MODEL_FILE.0, opts)?;
    if model.workspace_len(1) > WORKSPACE_LEN {
        return Err(Error::WorkspaceTooShort {
            needed: model.workspace_len(1),
            found: WORKSPACE_LEN,
        });
    }
    println!(
        "model: {:?}, m = {}, d_y = {}, d_out = {}, workspace {} of {} f32",
        model.family(),
        model.n_sensors(),
        model.d_y(),
        model.d_out(),
        model.workspace_len(1),
        WORKSPACE_LEN
    );

    // Three "sensor frames" (on a device: ADC readings of u at the model's sensor points).
    let mut sensors = [0.0f32; 16];
    let mut out = [0.0f32; N_POINTS];
    for frame in 0..3 {
        for (i, u) in sensors.iter_mut().enumerate() {
            *u = ((i + 3 * frame) as f32 * 0.4).sin();
        }
        step(&model, &sensors, workspace, &mut out)?;
        println!("frame {frame}: G(u)(y) = {out:.5?}");
    }
    Ok(())
}
