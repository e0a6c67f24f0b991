//! Checkpoint naming presets: which checkpoint tensor fills each slot of the architecture.
//!
//! Slots are the names of the "hdon" preset: `<role>.<i>.weight` and `<role>.<i>.bias` for
//! dense layer `i` (0-based) of network `<role>` (branch, trunk, hyper, scale, shift, pre,
//! decoder), plus `b0` and `chunk_embeddings`. A `[tensors]` table in the spec overrides any
//! slot. The presets map a slot to a checkpoint name as follows (docs/EXPORT.md):
//!
//! | preset | `<role>.<i>.weight` | `<role>.<i>.bias` | `b0`, `chunk_embeddings` |
//! |---|---|---|---|
//! | `hdon` | `<role>.<i>.weight` | `<role>.<i>.bias` | same |
//! | `torch_sequential` | `<role>_net.<2i>.weight` | `<role>_net.<2i>.bias` | same |
//! | `flax` | `<role>/Dense_<i>/kernel` | `<role>/Dense_<i>/bias` | same |
//!
//! `torch_sequential` is an `nn.Sequential(Linear, Act, Linear, Act, ..., Linear)` stored as
//! attribute `<role>_net`: Linear layers sit at the even indices 0, 2, 4, ... because one
//! activation module sits between each pair of them.

use crate::spec::Preset;
use std::collections::BTreeMap;

/// What a slot holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlotKind {
    /// A dense layer's weight matrix.
    Weight,
    /// A dense layer's bias vector.
    Bias,
}

/// The slot name of layer `i`'s weight or bias in network `role`.
pub fn slot_name(role: &str, i: usize, kind: SlotKind) -> String {
    match kind {
        SlotKind::Weight => format!("{role}.{i}.weight"),
        SlotKind::Bias => format!("{role}.{i}.bias"),
    }
}

/// The checkpoint name for a layer slot under `preset`, unless `overrides` names it.
pub fn layer_tensor_name(
    preset: Preset,
    overrides: &BTreeMap<String, String>,
    role: &str,
    i: usize,
    kind: SlotKind,
) -> String {
    let slot = slot_name(role, i, kind);
    if let Some(name) = overrides.get(&slot) {
        return name.clone();
    }
    match (preset, kind) {
        (Preset::Hdon, _) => slot,
        (Preset::TorchSequential, SlotKind::Weight) => format!("{role}_net.{}.weight", 2 * i),
        (Preset::TorchSequential, SlotKind::Bias) => format!("{role}_net.{}.bias", 2 * i),
        (Preset::Flax, SlotKind::Weight) => format!("{role}/Dense_{i}/kernel"),
        (Preset::Flax, SlotKind::Bias) => format!("{role}/Dense_{i}/bias"),
    }
}

/// The checkpoint name of a non-layer slot (`b0`, `chunk_embeddings`).
pub fn plain_tensor_name(overrides: &BTreeMap<String, String>, slot: &str) -> String {
    overrides
        .get(slot)
        .cloned()
        .unwrap_or_else(|| slot.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_spell_names_as_documented() {
        let none = BTreeMap::new();
        let w = SlotKind::Weight;
        assert_eq!(
            layer_tensor_name(Preset::Hdon, &none, "branch", 2, w),
            "branch.2.weight"
        );
        assert_eq!(
            layer_tensor_name(Preset::TorchSequential, &none, "branch", 2, w),
            "branch_net.4.weight"
        );
        assert_eq!(
            layer_tensor_name(Preset::Flax, &none, "hyper", 1, SlotKind::Bias),
            "hyper/Dense_1/bias"
        );
        let mut o = BTreeMap::new();
        o.insert(
            "hyper.0.weight".to_string(),
            "hypernet.layers.0.kernel".to_string(),
        );
        assert_eq!(
            layer_tensor_name(Preset::Flax, &o, "hyper", 0, w),
            "hypernet.layers.0.kernel"
        );
        assert_eq!(plain_tensor_name(&o, "b0"), "b0");
    }
}
