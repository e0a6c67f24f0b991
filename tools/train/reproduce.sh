#!/usr/bin/env bash
# Opt-in full reproduction of the paper's tables (NOT CI): every family on identity and
# differentiation (Table 1), DeepONet / HyperDeepONet / chunked HyperDeepONet on Burgers and
# advection (Table 2), SEEDS seeds each, STEPS Adam steps each (the budget: <= 60 min per model
# on 2 CPU cores). Then the summary table (docs/REPRODUCTION.md format).
# Usage: tools/train/reproduce.sh [OUT_DIR]      env: SEEDS (default 5), STEPS (default 100000),
#        JOBS (parallel runs, default 1)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here/runs/reproduce}"
SEEDS=${SEEDS:-5}
STEPS=${STEPS:-100000}
JOBS=${JOBS:-1}
export XLA_FLAGS="${XLA_FLAGS:---xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1}"

jobs_list() {
  for seed in $(seq 0 $((SEEDS - 1))); do
    for p in identity differentiation; do
      for f in deeponet shift flex nomad hyper; do echo "$p $f $seed"; done
    done
    for p in burgers advection; do
      for f in deeponet hyper chunked_hyper; do echo "$p $f $seed"; done
    done
  done
}

run_one() {
  local p=$1 f=$2 s=$3 d="$out/$1/$2/seed$3"
  [ -f "$d/metrics.json" ] && return 0   # resumable (a run without metrics.json is unfinished: redone)
  mkdir -p "$d"
  nice -n 19 python3 -m hdon_train train --problem "$p" --model "$f" --seed "$s" --out "$d" --overwrite \
    --steps "$STEPS" --log-every 5000 > "$d/train.log" 2>&1
  tail -1 "$d/train.log"
}
export -f run_one
export out STEPS

jobs_list | xargs -P "$JOBS" -L 1 bash -c 'run_one "$0" "$1" "$2"'
python3 -m hdon_train summarize "$out"
