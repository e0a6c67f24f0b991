#!/usr/bin/env bash
# The `hdon` command's figures for issue 7: peak RSS of `hdon bench` on workloads S and L, and
# the time from process start to the first result of `hdon run` (wall time of the whole process,
# median of 11 runs, one input function of S at its 10,000 points).
#
# usage: benches/peers/cli.sh [--out DIR]     (default DIR: target/peers-cli)
# Needs: the workload dump (this script writes it), /usr/bin/time (Debian package `time`).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
OUT="$ROOT/target/peers-cli"
usage() { echo "cli.sh: $*; usage: benches/peers/cli.sh [--out DIR]" >&2; exit 2; }
# Anything else was ignored: `cli.sh --help` built and ran the whole measurement.
while [ $# -gt 0 ]; do
  case "$1" in
    --out) [ $# -ge 2 ] && [ -n "$2" ] || usage "--out needs a folder"; OUT="$2"; shift 2 ;;
    -h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) usage "unknown argument $1" ;;
  esac
done
[ -x /usr/bin/time ] || { echo "cli.sh: /usr/bin/time not found (Debian: apt-get install time)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "cli.sh: python3 not found" >&2; exit 1; }
mkdir -p "$OUT" && [ -w "$OUT" ] || { echo "cli.sh: cannot write to --out $OUT" >&2; exit 1; }

(cd "$ROOT" && cargo build --release -q -p hdon-tools -p hdon-benches --bin hdon --bin workloads)
# Where cargo put them: CARGO_TARGET_DIR (or a config's target-dir) moves them out of target/.
TARGET="$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
HDON="$TARGET/release/hdon"
"$TARGET/release/workloads" export "$OUT" S L >/dev/null

for W in S L; do
  for DT in f32 int8; do
    "$HDON" export --spec "$OUT/$W/model.toml" --weights "$OUT/$W/checkpoint.safetensors" \
      --dtype "$DT" -o "$OUT/$W.$DT.hdon" >/dev/null
  done
done

echo "| model | file bytes | hdon bench args | peak RSS (KiB) | bench wall (s) |"
echo "|---|---|---|---|---|"
for W in S L; do
  POINTS=$(python3 -c "import json;print(json.load(open('$OUT/$W/workload.json'))['n_points'])")
  for DT in f32 int8; do
    F="$OUT/$W.$DT.hdon"
    /usr/bin/time -f "%M %e" -o "$OUT/time.txt" "$HDON" bench "$F" --points "$POINTS" >/dev/null
    read -r RSS WALL < "$OUT/time.txt"
    echo "| $W $DT | $(stat -c %s "$F") | --points $POINTS | $RSS | $WALL |"
  done
done

echo
echo "hdon run, process start to first result (S f32, 1 function, 10,000 points), 11 runs:"
python3 - "$HDON" "$OUT" <<'EOF'
import statistics, subprocess, sys, time
hdon, out = sys.argv[1], sys.argv[2]
cmd = [hdon, "run", f"{out}/S.f32.hdon", "--sensors", f"{out}/S/sensors.npy",
       "--points", f"{out}/S/points.npy", "-o", f"{out}/S.run.npy"]
ts = []
for _ in range(11):
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    ts.append((time.perf_counter() - t0) * 1e3)
print(f"median {statistics.median(ts):.2f} ms, min {min(ts):.2f} ms, max {max(ts):.2f} ms")
EOF
