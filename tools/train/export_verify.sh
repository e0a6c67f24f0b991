#!/usr/bin/env bash
# Exports one trained run directory (model.toml + checkpoint.safetensors + test.npz) with
# `hdon export` in f32 and int8 (--check against the JAX outputs in test.npz) and measures each
# export with `hdon verify --json` against the ground truth in test.npz.
# Writes PREFIX-{f32,int8}.hdon, PREFIX-{f32,int8}.export.log (the check's "max rel error") and
# PREFIX-{f32,int8}.verify.json. Used by verify_models.sh and verify_seeds.sh.
# int8 exports use --rtol 1 so that the measurement is always made (int8 error is a property of
# the model, measured by verify, not a defect of the export); f32 uses --rtol 2e-5 as
# models/export.sh does (the reference is JAX's own f32 forward pass; see there).
# Usage: tools/train/export_verify.sh RUN_DIR PREFIX     env: HDON = path of the hdon binary
set -euo pipefail
d=${1:?usage: $0 RUN_DIR PREFIX}
p=${2:?usage: $0 RUN_DIR PREFIX}
HDON=${HDON:-hdon}
for dt in f32 int8; do
  rtol=(--rtol 2e-5); [ "$dt" = int8 ] && rtol=(--rtol 1)
  "$HDON" export --spec "$d/model.toml" --weights "$d/checkpoint.safetensors" --dtype "$dt" \
    "${rtol[@]}" --check "$d/test.npz" -o "$p-$dt.hdon" > "$p-$dt.export.log" 2>&1
  "$HDON" verify --json --data "$d/test.npz" "$p-$dt.hdon" > "$p-$dt.verify.json"
done
