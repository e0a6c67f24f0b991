#!/usr/bin/env bash
# Measures every seed of every model with `hdon export` + `hdon verify` (tools/train/export_verify.sh)
# and writes the per-seed figures, and mean +- std over the seeds, to models/hdon_verify_seeds.json
# (figures only, no weights). Seed directories: the shipped models/<problem>/<family>/ and every
# RUNS/seed*/<problem>/<family>/ that has a metrics.json (tools/train/train_seeds.sh writes them);
# the seed is read from metrics.json. Exports whose verify report is newer than the checkpoint
# are reused from OUT_DIR.
# Std over seeds is the sample std (ddof = 1); with one seed it is null. check_max_rel is the
# export's deviation from the JAX outputs in test.npz (f32 check at --rtol 2e-5, as
# models/export.sh; check_passed false when it was exceeded: the model is measured anyway).
# Usage: tools/train/verify_seeds.sh [OUT_DIR]
#        env: HDON = path of the hdon binary, RUNS (default tools/train/runs)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
HDON=${HDON:-hdon}
RUNS=${RUNS:-tools/train/runs}
out="${1:-$RUNS/verify}"
mkdir -p "$out"
dirs=()
for d in models/*/*/ "$RUNS"/seed*/*/*/; do
  d=${d%/}
  [ -f "$d/metrics.json" ] && [ -f "$d/checkpoint.safetensors" ] && dirs+=("$d")
done
for d in "${dirs[@]}"; do
  n=$(echo "$d" | tr / -)
  if [ "$out/$n-int8.verify.json" -nt "$d/checkpoint.safetensors" ]; then continue; fi
  HDON="$HDON" tools/train/export_verify.sh "$d" "$out/$n"
done
python3 - "$out" "$("$HDON" --version 2>/dev/null || echo hdon)" "${dirs[@]}" <<'PY'
import json, re, sys
from collections import defaultdict
from pathlib import Path
import numpy as np
out, version, dirs = Path(sys.argv[1]), sys.argv[2], sys.argv[3:]
models = defaultdict(lambda: {"seeds": {}})
for d in dirs:
    m = json.loads(Path(d, "metrics.json").read_text())
    n = d.replace("/", "-")
    seed = {"dir": d, "params": m["params"], "steps": m["steps"],
            "wall_time_s": round(m["wall_time_s"], 1), "trainer_test_rel_l2": round(m["test_rel_l2"], 6),
            "activation": m.get("activation") or "tanh"}
    for dt in ("f32", "int8"):
        pf = np.array(json.loads((out / f"{n}-{dt}.verify.json").read_text())["rel_l2"]["per_function"])
        log = (out / f"{n}-{dt}.export.log").read_text()
        c = re.search(r"max rel error ([0-9.eE+-]+)", log)
        seed[dt] = {"functions": int(pf.size), "rel_l2_mean": round(float(pf.mean()), 6),
                    "rel_l2_std": round(float(pf.std()), 6), "rel_l2_max": round(float(pf.max()), 6),
                    "check_max_rel": float(c.group(1)) if c else None,
                    "check_passed": "check failed" not in log}
    key = f"{m['problem']}/{m['family']}"
    if str(m["seed"]) in models[key]["seeds"]:
        sys.exit(f"{key}: seed {m['seed']} twice ({d} and {models[key]['seeds'][str(m['seed'])]['dir']})")
    models[key]["seeds"][str(m["seed"])] = seed
    models[key]["paper_params"] = m.get("paper_params")
    models[key]["paper_test_rel_l2"] = m.get("paper_test_rel_l2")
for key, v in models.items():
    s = v["seeds"]
    v["n_seeds"] = len(s)
    for dt in ("f32", "int8"):
        e = np.array([x[dt]["rel_l2_mean"] for x in s.values()])
        v[dt] = {"mean_over_seeds": round(float(e.mean()), 6),
                 "std_over_seeds": round(float(e.std(ddof=1)), 6) if e.size > 1 else None}
    v["minutes_per_run"] = round(float(np.mean([x["wall_time_s"] for x in s.values()])) / 60, 1)
res = {"hdon": version, "reference": "truth",
       "note": "rel_l2_* per seed: over the 200 test functions; *_over_seeds: over the seeds' "
               "means, std with ddof = 1", "models": dict(sorted(models.items()))}
Path("models/hdon_verify_seeds.json").write_text(json.dumps(res, indent=1, sort_keys=True) + "\n")
for key, v in res["models"].items():
    f, i = v["f32"], v["int8"]
    sd = lambda x: "" if x["std_over_seeds"] is None else f" +- {x['std_over_seeds']:.4f}"
    per = " ".join(f"s{k}={x['f32']['rel_l2_mean']:.4f}" for k, x in sorted(v["seeds"].items()))
    print(f"{key:30s} f32 {f['mean_over_seeds']:.4f}{sd(f)}  int8 {i['mean_over_seeds']:.4f}{sd(i)}"
          f"  ({v['n_seeds']} seeds: {per})")
# The docs/REPRODUCTION.md tables.
fams = ["deeponet", "shift", "flex", "nomad", "hyper", "chunked_hyper"]
for prob in ["identity", "differentiation", "burgers", "advection"]:
    print(f"\n### {prob}\n| model | params (paper) | paper rel L2 (5 runs) | ours, hdon verify f32 "
          "(mean +- std over seeds) | int8 | seeds: f32 per seed | steps | min / run |\n"
          "|---|---|---|---|---|---|---|---|")
    for fam in fams:
        v = res["models"].get(f"{prob}/{fam}")
        if v is None:
            continue
        s0 = next(iter(v["seeds"].values()))
        pp, pe = v["paper_params"], v["paper_test_rel_l2"]
        name = fam + (f" ({s0['activation']})" if s0["activation"] != "tanh" else "")
        per = ", ".join(f"{x['f32']['rel_l2_mean']:.4f}" for _, x in sorted(v["seeds"].items()))
        print(f"| {name} | {s0['params']:,}{f' ({pp // 1000}K)' if pp else ''} | "
              f"{f'{pe[0]} +- {pe[1]}' if pe else '-'} | {v['f32']['mean_over_seeds']:.4f}{sd(v['f32'])} | "
              f"{v['int8']['mean_over_seeds']:.4f}{sd(v['int8'])} | {v['n_seeds']}: {per} | "
              f"{'/'.join(sorted({str(x['steps']) for x in v['seeds'].values()}))} | "
              f"{v['minutes_per_run']:.1f} |")
PY
