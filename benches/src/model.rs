//! `.hdon` model files of the workloads, built by the export tool's own code
//! (`hdon_tools::export::export`): the model spec TOML of [`Spec::spec_toml`] plus an in-memory
//! checkpoint with the workload's weights. The bytes are exactly what
//! `hdon export --spec DIR/NAME/model.toml` makes from the `workloads export` dump: the same
//! stored-layout transforms (hyper rows permuted to kernel layout, deeponet combination rows,
//! packed trunk) and the same int8 quantization (symmetric per output row).
//!
//! [`Spec::spec_toml`]: crate::Spec::spec_toml

use std::collections::BTreeMap;
use std::path::PathBuf;

use hdon_tools::checkpoint::Checkpoint;
use hdon_tools::export::ThetaLayout;
use hdon_tools::npy::Array;
use hdon_tools::quantize::WeightDtype;

use crate::workload::{Dense, WeightType, Workload};

/// The bytes of the `.hdon` file of `w`, generate-side weights stored as `weights`.
///
/// # Errors
/// The export tool's message (spec validation, shapes, writer), prefixed with the workload.
pub fn model_bytes(w: &Workload, weights: WeightType) -> Result<Vec<u8>, String> {
    let name = w.spec.name;
    let err = |e: anyhow::Error| format!("workload {name}: {e:#}");
    let plan = hdon_tools::spec::Spec::parse(&w.spec.spec_toml())
        .and_then(|s| s.validate())
        .map_err(err)?;
    let (dtype, layout) = match weights {
        WeightType::F32 => (WeightDtype::F32, ThetaLayout::Rows),
        WeightType::I8 => (WeightDtype::Int8, ThetaLayout::Rows),
        WeightType::I8Blocked => (WeightDtype::Int8Blocked, ThetaLayout::Rows),
        WeightType::F32Folded => (WeightDtype::F32, ThetaLayout::Folded),
        WeightType::F32Padded => (WeightDtype::F32Padded, ThetaLayout::Rows),
        WeightType::F32PaddedFolded => (WeightDtype::F32Padded, ThetaLayout::Folded),
    };
    let exported =
        hdon_tools::export::export_with(&plan, &checkpoint(w), dtype, layout).map_err(err)?;
    Ok(exported.bytes)
}

/// The workload's weights as a checkpoint in preset `hdon` (slot names `<role>.<i>.weight`
/// `[out, in]`, `<role>.<i>.bias`, `b0`), as `workloads export` writes to
/// `checkpoint.safetensors`.
pub fn checkpoint(w: &Workload) -> Checkpoint {
    let mut tensors = BTreeMap::new();
    let mut put = |name: String, shape: Vec<usize>, data: &[f32]| {
        let array = Array {
            shape,
            data: data.to_vec(),
            stored_dtype: "float32",
        };
        tensors.insert(name, array);
    };
    let nets: [(&str, &[Dense]); 2] = [(w.spec.generate_role(), &w.generate), ("trunk", &w.trunk)];
    for (role, net) in nets {
        for (i, l) in net.iter().enumerate() {
            put(
                format!("{role}.{i}.weight"),
                vec![l.n_out, l.n_in],
                &l.weight,
            );
            put(format!("{role}.{i}.bias"), vec![l.n_out], &l.bias);
        }
    }
    if !w.b0.is_empty() {
        put("b0".to_string(), vec![w.b0.len()], &w.b0);
    }
    Checkpoint {
        path: PathBuf::from(format!("<workload {}>", w.spec.name)),
        tensors,
    }
}
