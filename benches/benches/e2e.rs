//! End-to-end criterion benches of hdon's runtime on the workloads of issue 7
//! (`hdon_benches::SPECS`): generate, eval, total (and batched: workload B), f32 and int8
//! generate-side weights, 1 and 2 threads; plus the open time of `Model::from_bytes` on an mmap'd
//! ~1 MB model with and without checksums.
//!
//! ```text
//! cargo bench -p hdon-benches --bench e2e                 # everything (~5 minutes)
//! cargo bench -p hdon-benches --bench e2e -- 'eval/t1/S/' # a criterion filter: group PHASE/tTHREADS, id WORKLOAD/WEIGHTS
//! ```
//! Throughput: eval and total report points/s (every point of every function of the batch),
//! generate reports input functions/s. GFLOP/s = points/s x flops per point (+ generate flops
//! for total): the per-workload flops are printed at the start (`workloads list` prints them
//! too) and `benches/peers/run.sh` prints GFLOP/s directly.

use std::hint::black_box;
use std::io::Write;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use hdon_benches::e2e::{ModelBuf, Phase, Runner, State};
use hdon_benches::model::model_bytes;
use hdon_benches::{spec, WeightType, SPECS};
use hdon_runtime::{Model, Options};

fn phases(c: &mut Criterion) {
    eprintln!("workload             flops/generate   flops/point   batch  points");
    for s in SPECS {
        eprintln!(
            "{:<20} {:>14} {:>13} {:>7} {:>7}",
            s.name,
            s.flops_generate(),
            s.flops_per_point(),
            s.batch,
            s.n_points
        );
    }
    for threads in [1usize, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("rayon pool");
        for phase in Phase::ALL {
            let mut group = c.benchmark_group(format!("{}/t{threads}", phase.name()));
            group
                .warm_up_time(Duration::from_millis(300))
                .measurement_time(Duration::from_secs(2))
                .sample_size(20);
            for s in SPECS {
                let w = s.build();
                group.throughput(match phase {
                    Phase::Generate => Throughput::Elements(s.batch as u64),
                    Phase::Eval | Phase::Total => {
                        Throughput::Elements((s.batch * s.n_points) as u64)
                    }
                });
                for weights in WeightType::ALL {
                    if !weights.applies_to(s.family) {
                        continue;
                    }
                    let buf = ModelBuf::for_workload(&w, weights).expect("model file");
                    let runner = Runner::new(&w, &buf).expect("open model");
                    let mut state = runner.state();
                    let id = BenchmarkId::new(s.name, weights.name());
                    let State { workspace, out } = &mut state;
                    // criterion's handles are not Send: each sample runs its timed loop
                    // inside the pool (one `install` per sample, not per iteration).
                    let timed = |iters: u64, f: &mut (dyn FnMut() + Send)| {
                        pool.install(|| {
                            let t0 = Instant::now();
                            for _ in 0..iters {
                                f();
                            }
                            t0.elapsed()
                        })
                    };
                    match phase {
                        Phase::Generate => {
                            group.bench_function(id, |b| {
                                b.iter_custom(|iters| {
                                    timed(iters, &mut || {
                                        runner.generate(workspace, threads).map(drop).unwrap()
                                    })
                                })
                            });
                        }
                        Phase::Eval => {
                            let mut g = pool
                                .install(|| runner.generate(workspace, threads))
                                .expect("generate");
                            group.bench_function(id, |b| {
                                b.iter_custom(|iters| {
                                    timed(iters, &mut || runner.eval(&mut g, out, threads).unwrap())
                                })
                            });
                        }
                        Phase::Total => {
                            group.bench_function(id, |b| {
                                b.iter_custom(|iters| {
                                    timed(iters, &mut || {
                                        let mut g = runner.generate(workspace, threads).unwrap();
                                        runner.eval(&mut g, out, threads).unwrap()
                                    })
                                })
                            });
                        }
                    }
                }
            }
            group.finish();
        }
    }
}

/// `Model::from_bytes` on an mmap'd model file of ~1 MB: the advection HyperDeepONet (268K f32
/// parameters, 1.07 MB), with and without checksum verification.
fn open(c: &mut Criterion) {
    let w = spec("advection-hyper").expect("workload").build();
    let bytes = model_bytes(&w, WeightType::F32).expect("model file");
    let dir = std::env::temp_dir().join(format!("hdon-bench-open-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("advection-hyper.hdon");
    std::fs::File::create(&path)
        .and_then(|mut f| f.write_all(&bytes))
        .expect("write model file");
    let file = std::fs::File::open(&path).expect("open model file");
    // SAFETY: the file is ours, in a fresh directory, and nothing writes it while it is mapped.
    let map = unsafe { memmap2::Mmap::map(&file) }.expect("mmap");
    let mut group = c.benchmark_group("open");
    group.throughput(Throughput::Bytes(map.len() as u64));
    group.bench_function(BenchmarkId::new("from_bytes", "checksums"), |b| {
        b.iter(|| Model::from_bytes(black_box(&map[..])).map(drop).unwrap())
    });
    let no_crc = Options {
        verify_checksums: false,
        ..Options::default()
    };
    group.bench_function(BenchmarkId::new("from_bytes", "no_checksums"), |b| {
        b.iter(|| {
            Model::from_bytes_with(black_box(&map[..]), no_crc)
                .map(drop)
                .unwrap()
        })
    });
    group.finish();
    drop(map);
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, open, phases);
criterion_main!(benches);
