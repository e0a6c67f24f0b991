//! Kernel throughput (1 thread): tile evaluation of target MLPs in GFLOP/s, GEMV in GB/s,
//! next to this machine's FMA peak and L2 read bandwidth measured in the same run.
//!
//! `nice -n 0 cargo bench -p hdon-benches --bench kernels`
//!
//! With `HDON_BENCH_CLOCK=cpu` (default `wall`) every sample is timed by this thread's CPU time
//! (`CLOCK_THREAD_CPUTIME_ID`) instead of wall time: on a machine shared with other jobs the
//! wall clock also counts the time other processes hold the core, the CPU clock does not
//! (a busy hyper-thread sibling still slows both). Criterion keeps the two in separate
//! baselines only by bench name, so compare runs of the same clock.
//!
//! Throughput units as criterion prints them: `elem/s` of the `peak/fma` and `mlp_eval/*`
//! benches are flops/s (2 per multiply-add plus one per bias add; activations not counted);
//! `B/s` of `peak/l2_read` and `gemv*/*` are bytes of weights read per second (values plus
//! int8 scales).

use std::hint::black_box;

use std::time::Duration;

use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{BenchmarkGroup, BenchmarkId, Criterion, Throughput};
use half::{bf16, f16};
use hdon_kernels::{
    fold_tanh, fold_tanh_lanes, gemm_on, gemv_batch_on, mlp_eval_on, mlp_scratch_len, Activation,
    Layer, MatRef, Path, WeightData,
};

#[path = "../src/bin/peak.rs"]
mod peak;

/// Thread CPU time as a criterion measurement (formatted like wall time).
struct CpuTime;

fn thread_cpu_now() -> Duration {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: valid out-pointer; CLOCK_THREAD_CPUTIME_ID exists on Linux.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

impl Measurement for CpuTime {
    type Intermediate = Duration;
    type Value = Duration;
    fn start(&self) -> Duration {
        thread_cpu_now()
    }
    fn end(&self, start: Duration) -> Duration {
        thread_cpu_now().saturating_sub(start)
    }
    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }
    fn zero(&self) -> Duration {
        Duration::ZERO
    }
    fn to_f64(&self, v: &Duration) -> f64 {
        v.as_nanos() as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        WallTime.formatter()
    }
}

fn paths() -> Vec<Path> {
    [Path::Avx512, Path::Avx2, Path::Portable]
        .into_iter()
        .filter(|p| p.is_supported())
        .collect()
}

/// Deterministic values in [-scale, scale).
fn values(n: usize, scale: f32) -> Vec<f32> {
    (0..n)
        .map(|i| {
            ((i as u32).wrapping_mul(2_654_435_761) >> 8) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0
        })
        .map(|v| v * scale)
        .collect()
}

fn bench_peak<M: Measurement>(c: &mut Criterion<M>) {
    let mut g = c.benchmark_group("peak");
    g.throughput(Throughput::Elements(peak::fma_flops()));
    g.bench_function("fma", |b| b.iter(|| black_box(peak::fma_peak())));
    let l2 = peak::l2_bytes();
    let buf = values(l2 / 4, 1.0);
    g.throughput(Throughput::Bytes(l2 as u64));
    g.bench_function("l2_read", |b| {
        b.iter(|| black_box(peak::l2_read(black_box(&buf))))
    });
    g.finish();
}

/// Target net `2 - w - w - w - 1`, tanh hidden, identity output, at 10,000 points. The
/// `tanh-folded` cases are the same tanh networks rewritten by `fold_tanh` (the form the
/// runtime evaluates generated targets in): the same function and flop count.
fn bench_mlp<M: Measurement>(c: &mut Criterion<M>) {
    let n = 10_000;
    let mut g = c.benchmark_group("mlp_eval");
    for (w, hidden) in [
        (20usize, Activation::Tanh),
        (20, Activation::TanhFolded),
        (20, Activation::Relu),
        (33, Activation::Tanh),
        (33, Activation::TanhFolded),
        (64, Activation::Tanh),
        (64, Activation::TanhFolded),
    ] {
        let sizes = [2, w, w, w, 1];
        let mut theta: Vec<Vec<f32>> = sizes
            .windows(2)
            .map(|s| values(s[1] * (s[0] + 1), 1.5 / (s[0] as f32).sqrt()))
            .collect();
        if hidden == Activation::TanhFolded {
            let last = theta.len() - 1;
            for (k, (p, s)) in theta.iter_mut().zip(sizes.windows(2)).enumerate() {
                fold_tanh(p, s[0], k > 0, k < last).expect("block sizes match");
            }
        }
        let layers: Vec<Layer<'_>> = sizes
            .windows(2)
            .zip(&theta)
            .enumerate()
            .map(|(k, (s, p))| Layer {
                n_in: s[0],
                n_out: s[1],
                act: if k + 2 == sizes.len() {
                    Activation::Identity
                } else {
                    hidden
                },
                params: p,
            })
            .collect();
        let flops_per_point: usize = sizes.windows(2).map(|s| 2 * s[0] * s[1] + s[1]).sum();
        let pts = values(n * 2, 1.0);
        let mut out = vec![0.0f32; n];
        let mut scratch = vec![0.0f32; mlp_scratch_len(&layers)];
        g.throughput(Throughput::Elements((flops_per_point * n) as u64));
        for path in paths() {
            if (w != 20 || !matches!(hidden, Activation::Tanh | Activation::TanhFolded))
                && path != paths()[0]
            {
                continue; // other paths only at width 20 with tanh, to keep the run short
            }
            let name = format!("w{w}_{}", hidden.name());
            g.bench_function(BenchmarkId::new(name, path.name()), |b| {
                b.iter(|| {
                    mlp_eval_on(path, &layers, black_box(&pts), &mut out, &mut scratch).unwrap()
                })
            });
        }
    }
    g.finish();
}

/// One single-vector GEMV bench: `y = W x + bias` (identity) on `path`.
fn bench_gemv_one<M: Measurement>(
    g: &mut BenchmarkGroup<'_, M>,
    id: BenchmarkId,
    path: Path,
    m: &MatRef<'_>,
    x: &[f32],
    bias: &[f32],
    y: &mut [f32],
) {
    g.bench_function(id, |b| {
        b.iter(|| {
            gemv_batch_on(
                path,
                m,
                black_box(x),
                1,
                Some(bias),
                Activation::Identity,
                y,
            )
            .unwrap()
        })
    });
}

fn bench_gemv_f32<M: Measurement>(c: &mut Criterion<M>) {
    let mut g = c.benchmark_group("gemv_f32");
    for (rows, cols) in [(100usize, 921usize), (70, 3466)] {
        let w = values(rows * cols, 0.05);
        let m = MatRef {
            rows,
            cols,
            data: WeightData::F32(&w),
        };
        let x = values(cols, 1.0);
        let bias = values(rows, 0.1);
        let mut y = vec![0.0f32; rows];
        g.throughput(Throughput::Bytes(m.bytes() as u64));
        for path in paths() {
            let id = BenchmarkId::new(format!("{rows}x{cols}"), path.name());
            bench_gemv_one(&mut g, id, path, &m, &x, &bias, &mut y);
        }
    }
    g.finish();
}

/// Row alignment of an f32 GEMV, widest path: S's hypernetwork output layer as stored
/// (921 rows of 100 columns: rows start 0, 16, 32 or 48 bytes past a 64-byte boundary and end
/// in a 4-column tail), the same 100 columns with rows 112 apart (`WeightData::F32Strided`,
/// the format's `f32-padded`: rows aligned, the 4-column tail still ends each row), the rows
/// padded to 112 columns (every row starts on a 64-byte boundary, no tail; 12 % more bytes),
/// and the 112-column matrix moved 16 bytes off the boundary (no tail, every row misaligned). Throughput in bytes of weights: how fast the kernel streams
/// L2-resident rows in each layout.
fn bench_gemv_rows<M: Measurement>(c: &mut Criterion<M>) {
    #[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
    #[repr(C, align(64))]
    struct Line([f32; 16]);
    let mut g = c.benchmark_group("gemv_rows");
    let path = hdon_kernels::best_path();
    let rows = 921;
    // (name, columns, row stride, offset of the first row in f32 from a 64-byte line)
    for (name, cols, lda, offset) in [
        ("921x100", 100usize, 100usize, 0usize),
        ("921x100_lda112", 100, 112, 0),
        ("921x112_aligned", 112, 112, 0),
        ("921x112_off16B", 112, 112, 4),
    ] {
        let src = values(rows * cols, 0.05);
        let mut lines = vec![Line([0.0; 16]); (rows * lda + offset).div_ceil(16)];
        let flat: &mut [f32] = bytemuck::cast_slice_mut(&mut lines);
        for (r, row) in src.chunks_exact(cols).enumerate() {
            flat[offset + r * lda..][..cols].copy_from_slice(row);
        }
        let stored = &flat[offset..offset + rows * lda];
        let data = if lda == cols {
            WeightData::F32(stored)
        } else {
            WeightData::F32Strided {
                values: stored,
                lda,
            }
        };
        let m = MatRef { rows, cols, data };
        let x = values(cols, 1.0);
        let bias = values(rows, 0.1);
        let mut y = vec![0.0f32; rows];
        g.throughput(Throughput::Bytes(m.bytes() as u64));
        let id = BenchmarkId::new(name, path.name());
        bench_gemv_one(&mut g, id, path, &m, &x, &bias, &mut y);
    }
    g.finish();
}

/// int8 W8A16 GEMV of one vector (`cols <= QMAX_COLS`: the integer kernels) on the shapes of
/// workload S's hypernetwork (output layer 921x100 from a ReLU layer, hidden 100x100) and L's
/// output layer (8641x256), row-major (`i8`) and blocked (`i8b`), f32 alongside for the
/// ratio. `int8_kernel` / `int8_blocked_kernel` name the integer kernel of each path (AVX-512:
/// `avx512vnni-bytes` / `avx512vnni-blocked` on CPUs with VNNI and VBMI).
fn bench_gemv_i8<M: Measurement>(c: &mut Criterion<M>) {
    let mut g = c.benchmark_group("gemv_i8");
    for (rows, cols) in [(921usize, 100usize), (100, 100), (8641, 256)] {
        let wf = values(rows * cols, 0.05);
        let q: Vec<i8> = wf
            .iter()
            .map(|&v| (v / 0.05 * 127.0).round() as i8)
            .collect();
        let scales = vec![0.05f32 / 127.0; rows];
        // ReLU outputs: the non-negative input of every layer but the first.
        let x: Vec<f32> = values(cols, 1.0).iter().map(|v| v.max(0.0)).collect();
        let bias = values(rows, 0.1);
        let mut y = vec![0.0f32; rows];
        let mut blocked = vec![0i8; hdon_kernels::i8_blocked_len(rows, cols).unwrap()];
        hdon_kernels::pack_i8_blocked(&q, rows, cols, &mut blocked).unwrap();
        for (dtype, data) in [
            (
                "i8",
                WeightData::I8 {
                    values: &q,
                    scales: &scales,
                },
            ),
            (
                "i8b",
                WeightData::I8Blocked {
                    values: &blocked,
                    scales: &scales,
                },
            ),
            ("f32", WeightData::F32(&wf)),
        ] {
            let m = MatRef { rows, cols, data };
            g.throughput(Throughput::Bytes(m.bytes() as u64));
            for path in paths() {
                let kernel = match dtype {
                    "i8" => hdon_kernels::int8_kernel(path),
                    "i8b" => hdon_kernels::int8_blocked_kernel(path),
                    _ => path.name(),
                };
                let id = BenchmarkId::new(format!("{rows}x{cols}/{dtype}"), kernel);
                bench_gemv_one(&mut g, id, path, &m, &x, &bias, &mut y);
            }
        }
    }
    g.finish();
}

/// Batched f32 GEMV on the widest path, `per_call` vectors per `gemv_batch` call against one
/// call per vector: 70x3466 for 8 input functions (rows too long for the AVX-512 wide block:
/// blocks of 4 vectors), and the S hypernetwork's output layer, 921 rows x 100 columns, for 64
/// functions (workload B): 4 per call = blocks of 4, 64 per call = wide blocks of 16.
/// Throughput is weight bytes as if every vector read W (`n` x the matrix per iteration).
fn bench_gemv_batch<M: Measurement>(c: &mut Criterion<M>) {
    let mut g = c.benchmark_group("gemv_batch");
    for (rows, cols, n, per_calls) in [
        (70usize, 3466usize, 8usize, &[1usize, 8][..]),
        (921, 100, 64, &[1, 4, 64][..]),
    ] {
        let w = values(rows * cols, 0.05);
        let m = MatRef {
            rows,
            cols,
            data: WeightData::F32(&w),
        };
        let x = values(n * cols, 1.0);
        let bias = values(rows, 0.1);
        let mut y = vec![0.0f32; n * rows];
        let path = paths()[0];
        g.throughput(Throughput::Bytes((n * m.bytes()) as u64));
        for &per_call in per_calls {
            g.bench_function(
                BenchmarkId::new(
                    format!("{rows}x{cols}_x{n}"),
                    format!("{}_per_call_{per_call}", path.name()),
                ),
                |b| {
                    b.iter(|| {
                        for (xc, yc) in x.chunks(per_call * cols).zip(y.chunks_mut(per_call * rows))
                        {
                            gemv_batch_on(
                                path,
                                &m,
                                black_box(xc),
                                per_call,
                                Some(&bias),
                                Activation::Identity,
                                yc,
                            )
                            .unwrap()
                        }
                    })
                },
            );
        }
    }
    g.finish();
}

/// The broadcast form ([`gemm`]: vectors in lanes) on the batched-generate shapes of
/// workload B (S's hypernetwork for 64 functions: 100x100 hidden layers, 921x100 output
/// layer), next to `gemv_batch` (dot form) on the same vectors. Throughput in flops (2 per
/// multiply-add).
fn bench_gemm<M: Measurement>(c: &mut Criterion<M>) {
    let mut g = c.benchmark_group("gemm");
    for (rows, cols, n) in [
        (921usize, 100usize, 64usize),
        (100, 100, 64),
        (921, 100, 16),
    ] {
        let w = values(rows * cols, 0.05);
        let m = MatRef {
            rows,
            cols,
            data: WeightData::F32(&w),
        };
        let x = values(n * cols, 1.0);
        let bias = values(rows, 0.1);
        let mut y = vec![0.0f32; n * rows];
        let path = paths()[0];
        g.throughput(Throughput::Elements((2 * rows * cols * n) as u64));
        let shape = format!("{rows}x{cols}_x{n}");
        g.bench_function(
            BenchmarkId::new(&shape, format!("{}_gemm", path.name())),
            |b| {
                b.iter(|| {
                    gemm_on(
                        path,
                        &m,
                        black_box(&x),
                        n,
                        Some(&bias),
                        Activation::Relu,
                        &mut y,
                    )
                    .unwrap()
                })
            },
        );
        g.bench_function(
            BenchmarkId::new(&shape, format!("{}_gemv_batch", path.name())),
            |b| {
                b.iter(|| {
                    gemv_batch_on(
                        path,
                        &m,
                        black_box(&x),
                        n,
                        Some(&bias),
                        Activation::Relu,
                        &mut y,
                    )
                    .unwrap()
                })
            },
        );
    }
    g.finish();
}

/// The tanh fold of one generated theta of workload S's target (2-20-20-20-1, 921 f32), as
/// every HyperDeepONet generate runs it: `fold_tanh` (the baseline build's code) against
/// `fold_tanh_lanes` with one column (the same operations in the active path's entry). Each
/// iteration first restores the theta (a 3.7 KB copy, in both).
fn bench_fold<M: Measurement>(c: &mut Criterion<M>) {
    let mut g = c.benchmark_group("fold_tanh");
    let sizes = [2usize, 20, 20, 20, 1];
    let blocks: Vec<(usize, usize)> = sizes.windows(2).map(|w| (w[0], w[1])).collect();
    let theta = values(blocks.iter().map(|&(i, o)| o * (i + 1)).sum(), 0.3);
    let mut work = theta.clone();
    let last = blocks.len() - 1;
    let run = |work: &mut [f32], lanes: bool| {
        work.copy_from_slice(&theta);
        let mut rest = work;
        for (k, &(n_in, n_out)) in blocks.iter().enumerate() {
            let (p, tail) = rest.split_at_mut(n_out * (n_in + 1));
            let (input, output) = (k > 0, k < last);
            if lanes {
                fold_tanh_lanes(p, n_in, 1, input, output).expect("block sizes match");
            } else {
                fold_tanh(p, n_in, input, output).expect("block sizes match");
            }
            rest = tail;
        }
    };
    g.throughput(Throughput::Elements(theta.len() as u64));
    g.bench_function("S_theta/baseline", |b| {
        b.iter(|| run(black_box(&mut work), false))
    });
    g.bench_function(format!("S_theta/{}", paths()[0].name()), |b| {
        b.iter(|| run(black_box(&mut work), true))
    });
    g.finish();
}

/// 256 x 16384 in every dtype: int8 reads a quarter of the bytes of f32.
fn bench_gemv_dtypes<M: Measurement>(c: &mut Criterion<M>) {
    let (rows, cols) = (256usize, 16_384usize);
    let wf = values(rows * cols, 0.05);
    let w16: Vec<f16> = wf.iter().map(|&v| f16::from_f32(v)).collect();
    let wb: Vec<bf16> = wf.iter().map(|&v| bf16::from_f32(v)).collect();
    let q: Vec<i8> = wf
        .iter()
        .map(|&v| (v / 0.05 * 127.0).round() as i8)
        .collect();
    let scales = vec![0.05f32 / 127.0; rows];
    let x = values(cols, 1.0);
    let mut y = vec![0.0f32; rows];
    let mut g = c.benchmark_group("gemv_256x16384");
    let path = paths()[0];
    for (name, data) in [
        ("f32", WeightData::F32(&wf)),
        ("f16", WeightData::F16(&w16)),
        ("bf16", WeightData::Bf16(&wb)),
        (
            "i8",
            WeightData::I8 {
                values: &q,
                scales: &scales,
            },
        ),
    ] {
        let m = MatRef { rows, cols, data };
        g.throughput(Throughput::Bytes(m.bytes() as u64));
        g.bench_function(BenchmarkId::new(name, path.name()), |b| {
            b.iter(|| {
                gemv_batch_on(
                    path,
                    &m,
                    black_box(&x),
                    1,
                    None,
                    Activation::Identity,
                    &mut y,
                )
                .unwrap()
            })
        });
    }
    g.finish();
}

fn run<M: Measurement>(c: &mut Criterion<M>) {
    bench_peak(c);
    bench_mlp(c);
    bench_gemv_f32(c);
    bench_gemv_rows(c);
    bench_gemv_i8(c);
    bench_gemv_dtypes(c);
    bench_gemv_batch(c);
    bench_gemm(c);
    bench_fold(c);
}

fn main() {
    let base = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    let clock = std::env::var("HDON_BENCH_CLOCK").unwrap_or_default();
    if !matches!(clock.as_str(), "" | "wall" | "cpu") {
        // A typo ran the whole bench on the wall clock without a word.
        eprintln!("kernels: HDON_BENCH_CLOCK must be cpu or wall (found {clock:?})");
        std::process::exit(2);
    }
    if clock == "cpu" {
        let mut c = base.with_measurement(CpuTime).configure_from_args();
        run(&mut c);
        c.final_summary();
    } else {
        let mut c = base.configure_from_args();
        run(&mut c);
        c.final_summary();
    }
}
