//! Build -> parse -> every field and tensor equal, for every family; determinism.
mod common;
use common::*;
use hdon_format::*;

fn same_affine(a: Option<Affine<'_>>, b: &Option<AffineSpec>) {
    match (a, b) {
        (None, None) => {}
        (Some(a), Some(b)) => {
            assert_eq!(a.mean, &b.mean[..]);
            assert_eq!(a.std, &b.std[..]);
        }
        (a, b) => panic!("affine differs: {a:?} vs {b:?}"),
    }
}

fn check(fx: &Fixture, file: &ModelFile<'_>) {
    assert_eq!(file.version(), (VERSION_MAJOR, VERSION_MINOR));
    let a = file.arch();
    let s = &fx.arch;
    assert_eq!(a.family, s.family);
    assert_eq!(
        (
            a.n_sensors,
            a.d_y,
            a.d_out,
            a.p,
            a.theta_layout,
            a.n_theta,
            a.n_chunks,
            a.chunk_size,
            a.d_z
        ),
        (
            s.n_sensors,
            s.d_y,
            s.d_out,
            s.p,
            s.theta_layout,
            s.n_theta,
            s.n_chunks,
            s.chunk_size,
            s.d_z
        )
    );
    assert_eq!(a.chunk_embeddings, s.chunk_embeddings);
    let nets: Vec<Network<'_>> = a.networks().collect();
    assert_eq!(nets.len(), s.networks.len());
    for (n, ns) in nets.iter().zip(&s.networks) {
        assert_eq!(n.role, ns.role);
        assert_eq!(n.layer_count(), ns.layers.len());
        assert_eq!(n.layers().collect::<Vec<_>>(), ns.layers);
        for (i, l) in ns.layers.iter().enumerate() {
            assert_eq!(n.layer(i), Some(*l));
        }
        assert_eq!(n.layer(ns.layers.len()), None);
        assert_eq!(n.n_in(), ns.layers[0].n_in);
        assert_eq!(n.n_out(), ns.layers.last().unwrap().n_out);
        assert_eq!(a.network(ns.role).map(|x| x.role), Some(ns.role));
    }
    assert_eq!(a.target_layers().collect::<Vec<_>>(), s.target);
    assert_eq!(a.target_layer_count(), s.target.len());
    assert_eq!(a.workspace_records().collect::<Vec<_>>(), fx.workspace);
    for &(b, l) in &fx.workspace {
        assert_eq!(a.workspace_len(b), Some(l));
    }
    assert_eq!(a.workspace_len(3), None);

    let m = file.metadata();
    let ms = &fx.meta;
    // The owned copy of parsed metadata is exactly what was written (tools rewrite files so).
    assert_eq!(&MetadataSpec::from(m), ms);
    assert_eq!(m.model_name, ms.model_name);
    assert_eq!(m.sensors, &ms.sensors[..]);
    assert_eq!(m.sensor_dim, ms.sensor_dim);
    assert_eq!(m.domain_lower, &ms.domain_lower[..]);
    assert_eq!(m.domain_upper, &ms.domain_upper[..]);
    same_affine(m.sensor_norm, &ms.sensor_norm);
    same_affine(m.point_norm, &ms.point_norm);
    same_affine(m.output_norm, &ms.output_norm);
    assert_eq!(m.framework, ms.framework);
    assert_eq!(m.dataset, ms.dataset);
    assert_eq!(m.test_rel_l2, ms.test_rel_l2);
    let pairs: Vec<(String, String)> = m
        .pairs()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(pairs, ms.pairs);
    assert_eq!(m.pair("git"), Some("abc123"));

    assert_eq!(file.tensor_count(), fx.tensors.len());
    assert_eq!(file.tensors().count(), fx.tensors.len());
    for (i, (name, shape, data)) in fx.tensors.iter().enumerate() {
        let t = file.tensor(i as u32).unwrap();
        assert_eq!(t.name, name);
        assert_eq!(t.shape, &shape[..]);
        match (t.data, data) {
            (TensorData::F32(x), TensorBuf::F32(y)) => assert_eq!(x, &y[..]),
            (TensorData::F16(x), TensorBuf::F16(y)) => assert_eq!(x, &y[..]),
            (TensorData::Bf16(x), TensorBuf::Bf16(y)) => assert_eq!(x, &y[..]),
            (TensorData::F32Padded(x), TensorBuf::F32Padded(y)) => assert_eq!(x, &y[..]),
            (
                TensorData::I8 { values, scales },
                TensorBuf::I8 {
                    values: v,
                    scales: s,
                },
            ) => {
                assert_eq!(values, &v[..]);
                assert_eq!(scales, &s[..]);
            }
            (
                TensorData::I8Blocked { values, scales },
                TensorBuf::I8Blocked {
                    values: v,
                    scales: s,
                },
            ) => {
                assert_eq!(values, &v[..]);
                assert_eq!(scales, &s[..]);
            }
            (x, y) => panic!("tensor {name}: dtype differs: {x:?} vs {y:?}"),
        }
        assert_eq!(file.tensor_by_name(name).unwrap().name, name);
        assert_eq!(file.tensor_index(name), Some(i as u32));
        // Zero-copy: the view points into the buffer, 64-byte aligned relative to its start.
        let base = file.bytes().as_ptr() as usize;
        let at = match t.data {
            TensorData::F32(x) | TensorData::F32Padded(x) => x.as_ptr() as usize,
            TensorData::F16(x) => x.as_ptr() as usize,
            TensorData::Bf16(x) => x.as_ptr() as usize,
            TensorData::I8 { values, .. } | TensorData::I8Blocked { values, .. } => {
                values.as_ptr() as usize
            }
        };
        assert!(at >= base && at < base + file.file_len());
        assert_eq!((at - base) % ALIGN, 0);
    }
    assert!(file.tensor(fx.tensors.len() as u32).is_none());
    assert!(file.tensor_by_name("no such tensor").is_none());
}

#[test]
fn every_family_round_trips() {
    for family in FAMILIES {
        let fx = fixture(family);
        let bytes = fx.bytes();
        assert_eq!(bytes.len() % ALIGN, 0);
        let file = ModelFile::parse(&bytes).unwrap_or_else(|e| panic!("{family}: {e}"));
        check(&fx, &file);
        let fast = ModelFile::parse_with(
            &bytes,
            ParseOptions {
                verify_checksums: false,
            },
        )
        .unwrap();
        check(&fx, &fast);
    }
}

#[test]
fn writer_is_deterministic() {
    for family in FAMILIES {
        let a = fixture(family).builder().to_bytes().unwrap();
        let b = fixture(family).builder().to_bytes().unwrap();
        let c = fixture(family).builder().clone().to_bytes().unwrap();
        assert_eq!(a, b);
        assert_eq!(a, c);
    }
    // Workspace records are sorted, whatever the input order.
    let mut fx = fixture(Family::DeepONet);
    let sorted = fx.builder().to_bytes().unwrap();
    fx.workspace.reverse();
    assert_eq!(fx.builder().to_bytes().unwrap(), sorted);
}

#[test]
fn writer_rejects_invalid_input() {
    let mut fx = fixture(Family::HyperDeepONet);
    fx.tensors[1].0 = fx.tensors[0].0.clone();
    assert!(matches!(
        fx.builder().to_bytes(),
        Err(FormatError::DuplicateTensorName { .. })
    ));

    let mut fx = fixture(Family::DeepONet);
    fx.tensors[0].1 = vec![5, 3];
    let e = fx.builder().to_bytes().unwrap_err();
    assert!(matches!(e, FormatError::TensorLength { .. }), "{e}");

    let mut fx = fixture(Family::DeepONet);
    fx.meta.domain_upper.push(2.0);
    let e = fx.builder().to_bytes().unwrap_err();
    assert!(
        matches!(
            e,
            FormatError::MetadataLength {
                field: "domain_upper",
                ..
            }
        ),
        "{e}"
    );
}

/// A hypernet 100 -> 16 -> 3 -> 2 with f32-padded weights `[16, 100]`, `[3, 16]`, `[2, 3]`
/// (lda 112, 16, 16), element `[r, c]` = `r * 1000 + c`; `unpadded` stores them without the
/// padding instead.
fn padded_model(unpadded: bool) -> ModelBuilder {
    let sizes = [100u32, 16, 3, 2];
    let mut b = ModelBuilder::new(ArchSpec {
        family: Family::HyperDeepONet,
        n_sensors: 100,
        d_y: 1,
        d_out: 1,
        p: 0,
        theta_layout: 1,
        n_theta: 2,
        n_chunks: 0,
        chunk_size: 0,
        d_z: 0,
        chunk_embeddings: None,
        networks: Vec::new(),
        target: vec![TargetLayer {
            n_in: 1,
            n_out: 1,
            activation: Activation::Identity,
        }],
    });
    let mut layers = Vec::new();
    for (i, w) in sizes.windows(2).enumerate() {
        let (n_in, n_out) = (w[0] as usize, w[1] as usize);
        let v: Vec<f32> = (0..n_out * n_in)
            .map(|k| ((k / n_in) * 1000 + k % n_in) as f32)
            .collect();
        let v = if unpadded {
            v
        } else {
            pad_rows_f32(&v, n_out, n_in)
        };
        let weight = b.add_tensor(
            &format!("hyper.{i}.weight"),
            &[w[1], w[0]],
            TensorBuf::F32Padded(v),
        );
        layers.push(Layer {
            n_in: w[0],
            n_out: w[1],
            activation: Activation::Identity,
            weight,
            bias: None,
        });
    }
    let mut arch = b.arch().clone();
    arch.networks.push(NetworkSpec {
        role: Role::Hyper,
        layers,
    });
    b.set_arch(arch);
    b.set_metadata(MetadataSpec {
        sensors: vec![0.5; 100],
        sensor_dim: 1,
        domain_lower: vec![0.0],
        domain_upper: vec![1.0],
        ..Default::default()
    });
    b
}

#[test]
fn f32_padded_round_trips() {
    let bytes = AlignedBytes::from_slice(&padded_model(false).to_bytes().unwrap());
    let file = ModelFile::parse(&bytes).unwrap();
    for (i, (rows, cols, lda)) in [(16, 100, 112), (3, 16, 16), (2, 3, 16)]
        .into_iter()
        .enumerate()
    {
        let t = file.tensor(i as u32).unwrap();
        assert_eq!(t.dtype(), DType::F32Padded);
        assert_eq!(t.shape, &[rows as u32, cols as u32]);
        assert_eq!(f32_padded_lda(cols as u64), Some(lda as u64));
        assert_eq!((t.len(), t.data.len()), (rows * cols, rows * lda));
        assert_eq!(t.as_f32(), None);
        let TensorData::F32Padded(v) = t.data else {
            panic!("{}: {:?}", t.name, t.dtype());
        };
        for r in 0..rows {
            for c in 0..lda {
                let want = if c < cols { (r * 1000 + c) as f32 } else { 0.0 };
                assert_eq!(
                    v[r * lda + c].to_bits(),
                    want.to_bits(),
                    "{} [{r}, {c}]",
                    t.name
                );
            }
        }
    }
    // Without the padding the values are too short: rows * cols * 4 bytes, not rows * lda * 4.
    let e = padded_model(true).to_bytes().unwrap_err();
    assert!(
        matches!(
            e,
            FormatError::TensorLength {
                part: "values",
                expected: 7168,
                found: 6400,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn pad_rows_f32_pads_with_zeros() {
    // docs/FORMAT.md's example: [2, 3], rows [1, 2, 3] and [4, 5, 6] -> 2 rows of 16 floats.
    let v = pad_rows_f32(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 2, 3);
    let mut want = vec![0.0; 32];
    want[..3].copy_from_slice(&[1.0, 2.0, 3.0]);
    want[16..19].copy_from_slice(&[4.0, 5.0, 6.0]);
    assert_eq!(v, want);
    assert_eq!(pad_rows_f32(&[7.0; 32], 2, 16), vec![7.0; 32]);
    assert_eq!(pad_rows_f32(&[], 0, 5), Vec::<f32>::new());
    assert_eq!(pad_rows_f32(&[], 3, 0), Vec::<f32>::new());
    assert_eq!(
        [0, 1, 16, 17, 100].map(f32_padded_lda),
        [Some(0), Some(16), Some(16), Some(32), Some(112)]
    );
    assert_eq!(f32_padded_lda(u64::MAX - 14), None);
}

#[test]
#[should_panic(expected = "5 values for [2, 3]")]
fn pad_rows_f32_checks_the_length() {
    pad_rows_f32(&[0.0; 5], 2, 3);
}

#[test]
fn misaligned_buffer_is_an_error_not_a_copy() {
    let fx = fixture(Family::DeepONet);
    let bytes = fx.builder().to_bytes().unwrap();
    let mut shifted = AlignedBytes::from_slice(&[&[0u8][..], &bytes[..]].concat());
    let e = ModelFile::parse(&shifted[1..]).unwrap_err();
    assert_eq!(
        e,
        FormatError::BufferMisaligned {
            required: 4,
            found: 1
        }
    );
    shifted = AlignedBytes::from_slice(&bytes);
    assert!(ModelFile::parse(&shifted).is_ok());
}
