#!/usr/bin/env bash
# More seeds of the shipped models: re-trains every models/<problem>/<family>/ with another init
# seed and the SAME settings as the shipped run, read from its metrics.json (steps, lr,
# lr_final, batch, loss, activation, data seed, size), into OUT/<problem>/<family>/. (The shipped
# identity and differentiation HyperDeepONets are 60,000-step runs, so their new seeds are too;
# verify_seeds.sh puts them in the "@60000" rows. ONLY selects models.)
# Runs are ordered cheapest first by the shipped run's wall time, chunked_hyper last, so that an
# interrupted session leaves as many models as possible with their extra seed. Resumable: a run
# whose metrics.json exists is skipped, and so is one that another live runner has claimed (file
# `running` with its pid), so two runners may share OUT. Measure the results with
# tools/train/verify_seeds.sh.
# Usage: tools/train/train_seeds.sh SEED [OUT]   (default OUT: tools/train/runs/seed$SEED)
#        exit status non-zero if a run failed (each run reports "done" or "FAILED" with its last line)
#        env: JOBS (parallel runs, default 2), ONLY (space-separated problem/family filter),
#             DEADLINE (a `date -d` time, e.g. 02:48 UTC: a run is not started when the shipped
#             run's wall time would take it past DEADLINE)
# One XLA thread per run, nice 19: the machine is shared.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
seed=${1:?usage: $0 SEED [OUT]}
out="$(realpath -m "${2:-$root/tools/train/runs/seed$seed}")"
JOBS=${JOBS:-2}
export XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
export PYTHONPATH="$root/tools/train${PYTHONPATH:+:$PYTHONPATH}"
cd "$root"

jobs_list() {  # one line per run: problem family train-args...
  python3 - "$seed" "${ONLY:-}" <<'PY'
import json, sys
from pathlib import Path
seed, only = sys.argv[1], sys.argv[2].split()
runs = []
for f in sorted(Path("models").glob("*/*/metrics.json")):
    m = json.loads(f.read_text())
    key = f"{m['problem']}/{m['family']}"
    if only and key not in only:
        continue
    args = [m["problem"], m["family"], "--seed", seed, "--steps", m["steps"], "--lr", m["lr"],
            "--lr-final", m["lr_final"], "--batch", m["batch"], "--loss", m["loss"],
            "--data-seed", m["data_seed"], "--size", m["size"],
            "--activation", m.get("activation") or "tanh"]
    runs.append((m["family"] == "chunked_hyper", m["wall_time_s"], args))
for _, wall, args in sorted(runs, key=lambda r: (r[0], r[1])):
    print(round(wall), " ".join(str(a) for a in args))
PY
}

run_one() {  # expected-seconds problem family train-args...
  local wall=$1 p=$2 f=$3; shift 3
  local d="$out/$p/$f"
  [ -f "$d/metrics.json" ] && return 0
  if [ -f "$d/running" ] && kill -0 "$(cat "$d/running")" 2>/dev/null; then return 0; fi
  if [ -n "$DEADLINE" ] && [ $(($(date +%s) + wall)) -gt "$(date -d "$DEADLINE" +%s)" ]; then
    echo "$(date -u +%H:%M:%S) skip  $p/$f: ~${wall}s would pass $DEADLINE" >&2
    return 0
  fi
  mkdir -p "$d"
  echo $$ > "$d/running"
  echo "$(date -u +%H:%M:%S) start $p/$f" >&2
  local status=done
  nice -n 19 python3 -m hdon_train train --problem "$p" --model "$f" --out "$d" --overwrite \
    --log-every 1000 "$@" > "$d/train.log" 2>&1 || status=FAILED
  rm -f "$d/running"
  echo "$(date -u +%H:%M:%S) $status $p/$f: $(tail -1 "$d/train.log")" >&2
  [ "$status" = done ]
}
export -f run_one
export out
export DEADLINE=${DEADLINE:-}

jobs_list | xargs -P "$JOBS" -L 1 bash -c 'run_one "$@"' _
