"""One training run: data -> model -> train -> the output directory `hdon export` reads."""

from __future__ import annotations

import platform
import subprocess
from pathlib import Path

import numpy as np

from . import arch, data
from .checkpoint import framework_string, model_spec, save_checkpoint, write_json
from .files import Error, atomic, write_text
from .train import default_normalization, errors, predict, train

# Default steps / batch per problem for the short runs (docs/TRAINING.md).
DEFAULT_STEPS = {"identity": 20000, "differentiation": 20000, "advection": 20000,
                 "burgers": 20000, "toy2d": 2000}
# What `run` writes into its output directory; metrics.json last (a finished run).
OUTPUTS = ("checkpoint.safetensors", "model.toml", "test.npz", "metrics.json")


def check_out_dir(out: Path, overwrite: bool) -> None:
    """Fails early (before data and training) when `out` cannot take a run's outputs: a file,
    not creatable, or already holding a run (unless `overwrite`). Creates it."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise Error(f"--out {out}: is a file; expected a directory (existing or to be created)")
    held = [f for f in OUTPUTS if (out / f).exists()]
    if held and not overwrite:
        raise Error(f"--out {out}: already holds a run ({', '.join(held)}); pass --overwrite "
                    "to replace it, or choose another directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise Error(f"--out {out}: cannot create the directory ({e.strerror})") from None


def git_rev() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, cwd=Path(__file__).parent, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def run(problem: str, family: str, seed: int, out: Path, *, steps: int | None = None,
        size: str = "paper", lr: float = 1e-3, lr_final: float = 1e-5, batch: int = 100,
        loss: str = "rel_l2", data_seed: int = 0, log_every: int = 500, activation: str = "tanh",
        overwrite: bool = False, log=print) -> dict:
    if problem not in data.PROBLEMS:
        raise Error(f"--problem {problem!r}: expected one of {', '.join(data.PROBLEMS)}")
    if size == "paper" and problem not in arch.PAPER_PROBLEMS:
        raise Error(f"--problem {problem} has no paper size (the paper's problems: "
                    f"{', '.join(arch.PAPER_PROBLEMS)}); use --size tiny")
    check_out_dir(out, overwrite)
    ds = data.load(problem, data_seed, log=log)
    if batch > ds.u_train.shape[0]:
        raise Error(f"--batch {batch}: the {problem} training set has only "
                    f"{ds.u_train.shape[0]} input functions")
    cfg = arch.paper(problem, family, ds.m) if size == "paper" else arch.tiny(family, ds.m, ds.d_y, ds.d_out)
    if activation != "tanh":
        cfg = cfg.with_activation(activation)
    steps = DEFAULT_STEPS.get(problem, 5000) if steps is None else steps
    norm = default_normalization(ds)
    n_params = cfg.param_count()
    paper_n = arch.PAPER_PARAMS.get((problem, family))
    log(f"{problem}/{family} ({size}): {n_params:,} parameters"
        + (f" (paper: {paper_n / 1000:.0f}K)" if paper_n else "")
        + f"; {ds.description}")
    params, hist = train(cfg, ds, norm, steps=steps, seed=seed, lr=lr, lr_final=lr_final,
                         batch=batch, loss=loss, log_every=log_every, log=log)
    assert sum(v.size for v in params.values()) == n_params
    e_train = errors(cfg, params, norm, ds, "train")
    e_test = errors(cfg, params, norm, ds, "test")
    if not (np.isfinite(e_train).all() and np.isfinite(e_test).all()):
        raise Error(f"training diverged: the test error is {e_test.mean()}; nothing written to "
                    f"{out} (try a smaller --lr)")
    name = f"{problem}-{family}"
    spec = model_spec(
        cfg, norm, ds.sensors_x, ds.lower, ds.upper, name=name, framework=framework_string(),
        dataset=ds.description, test_rel_l2=float(e_test.mean()),
        extra={"git": git_rev(), "seed": seed, "steps": steps, "size": size, "lr": lr,
               "lr_final": lr_final, "batch": batch, "loss": loss})
    outputs = predict(cfg, params, norm, ds.u_test, ds.points)
    metrics = {
        "problem": problem, "family": family, "size": size, "seed": seed, "data_seed": data_seed,
        "train_rel_l2": float(e_train.mean()), "test_rel_l2": float(e_test.mean()),
        "test_rel_l2_std": float(e_test.std()), "test_rel_l2_max": float(e_test.max()),
        "wall_time_s": hist.wall_time_s, "steps": steps, "params": n_params,
        "paper_params": paper_n, "paper_test_rel_l2": arch.PAPER_ERROR.get((problem, family)),
        "activation": activation, "lr": lr, "lr_final": lr_final, "batch": batch, "loss": loss,
        "framework": framework_string(), "machine": platform.machine(), "git": git_rev(),
        "log": hist.lines,
    }
    # Each file complete or absent; metrics.json last, so that its presence marks a whole run.
    # Replacing a run: its metrics.json (the "finished" mark) and its float64 reference (of the
    # old weights) go first, so an interrupted write never leaves old and new mixed as finished.
    for stale in ("metrics.json", "reference-f64.npz"):
        (out / stale).unlink(missing_ok=True)
    with atomic(out / "checkpoint.safetensors") as tmp:
        save_checkpoint(params, tmp)
    write_text(out / "model.toml", spec)
    with atomic(out / "test.npz") as tmp:
        np.savez(tmp, sensors=ds.u_test, points=ds.points, truth=ds.v_test,
                 outputs=outputs.astype(np.float32))
    write_json(out / "metrics.json", metrics)
    log(f"done: train rel-L2 {metrics['train_rel_l2']:.4e}, test rel-L2 "
        f"{metrics['test_rel_l2']:.4e} +- {metrics['test_rel_l2_std']:.4e}, "
        f"{hist.wall_time_s:.0f}s -> {out}")
    return metrics
