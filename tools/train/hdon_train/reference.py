"""Float64 reference outputs for a training run: the numpy evaluation of the checkpoint in
float64 (models.forward with xp = numpy) on the run's test set.

`hdon export --check` compares the exported file with the `outputs` array of an npz. The
`outputs` in test.npz are JAX's float32 forward pass, which rounds differently from hdon's
float32 kernels through every layer; on the deeper HyperDeepONets the two float32 evaluations
differ by up to ~2e-5 relative while each is within ~1e-5 of exact arithmetic. Checking against
this float64 evaluation measures hdon's own deviation instead of the sum of both.

Output: DIR/reference-f64.npz with `sensors` and `points` (as in test.npz) and `outputs`
[N, P, d_out] in float64.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .checkpoint import load_checkpoint, read_spec
from .models import forward

FILE = "reference-f64.npz"


def reference_outputs(run_dir: Path, sensors: np.ndarray, points: np.ndarray) -> np.ndarray:
    """G(u)(y) in float64 for the run in `run_dir` (model.toml + checkpoint), sensors [N, m],
    points [P, d_y] -> [N, P, d_out]."""
    run_dir = Path(run_dir)
    cfg, norm, _, layout = read_spec(run_dir / "model.toml")
    ckpt = run_dir / ("checkpoint.npz" if layout == "in_out" else "checkpoint.safetensors")
    params = {k: np.asarray(v, np.float64) for k, v in load_checkpoint(ckpt, layout=layout).items()}
    if sum(v.size for v in params.values()) != cfg.param_count():
        raise ValueError(f"{ckpt}: {sum(v.size for v in params.values())} parameters, "
                         f"model.toml describes {cfg.param_count()}")
    return forward(np, cfg, params, norm, np.asarray(sensors, np.float64),
                   np.asarray(points, np.float64))


def write_reference(run_dir: Path, log=print) -> dict:
    """Writes run_dir/reference-f64.npz from run_dir/test.npz; returns how far test.npz's
    float32 `outputs` are from it (max abs, and max abs over max |reference|)."""
    run_dir = Path(run_dir)
    t = np.load(run_dir / "test.npz")
    sensors, points = t["sensors"], t["points"]
    ref = reference_outputs(run_dir, sensors, points)
    if ref.shape != t["outputs"].shape:
        raise ValueError(f"{run_dir / 'test.npz'}: outputs {t['outputs'].shape}, "
                         f"the model gives {ref.shape}")
    np.savez(run_dir / FILE, sensors=sensors, points=points, outputs=ref)
    dev = np.abs(t["outputs"].astype(np.float64) - ref)
    info = {"max_abs": float(dev.max()), "max_rel": float(dev.max() / np.abs(ref).max())}
    log(f"{run_dir / FILE}: {ref.shape[0]} functions x {ref.shape[1]} points; JAX float32 vs "
        f"float64: max abs {info['max_abs']:.2e}, max rel {info['max_rel']:.2e}")
    return info
