//! A file whose normalization the runtime cannot use (the format accepts any floats there):
//! the error names the vector (sensors/points/output), mean or std, and the entry.
use hdon_format::*;
use hdon_runtime::{Error, Model};

/// A HyperDeepONet with two sensors, target net [1, 1] (n_theta = 2), hypernet 2 -> 2.
fn file(sensor_norm: Option<AffineSpec>, point_norm: Option<AffineSpec>) -> AlignedBytes {
    let mut b = ModelBuilder::new(ArchSpec {
        family: Family::HyperDeepONet,
        n_sensors: 2,
        d_y: 1,
        d_out: 1,
        p: 0,
        theta_layout: 1,
        n_theta: 2,
        n_chunks: 0,
        chunk_size: 0,
        d_z: 0,
        chunk_embeddings: None,
        networks: vec![NetworkSpec {
            role: Role::Hyper,
            layers: vec![Layer {
                n_in: 2,
                n_out: 2,
                activation: Activation::Identity,
                weight: 0,
                bias: None,
            }],
        }],
        target: vec![TargetLayer {
            n_in: 1,
            n_out: 1,
            activation: Activation::Identity,
        }],
    });
    b.add_tensor(
        "hyper.0.weight",
        &[2, 2],
        TensorBuf::F32(vec![0.5, -2.0, 1.0, 0.25]),
    );
    b.set_metadata(MetadataSpec {
        sensors: vec![0.25, 0.75],
        sensor_dim: 1,
        domain_lower: vec![0.0],
        domain_upper: vec![1.0],
        sensor_norm,
        point_norm,
        ..Default::default()
    });
    AlignedBytes::from_slice(&b.to_bytes().expect("the format accepts any floats"))
}

fn affine(mean: &[f32], std: &[f32]) -> Option<AffineSpec> {
    Some(AffineSpec {
        mean: mean.to_vec(),
        std: std.to_vec(),
    })
}

#[test]
fn usable_normalization_loads() {
    let bytes = file(affine(&[0.0, 1.0], &[1.0, 2.0]), affine(&[0.5], &[0.25]));
    assert!(Model::from_bytes(&bytes).is_ok());
}

#[test]
fn zero_std_names_the_std_entry() {
    let bytes = file(affine(&[0.0, 1.0], &[1.0, 0.0]), None);
    let err = Model::from_bytes(&bytes).unwrap_err();
    assert_eq!(
        err,
        Error::Normalization {
            what: "sensors",
            field: "std",
            index: 1
        }
    );
    assert_eq!(
        err.to_string(),
        "sensors normalization: std[1] is unusable (std must be finite and non-zero)"
    );
}

#[test]
fn nan_mean_names_the_mean_entry() {
    let bytes = file(None, affine(&[f32::NAN], &[1.0]));
    let err = Model::from_bytes(&bytes).unwrap_err();
    assert_eq!(
        err,
        Error::Normalization {
            what: "points",
            field: "mean",
            index: 0
        }
    );
    assert_eq!(
        err.to_string(),
        "points normalization: mean[0] is unusable (mean must be finite)"
    );
}
