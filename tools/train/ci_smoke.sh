#!/usr/bin/env bash
# CI smoke test for the trainer: install the package, train a tiny model for a few steps, write
# its outputs (checkpoint.safetensors, model.toml, test.npz, metrics.json) to a directory and
# check that spec + checkpoint reproduce the JAX outputs stored in test.npz.
# Usage: tools/train/ci_smoke.sh [OUT_DIR]   (default: a fresh temp dir; its path is printed last)
# The export check (`hdon export --check` on OUT_DIR/model.toml) is chained on by the caller.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$(mktemp -d -t hdon-train-smoke.XXXXXX)}"
export XLA_FLAGS="${XLA_FLAGS:---xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1}"
export HDON_TRAIN_CACHE="${HDON_TRAIN_CACHE:-$out/cache}"

echo "== pip install -e tools/train"
python3 -m pip install --quiet -e "$here"

echo "== train a tiny HyperDeepONet (identity operator, 200 steps)"
python3 -m hdon_train train --problem identity --model hyper --size tiny --steps 200 \
  --log-every 100 --seed 0 --overwrite --out "$out/hyper"

echo "== spec + checkpoint reproduce test.npz outputs"
python3 - "$out/hyper" <<'PY'
import sys
from pathlib import Path
import numpy as np
from hdon_train.checkpoint import load_checkpoint, read_spec
from hdon_train.models import forward

d = Path(sys.argv[1])
cfg, norm, x, layout = read_spec(d / "model.toml")
params = {k: v.astype(np.float64) for k, v in load_checkpoint(d / "checkpoint.safetensors").items()}
t = np.load(d / "test.npz")
out = forward(np, cfg, params, norm, t["sensors"].astype(np.float64), t["points"].astype(np.float64))
err = np.abs(out - t["outputs"]).max() / np.abs(out).max()
print(f"max |numpy f64 - JAX f32| / max |out| = {err:.2e} over {t['outputs'].size} outputs")
assert err < 1e-5, err
PY
echo "$out/hyper"
