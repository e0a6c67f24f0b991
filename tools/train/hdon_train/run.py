"""One training run: data -> model -> train -> the output directory `hdon export` reads."""

from __future__ import annotations

import platform
import subprocess
from pathlib import Path

import numpy as np

from . import arch, data
from .checkpoint import framework_string, model_spec, save_checkpoint, write_json
from .train import default_normalization, errors, predict, train

# Default steps / batch per problem for the short runs (docs/TRAINING.md).
DEFAULT_STEPS = {"identity": 20000, "differentiation": 20000, "advection": 20000,
                 "burgers": 20000, "toy2d": 2000}


def git_rev() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, cwd=Path(__file__).parent, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def run(problem: str, family: str, seed: int, out: Path, *, steps: int | None = None,
        size: str = "paper", lr: float = 1e-3, lr_final: float = 1e-5, batch: int = 100,
        loss: str = "rel_l2", data_seed: int = 0, log_every: int = 500, activation: str = "tanh",
        log=print) -> dict:
    ds = data.load(problem, data_seed)
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
    out.mkdir(parents=True, exist_ok=True)
    save_checkpoint(params, out / "checkpoint.safetensors")
    name = f"{problem}-{family}"
    (out / "model.toml").write_text(model_spec(
        cfg, norm, ds.sensors_x, ds.lower, ds.upper, name=name, framework=framework_string(),
        dataset=ds.description, test_rel_l2=float(e_test.mean()),
        extra={"git": git_rev(), "seed": seed, "steps": steps, "size": size, "lr": lr,
               "lr_final": lr_final, "batch": batch, "loss": loss}))
    outputs = predict(cfg, params, norm, ds.u_test, ds.points)
    np.savez(out / "test.npz", sensors=ds.u_test, points=ds.points, truth=ds.v_test,
             outputs=outputs.astype(np.float32))
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
    write_json(out / "metrics.json", metrics)
    log(f"done: train rel-L2 {metrics['train_rel_l2']:.4e}, test rel-L2 "
        f"{metrics['test_rel_l2']:.4e} +- {metrics['test_rel_l2_std']:.4e}, "
        f"{hist.wall_time_s:.0f}s -> {out}")
    return metrics
