#!/usr/bin/env bash
# Export every trained model under models/<problem>/<family>/ with `hdon export` (f32 and int8,
# --check against reference-f64.npz, see export_verify.sh) into OUT_DIR and measure it with
# `hdon verify` against the ground truth; writes models/hdon_verify.json (mean, std, max relative L2).
# Usage: tools/train/verify_models.sh [OUT_DIR]     env: HDON = path of the hdon binary
# (the shipped runs only; tools/train/verify_seeds.sh measures every seed)
# int8 exports use --rtol 1 so that the measurement is always made; the export check's own
# tolerance for int8 (5e-2) is reported in the JSON as check_max_rel.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
HDON=${HDON:-hdon}
out="${1:-$(mktemp -d -t hdon-models.XXXXXX)}"
mkdir -p "$out"
cd "$root"
for d in models/*/*/; do
  d=${d%/}
  [ -f "$d/metrics.json" ] || continue
  n=$(echo "$d" | cut -d/ -f2- | tr / -)
  HDON="$HDON" tools/train/export_verify.sh "$d" "$out/$n"
done
python3 - "$out" "$($HDON --version 2>/dev/null || echo hdon)" <<'PY'
import json, re, sys
from pathlib import Path
import numpy as np
out, version = Path(sys.argv[1]), sys.argv[2]
res = {"hdon": version, "reference": "truth", "models": {}}
for f in sorted(out.glob("*.verify.json")):
    j = json.loads(f.read_text())
    pf = np.array(j["rel_l2"]["per_function"])
    log = (out / f.name.replace(".verify.json", ".export.log")).read_text()
    m = re.search(r"max rel error ([0-9.eE+-]+)", log)
    res["models"][f.name[: -len(".verify.json")]] = {
        "functions": j["functions"], "rel_l2_mean": round(float(pf.mean()), 6),
        "rel_l2_std": round(float(pf.std()), 6), "rel_l2_max": round(float(pf.max()), 6),
        "check_max_rel": float(m.group(1)) if m else None}
Path("models/hdon_verify.json").write_text(json.dumps(res, indent=1, sort_keys=True) + "\n")
for k, v in res["models"].items():
    print(f"{k:32s} rel L2 {v['rel_l2_mean']:.4f} +- {v['rel_l2_std']:.4f} (max {v['rel_l2_max']:.3f}); "
          f"export check vs float64 {v['check_max_rel']}")
PY
