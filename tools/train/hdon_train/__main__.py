"""python -m hdon_train {train, reference, fixtures, params, summarize} -- see docs/TRAINING.md."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

# One XLA thread unless the caller says otherwise: the machines we train on are shared.
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="hdon_train", description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)

    t = sub.add_parser("train", help="train one model and write checkpoint, spec, test set, metrics")
    t.add_argument("--problem", required=True,
                   choices=["identity", "differentiation", "advection", "burgers", "toy2d"])
    t.add_argument("--model", required=True,
                   choices=["deeponet", "shift", "flex", "nomad", "hyper", "chunked_hyper"])
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--data-seed", type=int, default=0)
    t.add_argument("--out", type=Path, required=True)
    t.add_argument("--steps", type=int, default=None)
    t.add_argument("--size", choices=["paper", "tiny"], default="paper")
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--lr-final", type=float, default=1e-5)
    t.add_argument("--batch", type=int, default=100, help="input functions per step")
    t.add_argument("--loss", choices=["rel_l2", "mse"], default="rel_l2")
    t.add_argument("--log-every", type=int, default=500)
    t.add_argument("--activation", default="tanh",
                   choices=["tanh", "relu", "prelu", "sigmoid", "sin", "gelu", "silu", "softplus"],
                   help="hidden activation of every network (default tanh, as the paper's tables)")

    r = sub.add_parser("reference", help="float64 evaluation of a run's checkpoint on its test set "
                       "-> DIR/reference-f64.npz (the tight reference for hdon export --check)")
    r.add_argument("dir", type=Path, nargs="+", help="run directories (model.toml, checkpoint, test.npz)")

    f = sub.add_parser("fixtures", help="write the golden fixtures for all six families")
    f.add_argument("--out", type=Path, default=Path("tests/fixtures"))
    f.add_argument("--only", nargs="*", help="fixture names (default: all)")

    sub.add_parser("params", help="print parameter counts of the paper-size models")

    sm = sub.add_parser("summarize", help="table of all metrics.json under DIR (mean +- std over seeds)")
    sm.add_argument("dir", type=Path)
    sm.add_argument("--runs", action="store_true", help="one row per run (how it was trained)")

    a = ap.parse_args(argv)
    if a.cmd == "train":
        from .run import run

        run(a.problem, a.model, a.seed, a.out, steps=a.steps, size=a.size, lr=a.lr,
            lr_final=a.lr_final, batch=a.batch, loss=a.loss, data_seed=a.data_seed,
            log_every=a.log_every, activation=a.activation, log=lambda s: print(s, flush=True))
    elif a.cmd == "reference":
        from .reference import write_reference

        for d in a.dir:
            write_reference(d, log=lambda s: print(s, flush=True))
    elif a.cmd == "fixtures":
        from .fixtures import make_all

        make_all(a.out, a.only, log=lambda s: print(s, flush=True))
    elif a.cmd == "summarize":
        from .summary import runs_table, table

        print(runs_table(a.dir) if a.runs else table(a.dir))
    elif a.cmd == "params":
        from .arch import PAPER_PARAMS, paper

        sensors = {"identity": 100, "differentiation": 100, "advection": 40, "burgers": 128}
        for prob, m in sensors.items():
            fams = (["deeponet", "shift", "flex", "nomad", "hyper"] if m == 100
                    else ["deeponet", "hyper", "chunked_hyper"])
            for fam in fams:
                cfg = paper(prob, fam, m)
                ref = PAPER_PARAMS.get((prob, fam))
                ref_s = f"paper {ref / 1000:.0f}K" if ref else ""
                extra = f" N_theta={cfg.n_theta}" if cfg.n_theta else f" p={cfg.p}"
                print(f"{prob:16s} {fam:14s} {cfg.param_count():>9,d}  {ref_s}{extra}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
