"""python -m hdon_train {train, reference, fixtures, params, summarize} -- see docs/TRAINING.md."""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

from .files import Error

# One XLA thread unless the caller says otherwise: the machines we train on are shared.
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")


def _int_at_least(lo: int):
    def parse(s: str) -> int:
        try:
            v = int(s)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, found {s!r}") from None
        if v < lo:
            raise argparse.ArgumentTypeError(f"must be >= {lo}, found {v}")
        return v

    return parse


def _positive_float(s: str) -> float:
    try:
        v = float(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, found {s!r}") from None
    if not math.isfinite(v) or v <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, found {s}")
    return v


def _parser(sub, name: str, help: str, epilog: str):
    return sub.add_parser(name, help=help, description=help[:1].upper() + help[1:] + ".",
                          epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter)


TRAIN_EXAMPLES = """\
outputs (docs/TRAINING.md): DIR/checkpoint.safetensors, DIR/model.toml (the spec `hdon export
--spec` reads), DIR/test.npz (test set + the model's outputs), DIR/metrics.json (written last:
its presence marks a finished run). An existing run in DIR is only replaced with --overwrite.

examples:
  python -m hdon_train train --problem burgers --model hyper --out runs/burgers-hyper
  python -m hdon_train train --problem identity --model hyper --size tiny --steps 200 --out /tmp/t
  hdon export --spec /tmp/t/model.toml --weights /tmp/t/checkpoint.safetensors -o t.hdon
"""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="hdon_train", description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)

    t = _parser(sub, "train", "train one model and write checkpoint, spec, test set, metrics",
                TRAIN_EXAMPLES)
    t.add_argument("--problem", required=True,
                   choices=["identity", "differentiation", "advection", "burgers", "toy2d"],
                   help="the data set (toy2d: d_y = d_out = 2, --size tiny only)")
    t.add_argument("--model", required=True,
                   choices=["deeponet", "shift", "flex", "nomad", "hyper", "chunked_hyper"],
                   help="the family")
    t.add_argument("--seed", type=_int_at_least(0), default=0,
                   help="model init and minibatch order (default 0)")
    t.add_argument("--data-seed", type=_int_at_least(0), default=0,
                   help="the data set's seed (default 0)")
    t.add_argument("--out", type=Path, required=True, metavar="DIR",
                   help="output directory (created if missing)")
    t.add_argument("--overwrite", action="store_true",
                   help="replace the run already in DIR (refused otherwise)")
    t.add_argument("--steps", type=_int_at_least(1), default=None,
                   help="Adam steps (default 20000; toy2d 2000)")
    t.add_argument("--size", choices=["paper", "tiny"], default="paper",
                   help="paper-size networks (docs/TRAINING.md \"Sizes\") or tiny ones (tests)")
    t.add_argument("--lr", type=_positive_float, default=1e-3,
                   help="initial learning rate (default 1e-3)")
    t.add_argument("--lr-final", type=_positive_float, default=1e-5,
                   help="final learning rate, reached by exponential decay (default 1e-5)")
    t.add_argument("--batch", type=_int_at_least(1), default=100,
                   help="input functions per step (default 100)")
    t.add_argument("--loss", choices=["rel_l2", "mse"], default="rel_l2",
                   help="mean per-function relative L2 (default) or MSE on normalized outputs")
    t.add_argument("--log-every", type=_int_at_least(1), default=500,
                   help="steps between progress lines (default 500)")
    t.add_argument("--activation", default="tanh",
                   choices=["tanh", "relu", "prelu", "sigmoid", "sin", "gelu", "silu", "softplus"],
                   help="hidden activation of every network (default tanh, as the paper's tables)")

    r = _parser(sub, "reference", "float64 evaluation of a run's checkpoint on its test set "
                "-> DIR/reference-f64.npz (the tight reference for hdon export --check)",
                "example:\n  python -m hdon_train reference runs/burgers-hyper\n"
                "  hdon export --spec runs/burgers-hyper/model.toml \\\n"
                "    --weights runs/burgers-hyper/checkpoint.safetensors \\\n"
                "    --check runs/burgers-hyper/reference-f64.npz --rtol 5e-5 -o burgers-hyper.hdon\n")
    r.add_argument("dir", type=Path, nargs="+", metavar="DIR",
                   help="run directories written by `train` (model.toml, checkpoint, test.npz)")

    f = _parser(sub, "fixtures", "write the golden fixtures for all six families",
                "example:\n  python -m hdon_train fixtures --out tests/fixtures --only hyper nomad\n")
    f.add_argument("--out", type=Path, default=None, metavar="DIR",
                   help="where <name>/ directories go (default: tests/fixtures of the hdon "
                   "checkout this package is in, whatever the current directory)")
    f.add_argument("--only", nargs="*", metavar="NAME", help="fixture names (default: all)")

    _parser(sub, "params", "print parameter counts of the paper-size models",
            "example:\n  python -m hdon_train params\n")

    sm = _parser(sub, "summarize", "table of all metrics.json under DIR (mean +- sample std over seeds)",
                 "example:\n  python -m hdon_train summarize tools/train/runs --runs\n")
    sm.add_argument("dir", type=Path, metavar="DIR")
    sm.add_argument("--runs", action="store_true", help="one row per run (how it was trained)")

    a = ap.parse_args(argv)
    try:
        return _dispatch(a)
    except Error as e:
        print(f"hdon_train {a.cmd}: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"hdon_train {a.cmd}: interrupted (files are written whole or not at all; "
              "a run without metrics.json is unfinished)", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `... | head`: the reader left; no traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _dispatch(a) -> int:
    if a.cmd == "train":
        from .run import run

        run(a.problem, a.model, a.seed, a.out, steps=a.steps, size=a.size, lr=a.lr,
            lr_final=a.lr_final, batch=a.batch, loss=a.loss, data_seed=a.data_seed,
            log_every=a.log_every, activation=a.activation, overwrite=a.overwrite,
            log=lambda s: print(s, flush=True))
    elif a.cmd == "reference":
        from .reference import write_reference

        for d in a.dir:
            write_reference(d, log=lambda s: print(s, flush=True))
    elif a.cmd == "fixtures":
        from .fixtures import make_all

        from .fixtures import default_dir

        make_all(a.out or default_dir(), a.only, log=lambda s: print(s, flush=True))
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
