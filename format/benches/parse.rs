//! Parse cost of a ~1 MB model (HyperDeepONet, hypernet 128 -> 256 -> 901 f32, target net
//! [1, 20, 20, 20, 1]) with and without checksums, and CRC32C throughput (hardware vs
//! portable slice-by-8). `cargo bench -p hdon-format --bench parse`.
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use hdon_format::*;
use std::hint::black_box;

fn one_mb_model() -> AlignedBytes {
    let sizes = [128u32, 256, 901];
    let mut b = ModelBuilder::new(ArchSpec {
        family: Family::HyperDeepONet,
        n_sensors: 128,
        d_y: 1,
        d_out: 1,
        p: 0,
        theta_layout: 1,
        n_theta: 901,
        n_chunks: 0,
        chunk_size: 0,
        d_z: 0,
        chunk_embeddings: None,
        networks: Vec::new(),
        target: vec![
            TargetLayer {
                n_in: 1,
                n_out: 20,
                activation: Activation::Tanh,
            },
            TargetLayer {
                n_in: 20,
                n_out: 20,
                activation: Activation::Tanh,
            },
            TargetLayer {
                n_in: 20,
                n_out: 20,
                activation: Activation::Tanh,
            },
            TargetLayer {
                n_in: 20,
                n_out: 1,
                activation: Activation::Identity,
            },
        ],
    });
    let mut layers = Vec::new();
    for i in 0..2 {
        let (n_in, n_out) = (sizes[i], sizes[i + 1]);
        let w: Vec<f32> = (0..n_in * n_out).map(|k| (k as f32 * 0.37).sin()).collect();
        let weight = b.add_tensor(
            &format!("hyper.{i}.weight"),
            &[n_out, n_in],
            TensorBuf::F32(w),
        );
        let bias = b.add_tensor(
            &format!("hyper.{i}.bias"),
            &[n_out],
            TensorBuf::F32(vec![0.1; n_out as usize]),
        );
        let activation = if i == 0 {
            Activation::Tanh
        } else {
            Activation::Identity
        };
        layers.push(Layer {
            n_in,
            n_out,
            activation,
            weight,
            bias: Some(bias),
        });
    }
    let mut arch = b.arch().clone();
    arch.networks.push(NetworkSpec {
        role: Role::Hyper,
        layers,
    });
    b.set_arch(arch);
    b.set_metadata(MetadataSpec {
        model_name: "bench".into(),
        sensors: (0..128).map(|i| i as f32 / 127.0).collect(),
        sensor_dim: 1,
        domain_lower: vec![0.0],
        domain_upper: vec![1.0],
        ..Default::default()
    });
    b.set_workspace(&[(1, 2000), (8, 9000)]);
    AlignedBytes::from_slice(&b.to_bytes().expect("valid bench model"))
}

fn bench(c: &mut Criterion) {
    let bytes = one_mb_model();
    let mut g = c.benchmark_group("parse_1mb");
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.bench_function("checksums", |b| {
        b.iter(|| ModelFile::parse(black_box(&bytes)).unwrap().tensor_count())
    });
    let fast = ParseOptions {
        verify_checksums: false,
    };
    g.bench_function("no_checksums", |b| {
        b.iter(|| {
            ModelFile::parse_with(black_box(&bytes), fast)
                .unwrap()
                .tensor_count()
        })
    });
    g.finish();

    let mut g = c.benchmark_group("crc32c_1mb");
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.bench_function(
        if crc32c_is_hardware() {
            "dispatch_sse42"
        } else {
            "dispatch_portable"
        },
        |b| b.iter(|| crc32c(black_box(&bytes))),
    );
    g.bench_function("portable_slice_by_8", |b| {
        b.iter(|| crc32c_portable(black_box(&bytes)))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
