//! The calls of `hdon.h` that run on threads (feature `std`): teams of workers
//! (`hdon_team_new`, `hdon_team_free`, `hdon_generate_on`, `hdon_eval_on`,
//! `hdon_eval_batch_on`) and the batched generate on rayon (`hdon_generate_batch`). The no_std
//! library leaves them out; their argument checks are the serial calls' (crate root).

use core::ffi::c_int;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use hdon_runtime::{Error, Target, Team};

use crate::{
    batch_args, batch_target, eval_with, generate_args, generate_with, one_after_another,
    status_of, HdonModel, HdonTarget, Status,
};

/// `hdon_generate_on` of `hdon.h`: [`Model::generate_on`](hdon_runtime::Model::generate_on) the team; the same bits as
/// `hdon_generate`.
///
/// # Safety
/// As [`hdon_generate`](crate::hdon_generate); `team` NULL or a live team from `hdon_team_new`.
#[no_mangle]
pub unsafe extern "C" fn hdon_generate_on(
    team: *const HdonTeam,
    model: *const HdonModel,
    sensors: *const f32,
    n_sensors: usize,
    workspace: *mut f32,
    workspace_len: usize,
    out: *mut HdonTarget,
) -> c_int {
    // SAFETY: caller contract: NULL or a live team.
    let Some(team) = (unsafe { team.as_ref() }) else {
        return Status::Null as c_int;
    };
    // SAFETY: forwarded caller contract.
    unsafe {
        generate_with(
            model,
            sensors,
            n_sensors,
            workspace,
            workspace_len,
            out,
            |m, s, w| m.generate_on(&team.0, s, w),
        )
    }
}

/// `hdon_generate_batch` of `hdon.h`.
///
/// # Safety
/// `model` opened by `hdon_model_open`; `sensors` valid for `batch * n_sensors` reads;
/// `workspace` valid for `workspace_len` reads/writes and alive while the targets are used;
/// `targets` valid for writes of `batch` `hdon_target`.
#[no_mangle]
pub unsafe extern "C" fn hdon_generate_batch(
    model: *const HdonModel,
    sensors: *const f32,
    batch: usize,
    n_sensors: usize,
    workspace: *mut f32,
    workspace_len: usize,
    targets: *mut HdonTarget,
) -> c_int {
    let Some(total) = batch.checked_mul(n_sensors) else {
        return Status::SensorCount as c_int;
    };
    // SAFETY: caller contract for each pointer.
    let (model, sensors, ws) = match unsafe {
        generate_args(
            model,
            sensors,
            total,
            workspace,
            workspace_len,
            batch,
            targets,
        )
    } {
        Ok(args) => args,
        Err(rc) => return rc as c_int,
    };
    if batch == 0 {
        return Status::Ok as c_int;
    }
    if n_sensors != model.n_sensors() {
        return Status::SensorCount as c_int;
    }
    let mut gen = match model.generate_batch(sensors, ws) {
        Ok(g) => g,
        Err(e) => return status_of(&e) as c_int,
    };
    for i in 0..batch {
        match gen.target(i) {
            Ok(t) => {
                // SAFETY: targets valid for `batch` writes of HdonTarget, which fits a Target
                // (checked); each target borrows its own disjoint chunk of the workspace
                // (`workspace_len(batch) = batch * workspace_len(1)`), so they stay valid
                // together; the lifetimes are the caller's to keep (header contract).
                unsafe {
                    (targets.add(i) as *mut Target<'static>)
                        .write(core::mem::transmute::<Target<'_>, Target<'static>>(t))
                };
            }
            Err(e) => return status_of(&e) as c_int,
        }
    }
    Status::Ok as c_int
}

/// `hdon_team` of `hdon.h`: a [`Team`] on the heap, the C caller's from `hdon_team_new` to
/// `hdon_team_free`.
pub struct HdonTeam(Team);

/// `hdon_team_new` of `hdon.h`: NULL if a thread cannot be started.
#[no_mangle]
pub extern "C" fn hdon_team_new(threads: usize, spin_us: u64) -> *mut HdonTeam {
    match Team::new(threads, Duration::from_micros(spin_us)) {
        Ok(team) => Box::into_raw(Box::new(HdonTeam(team))),
        Err(_) => core::ptr::null_mut(),
    }
}

/// `hdon_team_free` of `hdon.h`: stops and joins the workers, frees the team. NULL: nothing.
///
/// # Safety
/// `team` is NULL or was returned by `hdon_team_new`, is not freed yet, and no call is running
/// on it.
#[no_mangle]
pub unsafe extern "C" fn hdon_team_free(team: *mut HdonTeam) {
    if !team.is_null() {
        // SAFETY: caller contract: a live box from hdon_team_new, given back once.
        drop(unsafe { Box::from_raw(team) });
    }
}

/// `hdon_eval_on` of `hdon.h`: [`Target::eval_on`] the team; the same bits as `hdon_eval`.
///
/// # Safety
/// As [`hdon_eval`](crate::hdon_eval); `team` NULL or a live team from `hdon_team_new`.
#[no_mangle]
pub unsafe extern "C" fn hdon_eval_on(
    team: *const HdonTeam,
    target: *mut HdonTarget,
    points: *const f32,
    n_points: usize,
    out: *mut f32,
    out_len: usize,
) -> c_int {
    // SAFETY: caller contract: NULL or a live team.
    let Some(team) = (unsafe { team.as_ref() }) else {
        return Status::Null as c_int;
    };
    // SAFETY: forwarded caller contract.
    unsafe {
        eval_with(target, points, n_points, out, out_len, |t, p, o| {
            t.eval_on(&team.0, p, o)
        })
    }
}

/// Targets per team thread from which `hdon_eval_batch_on` gives the threads whole targets
/// (fewer: each target's points are split, as by `hdon_eval_on`).
const TARGETS_PER_THREAD: usize = 4;

/// A pointer shared by the threads of one `hdon_eval_batch_on` call, each using only the
/// elements of the indices it claimed.
struct Shared<T>(*mut T);

// SAFETY: the call's threads touch disjoint elements (one claim per index, see
// `hdon_eval_batch_on`), and the call returns only after all of them are done.
unsafe impl<T> Sync for Shared<T> {}

impl<T> Shared<T> {
    /// The pointer (a method, so that a closure captures the `Sync` wrapper, not the field).
    fn ptr(&self) -> *mut T {
        self.0
    }
}

/// `hdon_eval_batch_on` of `hdon.h`: `hdon_eval_batch` on the team's threads, each block the
/// bits of its target's `hdon_eval`.
///
/// # Safety
/// As [`hdon_eval_batch`](crate::hdon_eval_batch); `team` NULL or a live team from `hdon_team_new`.
#[no_mangle]
pub unsafe extern "C" fn hdon_eval_batch_on(
    team: *const HdonTeam,
    targets: *mut HdonTarget,
    batch: usize,
    points: *const f32,
    n_points: usize,
    out: *mut f32,
    out_len: usize,
) -> c_int {
    // SAFETY: caller contract: NULL or a live team.
    let Some(team) = (unsafe { team.as_ref() }) else {
        return Status::Null as c_int;
    };
    // SAFETY: forwarded caller contract.
    let (points, out, per) =
        match unsafe { batch_args(targets, batch, points, n_points, out, out_len) } {
            Ok(Some(args)) => args,
            Ok(None) => return Status::Ok as c_int,
            Err(rc) => return rc,
        };
    let team = &team.0;
    if batch < TARGETS_PER_THREAD * team.threads() {
        // SAFETY: forwarded caller contract.
        return unsafe { one_after_another(targets, out, per, |t, o| t.eval_on(team, points, o)) };
    }
    // Whole targets per thread: each thread claims the next index until none are left, so a
    // target and its block of `out` are used by the one thread that claimed them.
    let (next, stop) = (AtomicUsize::new(0), AtomicBool::new(false));
    let first_error: Mutex<Option<(usize, Error)>> = Mutex::new(None);
    let (tp, op) = (Shared(targets), Shared(out.as_mut_ptr()));
    team.run(&|| {
        while !stop.load(Ordering::Relaxed) {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= batch {
                return;
            }
            // SAFETY: index i is this thread's alone (claimed above); target i exists (caller
            // contract) and block i lies inside `out` (`batch * per` values, checked).
            let (t, o) = unsafe {
                (
                    batch_target(tp.ptr(), i),
                    core::slice::from_raw_parts_mut(op.ptr().add(i * per), per),
                )
            };
            if let Err(e) = t.eval(points, o) {
                stop.store(true, Ordering::Relaxed);
                let mut g = first_error.lock().unwrap_or_else(PoisonError::into_inner);
                if g.as_ref().is_none_or(|(j, _)| i < *j) {
                    *g = Some((i, e));
                }
                return;
            }
        }
    });
    match first_error
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner)
    {
        Some((_, e)) => status_of(&e) as c_int,
        None => Status::Ok as c_int,
    }
}
