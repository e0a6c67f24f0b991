#!/usr/bin/env bash
# Runs hdon and every peer (ONNX Runtime, numpy, tract) on the workloads of issue 7, on 1 and 2
# threads, in one go, and prints one table: workload, phase, threads, peer, median us, GFLOP/s,
# ratio to hdon, max abs difference of the peer's output vs hdon's.
#
# usage: benches/peers/run.sh [--quick] [--no-tract] [--interleave] [--out DIR] [--budget SECONDS] [NAME...]
#   --quick      smoke run (1-2 minutes): workloads S, B, D, burgers-hyper, 0.1 s per figure
#   --no-tract   skip the tract peer (its first build compiles tract-onnx: several minutes)
#   --interleave also time hdon (C API) and ONNX Runtime call by call in alternation, 1 thread,
#                in one process (peers.py interleave): ratios that the machine's drifting
#                speed cannot skew; written to DIR/interleaved.md
#   --out DIR    where the workload dump, the .onnx graphs, outputs and results go
#                (default: target/peers); the table is also written to DIR/table.md
#   --budget S   seconds of timed calls per figure (default 1.0)
#   NAME...      only these workloads (see `cargo run --release -p hdon-benches --bin workloads -- list`)
#
# Needs: a Rust toolchain, python3 with numpy, onnx and onnxruntime
#   (pip install numpy onnx onnxruntime); PYTHON=/path/to/python picks another interpreter.
# Every figure is a median; compare only within one run (ratios), the machine may be shared.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
PEERS="$ROOT/benches/peers"
OUT="$ROOT/target/peers"
BUDGET=1.0
QUICK=0
TRACT=1
INTERLEAVE=0
NAMES=()
usage() { echo "run.sh: $*; see benches/peers/run.sh --help" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1; BUDGET=0.1; shift ;;
    --no-tract) TRACT=0; shift ;;
    --out) [ $# -ge 2 ] && [ -n "$2" ] || usage "--out needs a folder"; OUT="$2"; shift 2 ;;
    --budget) [ $# -ge 2 ] || usage "--budget needs seconds"; BUDGET="$2"; shift 2 ;;
    --interleave) INTERLEAVE=1; shift ;;
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) usage "unknown option $1" ;;
    *) NAMES+=("$1"); shift ;;
  esac
done
# A number of seconds > 0 (the timing loops took "abc" or -1 only after minutes of building).
[[ "$BUDGET" =~ ^([0-9]+\.?[0-9]*|\.[0-9]+)$ ]] && awk "BEGIN { exit !($BUDGET > 0) }" ||
  usage "--budget takes seconds > 0 (found '$BUDGET')"
if [ "$QUICK" = 1 ] && [ ${#NAMES[@]} -eq 0 ]; then
  NAMES=(S B D burgers-hyper)
fi
PY="${PYTHON:-python3}"

step() { printf '\n== %s\n' "$*" >&2; }

# The output folder first: one that cannot be written failed after the whole build.
mkdir -p "$OUT" && [ -w "$OUT" ] || { echo "run.sh: cannot write to --out $OUT" >&2; exit 1; }

step "checking python: numpy, onnx, onnxruntime"
command -v "$PY" >/dev/null || { echo "run.sh: $PY not found (set PYTHON=/path/to/python3)" >&2; exit 1; }
MISSING="$("$PY" -c '
import importlib
missing = []
for m in ("numpy", "onnx", "onnxruntime"):
    try:
        importlib.import_module(m)
    except Exception:
        missing.append(m)
print(" ".join(missing))')"
if [ -n "$MISSING" ]; then
  echo "run.sh: $PY cannot import $MISSING; run: $PY -m pip install $MISSING" >&2
  exit 1
fi
"$PY" -c "import numpy, onnx, onnxruntime as o; print('numpy', numpy.__version__, '| onnx', onnx.__version__, '| onnxruntime', o.__version__)"

step "building hdon (release): workloads, e2e timing"
(cd "$ROOT" && cargo build --release -q -p hdon-benches --bin workloads --bin e2e)
# Where cargo put them: CARGO_TARGET_DIR (or a config's target-dir) moves them out of target/.
TARGET="$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps |
  "$PY" -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
BIN="$TARGET/release"
if command -v objdump >/dev/null && [ "$(uname -m)" = x86_64 ]; then
  step "checking the kernel entries for out-of-line intrinsics (benches/check_entries.sh)"
  bash "$ROOT/benches/check_entries.sh" "$BIN/e2e"
fi

# Before the tract build (minutes): an unknown workload name stops here.
step "exporting workloads to $OUT and building the .onnx graphs"
rm -rf "$OUT/results"
"$BIN/workloads" export "$OUT" "${NAMES[@]}" >/dev/null
"$PY" "$PEERS/peers.py" onnx "$OUT" ${NAMES[@]:+--names "${NAMES[@]}"} >/dev/null

TRACT_BIN="$PEERS/tract/target/release/hdon-peer-tract"
if [ "$TRACT" = 1 ]; then
  step "building the tract peer (own Cargo.lock and target/; first build takes minutes)"
  # Its own target/ even when CARGO_TARGET_DIR is set (TRACT_BIN is there).
  if ! (cd "$PEERS/tract" && cargo build --release -q --target-dir "$PEERS/tract/target"); then
    echo "run.sh: the tract peer did not build; continuing without it" >&2
    TRACT=0
  fi
fi

for T in 1 2; do
  step "hdon, $T thread(s)"
  "$BIN/e2e" "$OUT" --threads "$T" --budget "$BUDGET" ${NAMES[@]:+--names "${NAMES[@]}"}
  step "onnxruntime, $T thread(s)"
  "$PY" "$PEERS/peers.py" run "$OUT" --peer ort --threads "$T" --budget "$BUDGET" ${NAMES[@]:+--names "${NAMES[@]}"}
  step "numpy, $T thread(s)"
  OPENBLAS_NUM_THREADS=$T OMP_NUM_THREADS=$T MKL_NUM_THREADS=$T \
    "$PY" "$PEERS/peers.py" run "$OUT" --peer numpy --threads "$T" --budget "$BUDGET" ${NAMES[@]:+--names "${NAMES[@]}"}
  if [ "$TRACT" = 1 ]; then
    step "tract, $T thread(s)"
    "$TRACT_BIN" "$OUT" --threads "$T" --budget "$BUDGET" ${NAMES[@]:+--names "${NAMES[@]}"} ||
      echo "run.sh: the tract peer failed on $T thread(s); its rows are missing" >&2
  fi
done

step "table"
"$PY" "$PEERS/peers.py" table "$OUT" | tee "$OUT/table.md"

if [ "$INTERLEAVE" = 1 ]; then
  step "hdon (C API) and onnxruntime in alternation, 1 thread"
  (cd "$ROOT" && cargo build --release -q -p hdon-capi)
  if command -v objdump >/dev/null && [ "$(uname -m)" = x86_64 ]; then
    bash "$ROOT/benches/check_entries.sh" "$BIN/libhdon.so"
  fi
  "$PY" "$PEERS/peers.py" interleave "$OUT" --lib "$BIN/libhdon.so" \
    --budget "$(awk "BEGIN { print 2 * $BUDGET }")" ${NAMES[@]:+--names "${NAMES[@]}"}
fi
