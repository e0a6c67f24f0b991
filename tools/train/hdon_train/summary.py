"""Collect metrics.json files into the "paper vs ours" table (docs/REPRODUCTION.md)."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import numpy as np

ORDER = ["identity", "differentiation", "burgers", "advection", "toy2d"]
FAMS = ["deeponet", "shift", "flex", "nomad", "hyper", "chunked_hyper"]


def collect(root: Path) -> dict:
    runs = defaultdict(list)
    for f in sorted(Path(root).rglob("metrics.json")):
        m = json.loads(f.read_text())
        runs[(m["problem"], m["family"])].append(m)
    return runs


def table(root: Path) -> str:
    runs = collect(root)
    lines = ["| problem | model | params | paper params | seeds | steps | time / model (s) | "
             "test rel L2 (ours, trainer) | paper |",
             "|---|---|---|---|---|---|---|---|---|"]
    keys = sorted(runs, key=lambda k: (ORDER.index(k[0]) if k[0] in ORDER else 99,
                                        FAMS.index(k[1]) if k[1] in FAMS else 99))
    for prob, fam in keys:
        ms = runs[(prob, fam)]
        e = np.array([m["test_rel_l2"] for m in ms])
        t = np.array([m["wall_time_s"] for m in ms])
        steps = sorted({m["steps"] for m in ms})
        pp = ms[0].get("paper_params")
        pe = ms[0].get("paper_test_rel_l2")
        ours = f"{e.mean():.4f} +- {e.std():.4f}" if len(e) > 1 else f"{e[0]:.4f}"
        lines.append(
            f"| {prob} | {fam} | {ms[0]['params']:,} | {f'{pp / 1000:.0f}K' if pp else '-'} | "
            f"{len(ms)} | {'/'.join(str(s) for s in steps)} | {t.mean():.0f} | {ours} | "
            f"{f'{pe[0]} +- {pe[1]}' if pe else '-'} |")
    return "\n".join(lines)


def runs_table(root: Path) -> str:
    """One row per run: how it was trained and what it measured (models/README.md)."""
    lines = ["| model | params | activation | seed | steps | batch | lr | wall time (s) | train rel L2 | "
             "test rel L2 (mean +- std, max) |", "|---|---|---|---|---|---|---|---|---|---|"]
    for f in sorted(Path(root).rglob("metrics.json"),
                    key=lambda f: (ORDER.index(f.parent.parent.name) if f.parent.parent.name in ORDER else 99,
                                   FAMS.index(f.parent.name) if f.parent.name in FAMS else 99)):
        m = json.loads(f.read_text())
        lines.append(
            f"| {f.parent.relative_to(root)} | {m['params']:,} | {m.get('activation', 'tanh')} | "
            f"{m['seed']} | {m['steps']} | {m['batch']} | {m['lr']:g} -> {m['lr_final']:g} | "
            f"{m['wall_time_s']:.0f} | {m['train_rel_l2']:.4f} | "
            f"{m['test_rel_l2']:.4f} +- {m['test_rel_l2_std']:.4f}, {m['test_rel_l2_max']:.3f} |")
    return "\n".join(lines)
