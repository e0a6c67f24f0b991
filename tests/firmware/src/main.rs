//! A bare-metal image for a Cortex-M4F: the firmware flow of docs/EMBEDDING.md with nothing
//! from std and no allocator. The model is in the image (64-byte aligned), the workspace and
//! the output are static arrays, and the entry point opens the model, checks the workspace,
//! generates once and evaluates. Built (and linked) by `.ci/test` for
//! `thumbv7em-none-eabihf`; it is never run, linking is the test: an undefined symbol (an
//! allocator, a std function, a missing intrinsic) fails the build.

#![no_std]
#![no_main]

use hdon_runtime::{Model, NonFinite, Options};

/// A byte array with the alignment the model file wants.
#[repr(C, align(64))]
struct Aligned<Bytes: ?Sized>(Bytes);

/// The model, in flash (the small HyperDeepONet of the runtime's firmware example: 16
/// sensors, d_y = 1, d_out = 1).
static MODEL_FILE: &Aligned<[u8]> =
    &Aligned(*include_bytes!("../../../runtime/examples/model.hdon"));

/// f32 count of the workspace (RAM reserved at link time); checked against the model.
const WORKSPACE_LEN: usize = 1024;

/// Query points per input function.
const N_POINTS: usize = 8;

/// Status of the last step, read by a debugger: 0 ok, 1 open failed, 2 workspace too short,
/// 3 generate failed, 4 eval failed. Exported (`no_mangle`), so the linker keeps the code that
/// computes it.
#[no_mangle]
static mut HDON_STATUS: u32 = u32::MAX;

/// The operator's output at the N_POINTS points, exported like [`HDON_STATUS`].
#[no_mangle]
static mut HDON_OUT: [f32; N_POINTS] = [0.0; N_POINTS];

/// One input function at N_POINTS points; `workspace` and `out` are the static buffers.
fn step(workspace: &mut [f32], out: &mut [f32; N_POINTS]) -> u32 {
    let opts = Options {
        verify_checksums: true,
        nonfinite: NonFinite::Reject,
    };
    let Ok(model) = Model::from_bytes_with(&MODEL_FILE.0, opts) else {
        return 1;
    };
    if model.workspace_len(1) > workspace.len() {
        return 2;
    }
    let mut sensors = [0.0f32; 16];
    for (i, s) in sensors.iter_mut().enumerate() {
        *s = i as f32 / 15.0;
    }
    let mut points = [0.0f32; N_POINTS];
    for (k, y) in points.iter_mut().enumerate() {
        *y = k as f32 / (N_POINTS - 1) as f32;
    }
    let Ok(mut target) = model.generate(&sensors, workspace) else {
        return 3;
    };
    match target.eval(&points, out) {
        Ok(()) => 0,
        Err(_) => 4,
    }
}

/// The reset handler's target: runs one step, publishes its status and output, then waits.
#[no_mangle]
pub extern "C" fn _start() -> ! {
    static mut WORKSPACE: [f32; WORKSPACE_LEN] = [0.0; WORKSPACE_LEN];
    // SAFETY: the only references ever made to WORKSPACE and HDON_OUT, taken once, and the
    // only write to HDON_STATUS: single-threaded, before any debugger reads them.
    unsafe {
        let status = step(&mut *(&raw mut WORKSPACE), &mut *(&raw mut HDON_OUT));
        core::ptr::write_volatile(&raw mut HDON_STATUS, status);
    }
    loop {
        core::hint::spin_loop();
    }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {
        core::hint::spin_loop();
    }
}
