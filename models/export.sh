#!/usr/bin/env bash
# Exports the shipped .hdon models from the trained checkpoints beside them: for each problem the
# HyperDeepONet and the DeepONet, in f32 and with int8 generate-side weights. Both are checked
# against reference-f64.npz: the float64 numpy evaluation of the same checkpoint on the test
# functions (`python -m hdon_train reference DIR`, re-made here every time: half a second),
# which measures hdon's own rounding. (test.npz's `outputs` are JAX's float32 pass: it rounds
# differently from hdon through a 100-wide GEMV and four tanh layers, so hdon vs JAX reached
# 2.4e-5 on some runs while each was within 1.3e-5 of float64.)
# The f32 check uses --rtol 5e-5 (the shipped models land at <= 2.7e-5, identity/hyper highest:
# float32 rounding through the generated target net; they were <= 1.2e-5 before the folded-tanh
# evaluator); the int8 export reports its deviation (--rtol 1 only keeps the check
# from failing: int8 error is a property of the model, measured by `hdon verify` below).
# Usage: models/export.sh            (env HDON = path of the hdon binary; default: build it;
#                                     python3 with hdon_train installed for the references)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
if [ -z "${HDON:-}" ]; then
  cargo build --release -p hdon-tools
  HDON="${CARGO_TARGET_DIR:-target}/release/hdon"
fi
for problem in identity differentiation advection burgers; do
  for family in hyper deeponet; do
    d="models/$problem/$family"
    [ -f "$d/model.toml" ] || continue
    python3 -m hdon_train reference "$d"
    "$HDON" export --spec "$d/model.toml" --weights "$d/checkpoint.safetensors" \
      --rtol 5e-5 --check "$d/reference-f64.npz" -o "$d/model-f32.hdon"
    "$HDON" export --spec "$d/model.toml" --weights "$d/checkpoint.safetensors" --dtype int8 \
      --rtol 1 --check "$d/reference-f64.npz" -o "$d/model-int8.hdon"
    for dt in f32 int8; do
      echo "== $d/model-$dt.hdon"
      "$HDON" verify --data "$d/test.npz" "$d/model-$dt.hdon"
    done
  done
done
