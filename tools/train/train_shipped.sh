#!/usr/bin/env bash
# The short runs that produced models/<problem>/<family>/ (models/README.md lists them).
# Usage: tools/train/train_shipped.sh STREAM   (STREAM = a | b | c; a and b may run in parallel)
# The advection DeepONet uses ReLU: with tanh it stalls at ~0.19 relative L2 in this budget
# (docs/REPRODUCTION.md).
# One XLA thread per run, nice 19: the machine is shared.
set -euo pipefail
cd "$(dirname "$0")/../.."
export XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
STEPS=${STEPS:-15000}
train() {  # problem family [extra args]
  local p=$1 f=$2; shift 2
  mkdir -p "models/$p/$f"
  nice -n 19 python3 -m hdon_train train --problem "$p" --model "$f" --seed 0 \
    --out "models/$p/$f" --steps "$STEPS" --log-every 1000 "$@" 2>&1 | tee "models/$p/$f/train.log"
}
case "${1:-}" in
  a) for p in identity differentiation; do for f in hyper deeponet; do train $p $f; done; done ;;
  b) train advection hyper; train advection deeponet --activation relu
     train burgers hyper; train burgers deeponet ;;
  c) for p in burgers advection; do train $p chunked_hyper; done
     for p in identity differentiation; do for f in shift flex nomad; do train $p $f; done; done ;;
  *) echo "usage: $0 a|b|c" >&2; exit 2 ;;
esac
