//! Proof that `Model::from_bytes`, `Model::generate`, `Target::eval` and `Model::generate_on`
//! (on a team made beforehand, its workers included) never touch the heap: a counting global
//! allocator (this test binary has exactly one test, so no other thread allocates while we
//! count).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use hdon_format::AlignedBytes;
use std::time::Duration;

use hdon_runtime::{Model, Team};
use hdon_tests::build::to_hdon;
use hdon_tests::random::{random_model, Spec, WeightType};

struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::SeqCst) {
            ALLOCS.fetch_add(1, Ordering::SeqCst);
        }
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Ordering::SeqCst) {
            ALLOCS.fetch_add(1, Ordering::SeqCst);
        }
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Runs `f` and returns how many allocations happened meanwhile.
fn count<R>(f: impl FnOnce() -> R) -> (R, usize) {
    ALLOCS.store(0, Ordering::SeqCst);
    COUNTING.store(true, Ordering::SeqCst);
    let r = f();
    COUNTING.store(false, Ordering::SeqCst);
    (r, ALLOCS.load(Ordering::SeqCst))
}

#[test]
fn from_bytes_generate_eval_do_not_allocate() {
    // The kernels' one-time CPU detection (feature std reads HDON_KERNEL) is not part of the
    // claim: do it before counting.
    let _ = hdon_kernels::active_path();
    // The counter works: a Vec allocation is seen.
    let (_, n) = count(|| std::hint::black_box(vec![1u8; 10]));
    assert_eq!(n, 1);

    for fam in hdon_tests::FAMILIES {
        for w in [WeightType::F32, WeightType::I8] {
            let mut spec = Spec::small(fam);
            spec.weights = w;
            let bytes = AlignedBytes::from_slice(&to_hdon(&random_model(&spec), w));
            let sensors = vec![0.3f32; spec.m];
            let points = vec![0.2f32; 100 * spec.d_y];
            let mut out = vec![0.0f32; 100 * spec.d_out];
            let mut ws = vec![0.0f32; 4096];

            let (model, n) = count(|| Model::from_bytes(&bytes));
            let model = model.unwrap();
            assert_eq!(n, 0, "{fam}: from_bytes allocated");
            assert!(model.workspace_len(1) <= ws.len());
            let (res, n) = count(|| {
                let mut t = model.generate(&sensors, &mut ws)?;
                t.eval(&points, &mut out)?;
                t.eval(&points[..7 * spec.d_y], &mut out[..7 * spec.d_out])?;
                // Error paths do not allocate either.
                let _ = t.eval(&points[..1], &mut out);
                Ok::<_, hdon_runtime::Error>(())
            });
            res.unwrap();
            assert_eq!(n, 0, "{fam}: generate/eval allocated");
            assert!(out.iter().all(|v| v.is_finite()));
        }
    }

    // generate_on with the last hypernetwork layer (9,794 x 128 f32) split over a team of 2
    // whose workers spin (the job reaches them) and of 3 that park at once (they are woken).
    let mut spec = Spec::small("hyper");
    (spec.m, spec.gen_hidden, spec.target_hidden) = (30, vec![128], vec![96, 96]);
    let bytes = AlignedBytes::from_slice(&to_hdon(&random_model(&spec), WeightType::F32));
    let model = Model::from_bytes(&bytes).unwrap();
    let sensors = vec![0.3f32; spec.m];
    let mut ws = vec![0.0f32; model.workspace_len(1)];
    let mut want = vec![0.0f32; ws.len()];
    model.generate(&sensors, &mut want).unwrap();
    for (threads, spin_ms) in [(2, 1000), (3, 0)] {
        let team = Team::new(threads, Duration::from_millis(spin_ms)).unwrap();
        // Every worker has started (std stores each new thread's name on the heap, at its
        // start, which is not part of the claim) once it has run a job.
        team.run(&|| ());
        let (res, n) = count(|| model.generate_on(&team, &sensors, &mut ws).map(drop));
        res.unwrap();
        assert_eq!(n, 0, "generate_on ({threads} threads) allocated");
        assert!(ws
            .iter()
            .zip(&want)
            .all(|(a, b)| a.to_bits() == b.to_bits()));
    }
}
