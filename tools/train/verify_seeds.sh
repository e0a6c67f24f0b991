#!/usr/bin/env bash
# Measures every trained run of every model with `hdon export` + `hdon verify`
# (tools/train/export_verify.sh) and writes the per-seed figures, and mean +- std over the seeds,
# to models/hdon_verify_seeds.json (figures only, no weights). Run directories: the shipped
# models/<problem>/<family>/ and every directory under RUNS with a metrics.json and a checkpoint
# (tools/train/train_seeds.sh writes RUNS/seed<N>/<problem>/<family>/); seed and steps are read
# from metrics.json. Runs of one model with the same steps form one row ("identity/hyper"); runs
# with other steps a row of their own ("identity/hyper@60000"), the row with the most seeds
# being the plain one. The shipped run is marked ("shipped": true); when it is also under RUNS
# (same checkpoint bytes) it is measured once.
# Nothing is lost: seeds in the previous JSON whose run is no longer on disk are kept with their
# figures and "on_disk": false (a re-trained seed replaces them).
# Exports whose verify report is newer than the checkpoint are reused from OUT_DIR.
# Std over seeds is the sample std (ddof = 1); with one seed it is null. check_max_rel is the f32
# export's deviation from reference-f64.npz (the checkpoint in float64; --rtol 5e-5 as
# models/export.sh; check_passed false when exceeded: the model is measured anyway).
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
while IFS= read -r d; do
  [ -f "$d/checkpoint.safetensors" ] && dirs+=("$d")
done < <( (ls -d models/*/*/ 2>/dev/null | sed 's:/$::'; [ -d "$RUNS" ] &&
           find "$RUNS" -name metrics.json -printf '%h\n' | sort) | while read -r d; do
           [ -f "$d/metrics.json" ] && echo "$d"; done)
for d in "${dirs[@]}"; do
  n=$(echo "$d" | tr / -)
  if [ "$out/$n-int8.verify.json" -nt "$d/checkpoint.safetensors" ]; then continue; fi
  HDON="$HDON" tools/train/export_verify.sh "$d" "$out/$n"
done
python3 - "$out" "$("$HDON" --version 2>/dev/null || echo hdon)" "${dirs[@]}" <<'PY'
import hashlib, json, re, sys
from collections import Counter, defaultdict
from pathlib import Path
import numpy as np
out, version, dirs = Path(sys.argv[1]), sys.argv[2], sys.argv[3:]
dest = Path("models/hdon_verify_seeds.json")
prev = json.loads(dest.read_text()) if dest.exists() else {"models": {}}
digest = lambda d: hashlib.sha256(Path(d, "checkpoint.safetensors").read_bytes()).hexdigest()

runs = []  # (problem/family, steps, seed, dir, metrics)
for d in dirs:
    m = json.loads(Path(d, "metrics.json").read_text())
    runs.append((f"{m['problem']}/{m['family']}", m["steps"], m["seed"], d, m))
# The plain row of a model: the steps with the most runs (previous JSON included), ties -> fewer.
count = Counter((k, st) for k, st, *_ in runs)
for key, v in prev["models"].items():
    for s in v["seeds"].values():
        count[(key.split("@")[0], s["steps"])] += 0 if any(r[3] == s["dir"] for r in runs) else 1
base = {}
for (k, st), c in sorted(count.items(), key=lambda x: (-x[1], x[0][1])):
    base.setdefault(k, st)
row = lambda k, st: k if st == base[k] else f"{k}@{st}"

models = defaultdict(lambda: {"seeds": {}})
shipped = {}  # row -> (seed, checkpoint digest)
for k, st, seed, d, m in runs:
    if d.startswith("models/"):
        shipped[row(k, st)] = (str(seed), digest(d))
for k, st, seed, d, m in sorted(runs, key=lambda r: r[3].startswith("models/")):
    key, sd = row(k, st), str(seed)
    n = d.replace("/", "-")
    if sd in models[key]["seeds"]:
        other = models[key]["seeds"][sd]
        if d.startswith("models/") and digest(d) == digest(other["dir"]):
            continue  # the shipped run, also under RUNS: measured there
        sys.exit(f"{key}: seed {sd} twice ({d} and {other['dir']}), different checkpoints")
    seed = {"dir": d, "params": m["params"], "steps": m["steps"], "on_disk": True,
            "wall_time_s": round(m["wall_time_s"], 1), "trainer_test_rel_l2": round(m["test_rel_l2"], 6),
            "trainer_train_rel_l2": round(m["train_rel_l2"], 6),
            "activation": m.get("activation") or "tanh"}
    for dt in ("f32", "int8"):
        pf = np.array(json.loads((out / f"{n}-{dt}.verify.json").read_text())["rel_l2"]["per_function"])
        log = (out / f"{n}-{dt}.export.log").read_text()
        c = re.search(r"max rel error ([0-9.eE+-]+)", log)
        seed[dt] = {"functions": int(pf.size), "rel_l2_mean": round(float(pf.mean()), 6),
                    "rel_l2_std": round(float(pf.std()), 6), "rel_l2_max": round(float(pf.max()), 6),
                    "over_0.5": int((pf > 0.5).sum()),
                    "check_max_rel": float(c.group(1)) if c else None,
                    "check_passed": "check failed" not in log}
    models[key]["seeds"][sd] = seed
    models[key]["paper_params"] = m.get("paper_params")
    models[key]["paper_test_rel_l2"] = m.get("paper_test_rel_l2")
for key, (sd, dg) in shipped.items():
    s = models[key]["seeds"][sd]
    s["shipped"] = digest(s["dir"]) == dg
# Seeds measured before whose runs are gone.
for key, v in prev["models"].items():
    for sd, s in v["seeds"].items():
        k = row(key.split("@")[0], s["steps"])
        if sd in models[k]["seeds"]:
            continue
        if Path(s["dir"], "metrics.json").exists():
            m = json.loads(Path(s["dir"], "metrics.json").read_text())
            if (m["seed"], m["steps"]) == (int(sd), s["steps"]):
                sys.exit(f"{s['dir']} is on disk but was not measured")
        models[k]["seeds"][sd] = {**s, "on_disk": False, "shipped": False}
        for f in ("paper_params", "paper_test_rel_l2"):
            models[k].setdefault(f, v.get(f))
for key, v in models.items():
    s = v["seeds"]
    v["seeds"] = dict(sorted(s.items(), key=lambda x: int(x[0])))
    v["n_seeds"] = len(s)
    for dt in ("f32", "int8"):
        e = np.array([x[dt]["rel_l2_mean"] for x in s.values()])
        v[dt] = {"mean_over_seeds": round(float(e.mean()), 6),
                 "std_over_seeds": round(float(e.std(ddof=1)), 6) if e.size > 1 else None}
    v["minutes_per_run"] = round(float(np.mean([x["wall_time_s"] for x in s.values()])) / 60, 1)
res = {"hdon": version, "reference": "truth",
       "note": "rel_l2_* per seed: over the 200 test functions; *_over_seeds: over the seeds' "
               "means, std with ddof = 1; check_max_rel: f32 export vs reference-f64.npz "
               "(earlier measurements, on_disk false, were checked against JAX's float32 outputs)",
       "models": dict(sorted(models.items()))}
dest.write_text(json.dumps(res, indent=1, sort_keys=True) + "\n")
for key, v in res["models"].items():
    f, i = v["f32"], v["int8"]
    sd = lambda x: "" if x["std_over_seeds"] is None else f" +- {x['std_over_seeds']:.4f}"
    per = " ".join(f"s{k}={x['f32']['rel_l2_mean']:.4f}{'*' if x.get('shipped') else ''}"
                   for k, x in v["seeds"].items())
    print(f"{key:30s} f32 {f['mean_over_seeds']:.4f}{sd(f)}  int8 {i['mean_over_seeds']:.4f}{sd(i)}"
          f"  ({v['n_seeds']} seeds: {per}; * shipped)")
# The docs/REPRODUCTION.md tables.
fams = ["deeponet", "shift", "flex", "nomad", "hyper", "chunked_hyper"]
for prob in ["identity", "differentiation", "burgers", "advection"]:
    print(f"\n### {prob}\n| model | params (paper) | paper rel L2 (5 runs) | ours, hdon verify f32 "
          "(mean +- std over seeds) | int8 | seeds: f32 per seed | steps | min / run |\n"
          "|---|---|---|---|---|---|---|---|")
    rows = [k for k in res["models"] if k.split("@")[0].startswith(f"{prob}/")]
    rows.sort(key=lambda k: (fams.index(k.split("@")[0].split("/")[1]), k))
    for key in rows:
        v, fam = res["models"][key], key.split("@")[0].split("/")[1]
        s0 = next(iter(v["seeds"].values()))
        pp, pe = v["paper_params"], v["paper_test_rel_l2"]
        name = fam + (f" ({s0['activation']})" if s0["activation"] != "tanh" else "")
        name += f", {int(key.split('@')[1]):,} steps" if "@" in key else ""
        per = ", ".join(f"{x['f32']['rel_l2_mean']:.4f}{'*' if x.get('shipped') else ''}"
                        for x in v["seeds"].values())
        print(f"| {name} | {s0['params']:,}{f' ({pp // 1000}K)' if pp else ''} | "
              f"{f'{pe[0]} +- {pe[1]}' if pe else '-'} | {v['f32']['mean_over_seeds']:.4f}{sd(v['f32'])} | "
              f"{v['int8']['mean_over_seeds']:.4f}{sd(v['int8'])} | {v['n_seeds']}: {per} | "
              f"{'/'.join(sorted({str(x['steps']) for x in v['seeds'].values()}))} | "
              f"{v['minutes_per_run']:.1f} |")
PY
