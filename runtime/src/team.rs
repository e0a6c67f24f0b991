//! Feature `std`: [`Team`], worker threads that spin-wait between jobs.
//!
//! A rayon thread falls asleep within microseconds of running out of work, and waking it costs
//! a futex wake and a reschedule: 16-55 us on a VM (`machine`'s wake-up row in
//! `docs/PERFORMANCE.md`), a sixth of the S workload's 2-thread eval. A `Team` keeps its workers
//! polling for the next job for a set time (`spin`) after each one, as OpenMP runtimes do under
//! `OMP_WAIT_POLICY=active` and ONNX Runtime does with `allow_spinning`: a job that comes within
//! `spin` starts on every worker in under a microsecond (0.6-0.9 us on that VM). The price is a
//! busy core per worker for `spin` after every job. Past `spin` a worker parks on a condition variable
//! and the next job wakes it as rayon would.
//!
//! Protocol (one job at a time): the caller publishes the job, sets `running` to the number of
//! workers and bumps `generation`; every worker runs the job once per generation and counts
//! `running` down; the caller runs the job too and returns when `running` is 0, so the job (a
//! closure on the caller's stack) outlives every use of it.

use std::boxed::Box;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError, TryLockError};

use crate::par::lock;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};
use std::vec::Vec;

/// A job as the workers see it: the caller's closure with its lifetime erased (see [`erase`]).
type JobPtr = *const (dyn Fn() + Sync + 'static);

/// A panic payload caught on a worker, re-raised on the caller.
type Payload = Box<dyn core::any::Any + Send + 'static>;

/// Worker threads for [`crate::Target::eval_on`] and [`crate::Model::generate_batch_on`] that
/// poll for the next job for `spin` after each one instead of falling asleep at once.
///
/// `Team::new(2, spin)` makes one worker: with the calling thread, two threads share each job.
/// Use it where calls come in bursts with short gaps (a few hundred microseconds of serial work
/// between two parallel calls): there a rayon pool's threads are asleep by the next call and
/// each call pays their wake-up (see `docs/PERFORMANCE-LOG.md`, "Spinning workers"). Each worker
/// keeps a core busy for up to `spin` after every job: give a team no more threads than the
/// cores you have (with more, polling workers yield their core every ~2 us, and a yield cost
/// a worker its core for ~85 us now and then in a VM).
///
/// One job runs at a time. A call made while the team is busy (from another thread, or from
/// inside a job) does not wait: it runs on its calling thread alone. Dropping the team stops
/// and joins its workers.
///
/// ```
/// use std::time::Duration;
/// let team = hdon_runtime::Team::new(2, Duration::from_millis(1)).unwrap();
/// assert_eq!(team.threads(), 2);
/// ```
pub struct Team {
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
    /// Held while a job runs: one job at a time.
    busy: Mutex<()>,
}

/// State shared by the caller and the workers.
struct Shared {
    /// Bumped once per job; a worker runs the job when this differs from the last it saw.
    generation: AtomicU64,
    /// The current job; valid while `running > 0` (the caller waits for 0 before returning).
    job: Mutex<Option<SendJob>>,
    /// Workers that have not finished the current job.
    running: AtomicUsize,
    /// The first panic of a worker in the current job.
    panic: Mutex<Option<Payload>>,
    /// Workers parked on `wake` (or about to park: counted under `sleep`).
    sleepers: AtomicUsize,
    sleep: Mutex<()>,
    wake: Condvar,
    shutdown: AtomicBool,
    /// How long a worker polls for the next job before it parks.
    spin: Duration,
    /// More threads than the cores this process may use (`available_parallelism`).
    oversubscribed: bool,
}

/// [`JobPtr`] made `Send` so it can sit in [`Shared`].
#[derive(Clone, Copy)]
struct SendJob(JobPtr);

// SAFETY: the pointee is `Sync` (shared calls from several threads are fine) and the caller of
// `Team::run` keeps it alive until every worker is done with it.
unsafe impl Send for SendJob {}

impl core::fmt::Debug for Team {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Team")
            .field("threads", &self.threads())
            .field("spin", &self.shared.spin)
            .finish()
    }
}

/// Erases the lifetime of `job` so the workers can hold it.
///
/// # Safety
/// The caller must keep `job` alive until no worker can call it any more: [`Team::run`] waits
/// for `running == 0` before it returns or unwinds, and workers only call the job between
/// seeing its generation and counting `running` down.
unsafe fn erase<'a>(job: &'a (dyn Fn() + Sync + 'a)) -> JobPtr {
    let p: *const (dyn Fn() + Sync + 'a) = job;
    // SAFETY: a fat-pointer cast that only changes the trait object's lifetime bound; the
    // caller upholds the lifetime (see above).
    unsafe { core::mem::transmute::<*const (dyn Fn() + Sync + 'a), JobPtr>(p) }
}

impl Team {
    /// The most threads a team may have. Each is an OS thread with its own stack; far more
    /// than any machine has cores, and low enough that a wrong count (a negative number
    /// through C's `size_t`, say) is refused at once instead of spawning until the operating
    /// system gives up.
    pub const MAX_THREADS: usize = 1024;

    /// A team of `threads` threads: the calling thread of each job and `threads - 1` workers,
    /// spawned now, which poll for `spin` after each job (and right after they start) before
    /// they park (`Duration::MAX`: they never park). `threads` 0 or 1: no worker; every job
    /// runs on its caller.
    ///
    /// # Errors
    /// [`std::io::ErrorKind::InvalidInput`] if `threads` is above [`Team::MAX_THREADS`];
    /// the operating system's error if a thread cannot be spawned.
    pub fn new(threads: usize, spin: Duration) -> std::io::Result<Team> {
        if threads > Team::MAX_THREADS {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                std::format!(
                    "{threads} threads: a team has at most {}",
                    Team::MAX_THREADS
                ),
            ));
        }
        let shared = Arc::new(Shared {
            generation: AtomicU64::new(0),
            job: Mutex::new(None),
            running: AtomicUsize::new(0),
            panic: Mutex::new(None),
            sleepers: AtomicUsize::new(0),
            sleep: Mutex::new(()),
            wake: Condvar::new(),
            shutdown: AtomicBool::new(false),
            spin,
            oversubscribed: threads > thread::available_parallelism().map_or(1, |n| n.get()),
        });
        let mut team = Team {
            shared,
            workers: Vec::new(),
            busy: Mutex::new(()),
        };
        for k in 1..threads.max(1) {
            let s = Arc::clone(&team.shared);
            // On failure `team` is dropped here, which stops the workers already spawned.
            let h = thread::Builder::new()
                .name(std::format!("hdon-team-{k}"))
                .spawn(move || worker(&s))?;
            team.workers.push(h);
        }
        Ok(team)
    }

    /// Threads that share a job: the workers and the calling thread.
    pub fn threads(&self) -> usize {
        self.workers.len() + 1
    }

    /// How long a worker polls for the next job before it parks.
    pub fn spin(&self) -> Duration {
        self.shared.spin
    }

    /// Runs `job` on the calling thread and on every worker (once each), and returns when all
    /// calls have returned. The job splits its work itself: each call claims pieces until none
    /// are left, so a worker that starts late takes fewer. If the team is busy (a call from
    /// another thread, or from inside a job), `job` runs on the calling thread alone.
    ///
    /// # Panics
    /// If `job` panics on any thread: the panic is re-raised here after every call has ended
    /// (the team stays usable).
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// let team = hdon_runtime::Team::new(2, std::time::Duration::from_millis(1)).unwrap();
    /// let (next, sum) = (AtomicUsize::new(0), AtomicUsize::new(0));
    /// team.run(&|| loop {
    ///     let piece = next.fetch_add(1, Ordering::Relaxed);
    ///     if piece >= 100 {
    ///         break;
    ///     }
    ///     sum.fetch_add(piece, Ordering::Relaxed);
    /// });
    /// assert_eq!(sum.into_inner(), 4950);
    /// ```
    pub fn run(&self, job: &(dyn Fn() + Sync)) {
        // A poisoned lock only means an earlier job panicked; the team is in order again.
        let _busy = match self.busy.try_lock() {
            Ok(g) => g,
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
            Err(TryLockError::WouldBlock) => return job(),
        };
        if self.workers.is_empty() {
            return job();
        }
        let s = &*self.shared;
        s.running.store(self.workers.len(), Ordering::Relaxed);
        // SAFETY: `_done` below waits for `running == 0` on return and on unwind, so no worker
        // calls the job after this frame ends.
        *lock(&s.job) = Some(SendJob(unsafe { erase(job) }));
        // SeqCst pairs with the worker's `sleepers` increment then `generation` load: either the
        // worker sees this generation before it parks, or this thread sees it counted and
        // notifies it under the lock it holds until it waits.
        s.generation.fetch_add(1, Ordering::SeqCst);
        if s.sleepers.load(Ordering::SeqCst) > 0 {
            let _g = lock(&s.sleep);
            s.wake.notify_all();
        }
        let _done = WaitForWorkers(s);
        job();
        drop(_done);
        if let Some(p) = lock(&s.panic).take() {
            panic::resume_unwind(p);
        }
    }
}

/// Waits (spinning, then yielding) until every worker has finished the current job; on drop,
/// so it also runs while a panic of the caller's own call unwinds.
struct WaitForWorkers<'s>(&'s Shared);

impl Drop for WaitForWorkers<'_> {
    fn drop(&mut self) {
        let mut k = 0u32;
        while self.0.running.load(Ordering::Acquire) != 0 {
            if k < 1 << 12 {
                core::hint::spin_loop();
                k += 1;
            } else {
                thread::yield_now();
            }
        }
        *lock(&self.0.job) = None;
    }
}

impl Drop for Team {
    fn drop(&mut self) {
        self.shared.shutdown.store(true, Ordering::SeqCst);
        {
            let _g = lock(&self.shared.sleep);
            self.shared.wake.notify_all();
        }
        for h in self.workers.drain(..) {
            // A worker catches the panics of jobs; a join error cannot carry one of those.
            let _ = h.join();
        }
    }
}

/// A worker: waits for each new generation (polling for `spin`, then parked), runs its job,
/// counts `running` down; returns on shutdown.
fn worker(s: &Shared) {
    let mut seen = 0u64;
    loop {
        // None (a `spin` past the clock's range, e.g. `Duration::MAX`): never park.
        let deadline = Instant::now().checked_add(s.spin);
        let mut polls = 0u32;
        loop {
            let g = s.generation.load(Ordering::Acquire);
            if g != seen {
                seen = g;
                break;
            }
            if s.shutdown.load(Ordering::Acquire) {
                return;
            }
            core::hint::spin_loop();
            polls = polls.wrapping_add(1);
            if !polls.is_multiple_of(32) {
                continue;
            }
            // Every 32 polls (~1-2 us of PAUSEs): read the clock, and in a team with more
            // threads than cores give the core to a thread that is ready (pure spinning would
            // starve the threads that do the work). Not otherwise: a `sched_yield` in this VM
            // sometimes cost the worker its core for ~85 us (`machine`'s team start row: 82-89
            // us in 3 of 13 runs with it, 0.8-0.9 us in 6 of 6 without).
            if s.oversubscribed {
                thread::yield_now();
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                let mut g = lock(&s.sleep);
                s.sleepers.fetch_add(1, Ordering::SeqCst);
                while s.generation.load(Ordering::SeqCst) == seen
                    && !s.shutdown.load(Ordering::SeqCst)
                {
                    g = s.wake.wait(g).unwrap_or_else(PoisonError::into_inner);
                }
                s.sleepers.fetch_sub(1, Ordering::SeqCst);
            }
        }
        let job = *lock(&s.job);
        if let Some(SendJob(job)) = job {
            // SAFETY: the caller of `Team::run` keeps the job alive until `running` is 0, and
            // this worker has not counted down yet.
            let job = unsafe { &*job };
            if let Err(p) = panic::catch_unwind(AssertUnwindSafe(job)) {
                lock(&s.panic).get_or_insert(p);
            }
        }
        s.running.fetch_sub(1, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Mutex;
    use std::thread::{self, ThreadId};
    use std::time::Duration;
    use std::vec::Vec;

    use super::Team;

    /// Teams that park at once, and teams whose workers are still polling at the next job.
    const SPINS: [Duration; 2] = [Duration::ZERO, Duration::from_millis(5)];

    #[test]
    fn every_thread_runs_each_job_once() {
        for threads in [0, 1, 2, 3, 8] {
            for spin in SPINS {
                let team = Team::new(threads, spin).unwrap();
                assert_eq!(team.threads(), threads.max(1));
                // Miri (`cargo +nightly miri test -p hdon-runtime --lib team::`) runs a few.
                for run in 0..if cfg!(miri) { 3 } else { 300 } {
                    let ids = Mutex::new(Vec::<ThreadId>::new());
                    team.run(&|| ids.lock().unwrap().push(thread::current().id()));
                    let ids = ids.into_inner().unwrap();
                    let distinct: HashSet<_> = ids.iter().collect();
                    assert_eq!(ids.len(), team.threads(), "{team:?} run {run}");
                    assert_eq!(distinct.len(), team.threads(), "{team:?} run {run}");
                    assert!(ids.contains(&thread::current().id()), "{team:?} run {run}");
                }
            }
        }
    }

    #[test]
    fn a_panic_on_a_worker_reaches_the_caller_after_every_call_has_ended() {
        for spin in SPINS {
            let team = Team::new(3, spin).unwrap();
            let caller = thread::current().id();
            let (first_worker, ended) = (AtomicBool::new(true), AtomicUsize::new(0));
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                team.run(&|| {
                    let panics = thread::current().id() != caller
                        && first_worker.swap(false, Ordering::SeqCst);
                    if panics {
                        // Ends long after the others: `run` must wait for it, then re-raise.
                        thread::sleep(Duration::from_millis(20));
                    }
                    ended.fetch_add(1, Ordering::SeqCst);
                    if panics {
                        panic!("worker job failed");
                    }
                })
            }));
            let payload = r.expect_err("the worker's panic is re-raised");
            assert_eq!(payload.downcast_ref::<&str>(), Some(&"worker job failed"));
            assert_eq!(ended.load(Ordering::SeqCst), 3, "{team:?}");
            // The team works on afterwards, with every worker.
            let calls = AtomicUsize::new(0);
            team.run(&|| {
                calls.fetch_add(1, Ordering::SeqCst);
            });
            assert_eq!(calls.into_inner(), 3, "{team:?}");
        }
    }

    #[test]
    fn a_panic_on_the_caller_waits_for_the_workers() {
        let team = Team::new(2, Duration::ZERO).unwrap();
        let caller = thread::current().id();
        let worker_done = AtomicBool::new(false);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            team.run(&|| {
                if thread::current().id() == caller {
                    panic!("caller job failed");
                }
                thread::sleep(Duration::from_millis(20));
                worker_done.store(true, Ordering::SeqCst);
            })
        }));
        assert!(r.is_err());
        // The unwinding `run` returned only after the worker's call had ended.
        assert!(worker_done.load(Ordering::SeqCst));
        let calls = AtomicUsize::new(0);
        team.run(&|| {
            calls.fetch_add(1, Ordering::SeqCst);
        });
        assert_eq!(calls.into_inner(), 2);
    }

    #[test]
    fn a_call_into_a_busy_team_runs_on_its_own_thread() {
        for spin in SPINS {
            let team = Team::new(2, spin).unwrap();
            let inner = Mutex::new(Vec::new());
            // Every call of the outer job, on the caller and on the worker, calls `run` again:
            // the team is busy, so each inner job runs once, on the thread that asked for it.
            team.run(&|| {
                let me = thread::current().id();
                team.run(&|| inner.lock().unwrap().push((me, thread::current().id())));
            });
            let inner = inner.into_inner().unwrap();
            assert_eq!(inner.len(), 2, "{team:?}");
            assert!(inner.iter().all(|(asked, ran)| asked == ran), "{team:?}");
        }
    }

    #[test]
    fn callers_on_several_threads_each_get_every_job_done() {
        for spin in SPINS {
            let team = Team::new(2, spin).unwrap();
            thread::scope(|s| {
                for _ in 0..4 {
                    s.spawn(|| {
                        for _ in 0..if cfg!(miri) { 5 } else { 200 } {
                            let calls = AtomicUsize::new(0);
                            team.run(&|| {
                                calls.fetch_add(1, Ordering::SeqCst);
                            });
                            // 2 when this caller had the team, 1 when it was busy.
                            assert!((1..=2).contains(&calls.into_inner()), "{team:?}");
                        }
                    });
                }
            });
        }
    }

    #[test]
    fn dropping_a_team_stops_parked_and_polling_workers() {
        // A worker polling for an hour, or for ever, must still see the shutdown: the drop
        // joins it.
        for spin in [Duration::ZERO, Duration::from_secs(3600), Duration::MAX] {
            let team = Team::new(4, spin).unwrap();
            team.run(&|| {});
            drop(team);
        }
    }

    #[test]
    fn more_threads_than_the_limit_are_refused_before_any_spawn() {
        for threads in [Team::MAX_THREADS + 1, usize::MAX] {
            let e = Team::new(threads, Duration::ZERO).unwrap_err();
            assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput, "{threads}: {e}");
            assert!(std::format!("{e}").contains("at most 1024"), "{e}");
        }
    }
}
