"""Collect metrics.json files into the "paper vs ours" table (docs/REPRODUCTION.md)."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from .files import Error

ORDER = ["identity", "differentiation", "burgers", "advection", "toy2d"]
FAMS = ["deeponet", "shift", "flex", "nomad", "hyper", "chunked_hyper"]


KEYS = ("problem", "family", "params", "seed", "steps", "batch", "lr", "lr_final",
        "wall_time_s", "train_rel_l2", "test_rel_l2", "test_rel_l2_std", "test_rel_l2_max")


def metrics_files(root: Path) -> list:
    root = Path(root)
    if not root.is_dir():
        raise Error(f"{root}: not a directory (expected a folder of runs written by `train`)")
    files = sorted(root.rglob("metrics.json"))
    if not files:
        raise Error(f"{root}: no metrics.json below it (nothing to summarize)")
    return files


def read_metrics(f: Path) -> dict:
    try:
        m = json.loads(f.read_text())
    except (OSError, ValueError) as e:
        raise Error(f"{f}: unreadable ({e})") from None
    missing = [k for k in KEYS if not isinstance(m, dict) or k not in m]
    if missing:
        raise Error(f"{f}: not a metrics.json written by `train` (no {', '.join(missing)})")
    return m


def collect(root: Path) -> dict:
    runs = defaultdict(list)
    for f in metrics_files(root):
        m = read_metrics(f)
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
        ours = f"{e.mean():.4f} +- {e.std(ddof=1):.4f}" if len(e) > 1 else f"{e[0]:.4f}"
        lines.append(
            f"| {prob} | {fam} | {ms[0]['params']:,} | {f'{pp / 1000:.0f}K' if pp else '-'} | "
            f"{len(ms)} | {'/'.join(str(s) for s in steps)} | {t.mean():.0f} | {ours} | "
            f"{f'{pe[0]} +- {pe[1]}' if pe else '-'} |")
    return "\n".join(lines)


def runs_table(root: Path) -> str:
    """One row per run: how it was trained and what it measured (models/README.md)."""
    lines = ["| model | params | activation | seed | steps | batch | lr | wall time (s) | train rel L2 | "
             "test rel L2 (mean +- std, max) |", "|---|---|---|---|---|---|---|---|---|---|"]
    for f in sorted(metrics_files(root),
                    key=lambda f: (ORDER.index(f.parent.parent.name) if f.parent.parent.name in ORDER else 99,
                                   FAMS.index(f.parent.name) if f.parent.name in FAMS else 99)):
        m = read_metrics(f)
        lines.append(
            f"| {f.parent.relative_to(root)} | {m['params']:,} | {m.get('activation', 'tanh')} | "
            f"{m['seed']} | {m['steps']} | {m['batch']} | {m['lr']:g} -> {m['lr_final']:g} | "
            f"{m['wall_time_s']:.0f} | {m['train_rel_l2']:.4f} | "
            f"{m['test_rel_l2']:.4f} +- {m['test_rel_l2_std']:.4f}, {m['test_rel_l2_max']:.3f} |")
    return "\n".join(lines)
