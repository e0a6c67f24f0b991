//! C API of the hdon runtime; the contract is in `hdon.h` (committed next to this crate).
//!
//! The opaque `hdon_model` / `hdon_target` structs of the header are caller-owned storage
//! into which this crate writes a [`Model`] / [`Target`] (with erased lifetimes: the C caller
//! keeps the bytes and workspace alive, as the header documents). Their sizes are checked at
//! compile time against the header's `HDON_MODEL_WORDS` / `HDON_TARGET_WORDS`. No allocation
//! happens on any path but `hdon_generate_batch` (rayon's pool and its per-task buffers),
//! `hdon_team_new` (the team and its threads) and `hdon_eval_on` (a tile scratch per thread;
//! also `hdon_eval_batch_on` when it splits each target's points).
//!
//! Without the default feature `std` the library is no_std and never allocates: the serial
//! calls (open, the model's dimensions, `hdon_generate`, `hdon_eval`, `hdon_eval_batch`,
//! `hdon_error_message`) for bare-metal C firmware; the calls on threads (module `threads`)
//! are left out. Feature `panic-handler` gives such a static library the panic handler it
//! needs.

#![cfg_attr(not(feature = "std"), no_std)]

use core::ffi::{c_char, c_int, c_void};
use core::mem::{align_of, size_of};

use hdon_runtime::{Error, Model, NonFinite, Options, Target};

#[cfg(feature = "std")]
mod threads;
#[cfg(feature = "std")]
pub use threads::*;

/// The no_std library's panic handler (feature `panic-handler`): stops in an endless loop.
/// hdon reports bad input as status codes; a panic would be a bug in hdon.
#[cfg(all(not(feature = "std"), feature = "panic-handler"))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {
        core::hint::spin_loop();
    }
}

/// `HDON_MODEL_WORDS` of `hdon.h`.
pub const HDON_MODEL_WORDS: usize = 1024;
/// `HDON_TARGET_WORDS` of `hdon.h`.
pub const HDON_TARGET_WORDS: usize = 128;

/// `hdon_model` of `hdon.h`.
#[repr(C)]
pub struct HdonModel {
    opaque: [u64; HDON_MODEL_WORDS],
}

/// `hdon_target` of `hdon.h`.
#[repr(C)]
pub struct HdonTarget {
    opaque: [u64; HDON_TARGET_WORDS],
}

const _: () = assert!(size_of::<Model<'static>>() <= size_of::<HdonModel>());
const _: () = assert!(align_of::<Model<'static>>() <= align_of::<HdonModel>());
const _: () = assert!(size_of::<Target<'static>>() <= size_of::<HdonTarget>());
const _: () = assert!(align_of::<Target<'static>>() <= align_of::<HdonTarget>());

/// Status codes of `hdon.h` (`hdon_status`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Success.
    Ok = 0,
    /// A required pointer was NULL.
    Null = 1,
    /// Malformed, corrupt or misaligned file.
    Format = 2,
    /// A kernel rejected its arguments.
    Kernel = 3,
    /// Wrong sensor count.
    SensorCount = 4,
    /// Points length not a multiple of d_y.
    PointDim = 5,
    /// Output too short.
    OutputLen = 6,
    /// Workspace too short.
    WorkspaceTooShort = 7,
    /// Non-finite sensor value.
    NonFiniteSensor = 8,
    /// Non-finite point coordinate.
    NonFinitePoint = 9,
    /// Workspace records disagree.
    WorkspaceMismatch = 10,
    /// Beyond this runtime's limits.
    Unsupported = 11,
    /// Tensors or normalization unusable.
    InvalidModel = 12,
    /// A pointer is not aligned to its type (`float`: 4 bytes; `hdon_model`, `hdon_target`:
    /// as `uint64_t`).
    Misaligned = 13,
}

/// Maps a runtime error to its C status code.
pub fn status_of(e: &Error) -> Status {
    match e {
        Error::Format(_) => Status::Format,
        Error::Kernel(_) => Status::Kernel,
        Error::SensorCount { .. } => Status::SensorCount,
        Error::PointDim { .. } => Status::PointDim,
        Error::OutputLen { .. } => Status::OutputLen,
        Error::WorkspaceTooShort { .. } => Status::WorkspaceTooShort,
        Error::NonFiniteSensor { .. } => Status::NonFiniteSensor,
        Error::NonFinitePoint { .. } => Status::NonFinitePoint,
        Error::WorkspaceMismatch { .. } => Status::WorkspaceMismatch,
        Error::Unsupported { .. } => Status::Unsupported,
        _ => Status::InvalidModel,
    }
}

fn code(r: Result<(), Error>) -> c_int {
    match r {
        Ok(()) => Status::Ok as c_int,
        Err(e) => status_of(&e) as c_int,
    }
}

/// A caller's buffer of `len` elements as a slice, or the status to return: `Null` for a NULL
/// pointer, `Misaligned` for a pointer not aligned to `T`, `too_long` for a length that no
/// buffer can have (more than `isize::MAX` bytes: e.g. a negative count cast to `size_t`).
/// `len` 0 gives an empty slice whatever the pointer. These are the checks that keep a bad
/// argument from becoming undefined behaviour (or, with debug assertions, an abort) in
/// `from_raw_parts`.
///
/// # Safety
/// If the checks pass, `ptr` must be valid for `len` reads of `T` for `'a`.
unsafe fn slice<'a, T>(ptr: *const T, len: usize, too_long: Status) -> Result<&'a [T], Status> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(Status::Null);
    }
    if !ptr.is_aligned() {
        return Err(Status::Misaligned);
    }
    if len > isize::MAX as usize / size_of::<T>().max(1) {
        return Err(too_long);
    }
    // SAFETY: non-null, aligned, at most isize::MAX bytes; the caller guarantees `len` valid
    // elements for 'a.
    Ok(unsafe { core::slice::from_raw_parts(ptr, len) })
}

/// [`slice`] for writing.
///
/// # Safety
/// If the checks pass, `ptr` must be valid for `len` reads and writes of `T` for `'a`,
/// unaliased.
unsafe fn slice_mut<'a, T>(
    ptr: *mut T,
    len: usize,
    too_long: Status,
) -> Result<&'a mut [T], Status> {
    // SAFETY: the checks only; forwarded caller contract.
    unsafe { slice(ptr.cast_const(), len, too_long) }?;
    if len == 0 {
        return Ok(&mut []);
    }
    // SAFETY: checked by `slice` above (non-null, aligned, at most isize::MAX bytes); the
    // caller guarantees `len` valid, unaliased elements for 'a.
    Ok(unsafe { core::slice::from_raw_parts_mut(ptr, len) })
}

/// `Null` for a NULL pointer, `Misaligned` for one not aligned to `T`: the checks before a
/// caller's `hdon_model` / `hdon_target` storage is read or written.
fn check_ptr<T>(p: *const T) -> Result<(), Status> {
    if p.is_null() {
        Err(Status::Null)
    } else if !p.is_aligned() {
        Err(Status::Misaligned)
    } else {
        Ok(())
    }
}

/// # Safety
/// `m` must be NULL, misaligned (both reported) or point to a `hdon_model` filled by a
/// successful `hdon_model_open`.
unsafe fn model_ref<'a>(m: *const HdonModel) -> Result<&'a Model<'static>, Status> {
    check_ptr(m)?;
    // SAFETY: the storage holds a Model written by hdon_model_open (size/align checked above).
    Ok(unsafe { &*(m as *const Model<'static>) })
}

/// `hdon_model_open` of `hdon.h`.
///
/// # Safety
/// `bytes` valid for `len` reads and alive/unchanged while the model is used; `out` valid for
/// a write of `hdon_model`.
#[no_mangle]
pub unsafe extern "C" fn hdon_model_open(
    bytes: *const c_void,
    len: usize,
    verify_checksums: c_int,
    out: *mut HdonModel,
) -> c_int {
    if bytes.is_null() {
        return Status::Null as c_int;
    }
    if let Err(rc) = check_ptr(out) {
        return rc as c_int;
    }
    if len > isize::MAX as usize {
        return Status::Format as c_int;
    }
    // SAFETY: caller contract (valid for len bytes, outlives the model).
    let bytes: &'static [u8] = unsafe { core::slice::from_raw_parts(bytes as *const u8, len) };
    let opts = Options {
        verify_checksums: verify_checksums != 0,
        nonfinite: NonFinite::Reject,
    };
    match Model::from_bytes_with(bytes, opts) {
        Ok(model) => {
            // SAFETY: out is valid for a write of HdonModel, which fits a Model (checked).
            unsafe { (out as *mut Model<'static>).write(model) };
            Status::Ok as c_int
        }
        Err(e) => status_of(&e) as c_int,
    }
}

/// `hdon_model_n_sensors` of `hdon.h`.
///
/// # Safety
/// `model` NULL or opened by `hdon_model_open`.
#[no_mangle]
pub unsafe extern "C" fn hdon_model_n_sensors(model: *const HdonModel) -> usize {
    // SAFETY: caller contract.
    unsafe { model_ref(model) }.map_or(0, |m| m.n_sensors())
}

/// `hdon_model_d_y` of `hdon.h`.
///
/// # Safety
/// `model` NULL or opened by `hdon_model_open`.
#[no_mangle]
pub unsafe extern "C" fn hdon_model_d_y(model: *const HdonModel) -> usize {
    // SAFETY: caller contract.
    unsafe { model_ref(model) }.map_or(0, |m| m.d_y())
}

/// `hdon_model_d_out` of `hdon.h`.
///
/// # Safety
/// `model` NULL or opened by `hdon_model_open`.
#[no_mangle]
pub unsafe extern "C" fn hdon_model_d_out(model: *const HdonModel) -> usize {
    // SAFETY: caller contract.
    unsafe { model_ref(model) }.map_or(0, |m| m.d_out())
}

/// `hdon_model_workspace_len` of `hdon.h`.
///
/// # Safety
/// `model` NULL or opened by `hdon_model_open`.
#[no_mangle]
pub unsafe extern "C" fn hdon_model_workspace_len(model: *const HdonModel, batch: usize) -> usize {
    // SAFETY: caller contract.
    unsafe { model_ref(model) }.map_or(0, |m| m.workspace_len(batch))
}

/// `hdon_generate` of `hdon.h`.
///
/// # Safety
/// `model` opened by `hdon_model_open`; `sensors` valid for `n_sensors` reads; `workspace`
/// valid for `workspace_len` reads/writes and alive while the target is used; `out` valid for
/// a write of `hdon_target`.
#[no_mangle]
pub unsafe extern "C" fn hdon_generate(
    model: *const HdonModel,
    sensors: *const f32,
    n_sensors: usize,
    workspace: *mut f32,
    workspace_len: usize,
    out: *mut HdonTarget,
) -> c_int {
    // SAFETY: forwarded caller contract.
    unsafe {
        generate_with(
            model,
            sensors,
            n_sensors,
            workspace,
            workspace_len,
            out,
            |m, s, w| m.generate(s, w),
        )
    }
}

/// The checked arguments of a generate call (`hdon_generate*`, `hdon_generate_batch`): the
/// model, `n_values` sensor values, and the part of the workspace that `batch` functions use
/// (a longer workspace is cut to it, as the runtime takes of a longer slice), once `out`, the
/// target storage, is checked too. The error is the status to return.
///
/// # Safety
/// Each pointer is NULL, misaligned (both reported) or valid as the calling function's
/// contract says.
unsafe fn generate_args<'a>(
    model: *const HdonModel,
    sensors: *const f32,
    n_values: usize,
    workspace: *mut f32,
    workspace_len: usize,
    batch: usize,
    out: *const HdonTarget,
) -> Result<(&'a Model<'static>, &'a [f32], &'a mut [f32]), Status> {
    // SAFETY: forwarded caller contract.
    unsafe {
        let model = model_ref(model)?;
        let ws_len = workspace_len.min(model.workspace_len(batch));
        let sensors = slice(sensors, n_values, Status::SensorCount)?;
        let ws = slice_mut(workspace, ws_len, Status::WorkspaceTooShort)?;
        check_ptr(out)?;
        Ok((model, sensors, ws))
    }
}

/// The argument checks of `hdon_generate` and `hdon_generate_on`, then `generate(model,
/// sensors, workspace)`, its target written to `*out`.
///
/// # Safety
/// As [`hdon_generate`].
unsafe fn generate_with(
    model: *const HdonModel,
    sensors: *const f32,
    n_sensors: usize,
    workspace: *mut f32,
    workspace_len: usize,
    out: *mut HdonTarget,
    generate: impl for<'w> FnOnce(
        &'w Model<'static>,
        &[f32],
        &'w mut [f32],
    ) -> Result<Target<'w>, Error>,
) -> c_int {
    // SAFETY: caller contract for each pointer.
    let (model, sensors, ws) =
        match unsafe { generate_args(model, sensors, n_sensors, workspace, workspace_len, 1, out) }
        {
            Ok(args) => args,
            Err(rc) => return rc as c_int,
        };
    match generate(model, sensors, ws) {
        Ok(target) => {
            // SAFETY: out valid for a write of HdonTarget, which fits a Target (checked); the
            // lifetimes are the caller's to keep (header contract).
            unsafe {
                (out as *mut Target<'static>)
                    .write(core::mem::transmute::<Target<'_>, Target<'static>>(target))
            };
            Status::Ok as c_int
        }
        Err(e) => status_of(&e) as c_int,
    }
}

/// `hdon_eval` of `hdon.h`.
///
/// # Safety
/// `target` filled by a successful `hdon_generate` whose model/bytes/workspace are alive;
/// `points` valid for `n_points * d_y` reads; `out` valid for `out_len` writes.
#[no_mangle]
pub unsafe extern "C" fn hdon_eval(
    target: *mut HdonTarget,
    points: *const f32,
    n_points: usize,
    out: *mut f32,
    out_len: usize,
) -> c_int {
    // SAFETY: forwarded caller contract.
    unsafe {
        eval_with(target, points, n_points, out, out_len, |t, p, o| {
            t.eval(p, o)
        })
    }
}

/// The argument checks of `hdon_eval` and `hdon_eval_on`, then `eval(target, points, out)`.
///
/// # Safety
/// As [`hdon_eval`].
unsafe fn eval_with(
    target: *mut HdonTarget,
    points: *const f32,
    n_points: usize,
    out: *mut f32,
    out_len: usize,
    eval: impl FnOnce(&mut Target<'static>, &[f32], &mut [f32]) -> Result<(), Error>,
) -> c_int {
    if let Err(rc) = check_ptr(target) {
        return rc as c_int;
    }
    // SAFETY: the storage holds a Target written by hdon_generate.
    let target = unsafe { &mut *(target as *mut Target<'static>) };
    let Some(n_values) = n_points.checked_mul(target.d_y()) else {
        return Status::PointDim as c_int;
    };
    // Only the values eval writes are taken of `out` (eval reports a shorter one).
    let out_len = out_len.min(n_points.saturating_mul(target.d_out()));
    // SAFETY: caller contract.
    let args = unsafe {
        slice(points, n_values, Status::PointDim)
            .and_then(|p| Ok((p, slice_mut(out, out_len, Status::OutputLen)?)))
    };
    match args {
        Ok((points, out)) => code(eval(target, points, out)),
        Err(rc) => rc as c_int,
    }
}

/// `hdon_eval_batch` of `hdon.h`: [`Target::eval`] of `batch` consecutive targets at the same
/// points, into consecutive `[n_points, d_out]` blocks of `out`.
///
/// # Safety
/// `targets` valid for `batch` `hdon_target`s, each filled by a successful `hdon_generate` or
/// `hdon_generate_batch` whose model/bytes/workspace are alive; `points` valid for `n_points *
/// d_y` reads; `out` valid for `out_len` writes.
#[no_mangle]
pub unsafe extern "C" fn hdon_eval_batch(
    targets: *mut HdonTarget,
    batch: usize,
    points: *const f32,
    n_points: usize,
    out: *mut f32,
    out_len: usize,
) -> c_int {
    // SAFETY: forwarded caller contract.
    let (points, out, per) =
        match unsafe { batch_args(targets, batch, points, n_points, out, out_len) } {
            Ok(Some(args)) => args,
            Ok(None) => return Status::Ok as c_int,
            Err(rc) => return rc,
        };
    // SAFETY: forwarded caller contract.
    unsafe { one_after_another(targets, out, per, |t, o| t.eval(points, o)) }
}

/// `eval(target i, block i of out)` for each target in order, `per` f32 per block; the status
/// of the first error, where it stops.
///
/// # Safety
/// `targets` holds `out.len() / per` targets written by hdon_generate(_batch), none of them
/// referenced elsewhere meanwhile.
unsafe fn one_after_another(
    targets: *mut HdonTarget,
    out: &mut [f32],
    per: usize,
    mut eval: impl FnMut(&mut Target<'static>, &mut [f32]) -> Result<(), Error>,
) -> c_int {
    for (i, o) in out.chunks_exact_mut(per).enumerate() {
        // SAFETY: target i exists (caller contract).
        if let Err(e) = eval(unsafe { batch_target(targets, i) }, o) {
            return status_of(&e) as c_int;
        }
    }
    Status::Ok as c_int
}

/// Target `i` of a caller's `hdon_target` array (1 KiB apart: the storage, not the smaller
/// `Target`, sets the stride).
///
/// # Safety
/// `targets` holds at least `i + 1` targets written by hdon_generate(_batch), and no other
/// reference to target `i` is live.
unsafe fn batch_target<'t>(targets: *mut HdonTarget, i: usize) -> &'t mut Target<'static> {
    // SAFETY: caller contract.
    unsafe { &mut *(targets.add(i) as *mut Target<'static>) }
}

/// What [`batch_args`] hands the batch evaluations: the points, `out` cut to the batch's
/// blocks, and the block length (f32).
type BatchArgs<'a> = (&'a [f32], &'a mut [f32], usize);

/// The checks of `hdon_eval_batch` and `hdon_eval_batch_on`, every one before any output is
/// written: the points, `out` cut to `batch` blocks, and the block length `n_points * d_out`;
/// `None` when there is nothing to do (no targets, or empty blocks); or the status to return.
///
/// # Safety
/// As [`hdon_eval_batch`].
unsafe fn batch_args<'a>(
    targets: *mut HdonTarget,
    batch: usize,
    points: *const f32,
    n_points: usize,
    out: *mut f32,
    out_len: usize,
) -> Result<Option<BatchArgs<'a>>, c_int> {
    if batch == 0 {
        return Ok(None);
    }
    check_ptr(targets).map_err(|rc| rc as c_int)?;
    // SAFETY: i < batch; the caller guarantees `batch` targets written by hdon_generate(_batch);
    // each reference lives only within this expression.
    let shape = |i: usize| {
        let t = unsafe { batch_target(targets, i) };
        (t.d_y(), t.d_out())
    };
    let (d_y, d_out) = shape(0);
    if (1..batch).any(|i| shape(i) != (d_y, d_out)) {
        return Err(Status::PointDim as c_int);
    }
    let (Some(n_values), Some(per)) = (n_points.checked_mul(d_y), n_points.checked_mul(d_out))
    else {
        return Err(Status::PointDim as c_int);
    };
    let need = match per.checked_mul(batch) {
        Some(need) if need <= out_len => need,
        _ => return Err(Status::OutputLen as c_int),
    };
    // SAFETY: caller contract; `need <= out_len` values of `out` are taken, the ones written.
    let (points, out) = unsafe {
        slice(points, n_values, Status::PointDim)
            .and_then(|p| Ok((p, slice_mut(out, need, Status::OutputLen)?)))
    }
    .map_err(|rc| rc as c_int)?;
    if per == 0 {
        return Ok(None);
    }
    Ok(Some((points, out, per)))
}

/// `hdon_error_message` of `hdon.h`: a static NUL-terminated description.
#[no_mangle]
pub extern "C" fn hdon_error_message(code: c_int) -> *const c_char {
    let s: &'static core::ffi::CStr = match code {
        0 => c"ok",
        1 => c"a required pointer was NULL",
        2 => c"model file is malformed, corrupt or misaligned (must be 4-byte aligned)",
        3 => c"a kernel rejected its arguments (internal error)",
        4 => c"sensor count differs from the model's (hdon_model_n_sensors)",
        5 => c"n_points * d_y overflows, or the targets of a batch differ in d_y or d_out",
        6 => c"output buffer shorter than n_points * d_out",
        7 => c"workspace shorter than hdon_model_workspace_len(model, batch)",
        8 => c"a sensor value is NaN or infinite",
        9 => c"a point coordinate is NaN or infinite",
        10 => c"the file's workspace records disagree with this runtime",
        11 => c"the model exceeds this runtime's limits (layers, widths)",
        12 => c"the model's tensors or normalization are unusable",
        13 => c"a pointer is misaligned (float: 4 bytes, hdon_model/hdon_target: as uint64_t)",
        _ => c"unknown hdon status code",
    };
    s.as_ptr()
}
