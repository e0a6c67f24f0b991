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
from .files import Error, atomic
from .models import forward, init_params

FILE = "reference-f64.npz"


def _load_run(run_dir: Path):
    """(cfg, norm, params as float64) of a run directory, or Error naming the file at fault."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise Error(f"{run_dir}: not a directory (expected a run directory written by `train`)")
    spec = run_dir / "model.toml"
    if not spec.is_file():
        raise Error(f"{spec}: missing (expected the model spec written by `train`)")
    try:
        cfg, norm, _, layout = read_spec(spec)
    except Exception as e:  # noqa: BLE001 -- TOML syntax, missing keys, bad sizes
        raise Error(f"{spec}: not a model spec written by hdon_train ({type(e).__name__}: {e})") from None
    ckpt = run_dir / ("checkpoint.npz" if layout == "in_out" else "checkpoint.safetensors")
    if not ckpt.is_file():
        raise Error(f"{ckpt}: missing (model.toml has layout = {layout!r})")
    try:
        raw = load_checkpoint(ckpt, layout=layout)
    except Exception as e:  # noqa: BLE001
        raise Error(f"{ckpt}: unreadable ({type(e).__name__}: {e})") from None
    want = {k: v.shape for k, v in init_params(cfg, 0).items()}
    have = {k: tuple(np.shape(v)) for k, v in raw.items()}
    missing = sorted(set(want) - set(have))
    if missing:
        raise Error(f"{ckpt}: missing tensors {', '.join(missing[:4])}"
                    f"{' ...' if len(missing) > 4 else ''} (model.toml's networks need them)")
    for k, shape in want.items():
        if have[k] != shape:
            raise Error(f"{ckpt}: {k} has shape {list(have[k])}, model.toml expects {list(shape)}")
    params = {k: np.asarray(raw[k], np.float64) for k in want}
    bad = [k for k, v in params.items() if not np.isfinite(v).all()]
    if bad:
        raise Error(f"{ckpt}: non-finite values (NaN or inf) in {', '.join(bad[:4])}")
    return cfg, norm, params


def reference_outputs(run_dir: Path, sensors: np.ndarray, points: np.ndarray) -> np.ndarray:
    """G(u)(y) in float64 for the run in `run_dir` (model.toml + checkpoint), sensors [N, m],
    points [P, d_y] -> [N, P, d_out]."""
    cfg, norm, params = _load_run(run_dir)
    return forward(np, cfg, params, norm, np.asarray(sensors, np.float64),
                   np.asarray(points, np.float64))


def _load_test_set(run_dir: Path, cfg) -> tuple:
    """sensors, points, outputs of run_dir/test.npz, checked against the spec."""
    path = run_dir / "test.npz"
    if not path.is_file():
        raise Error(f"{path}: missing (expected the test set written by `train`)")
    try:
        z = np.load(path, allow_pickle=False)
        arrays = {k: z[k] for k in z.files}
    except Exception as e:  # noqa: BLE001
        raise Error(f"{path}: unreadable ({type(e).__name__}: {e})") from None
    missing = [k for k in ("sensors", "points", "outputs") if k not in arrays]
    if missing:
        raise Error(f"{path}: no array {', '.join(repr(k) for k in missing)} (expected sensors "
                    f"[N, m], points [P, d_y], outputs [N, P, d_out]; found "
                    f"{', '.join(sorted(arrays)) or 'none'})")
    s, y, o = arrays["sensors"], arrays["points"], arrays["outputs"]
    n_fn, n_pt = s.shape[0] if s.ndim else None, y.shape[0] if y.ndim else None
    for name, a, want in (("sensors", s, ("N", cfg.m)), ("points", y, ("P", cfg.d_y)),
                          ("outputs", o, (n_fn, n_pt, cfg.d_out))):
        if a.ndim != len(want) or any(isinstance(w, int) and w != n for w, n in zip(want, a.shape)):
            shown = ", ".join(str(w) for w in want)
            raise Error(f"{path}: {name} has shape {list(a.shape)}, model.toml and the other "
                        f"arrays expect [{shown}]")
    for name, a in (("sensors", s), ("points", y), ("outputs", o)):
        bad = int(a.size - np.isfinite(a).sum())
        if bad:
            raise Error(f"{path}: {name} has {bad} non-finite values (NaN or inf)")
    return s, y, o


def write_reference(run_dir: Path, log=print) -> dict:
    """Writes run_dir/reference-f64.npz from run_dir/test.npz; returns how far test.npz's
    float32 `outputs` are from it (max abs, and max abs over max |reference|)."""
    run_dir = Path(run_dir)
    cfg, norm, params = _load_run(run_dir)
    sensors, points, outputs = _load_test_set(run_dir, cfg)
    ref = forward(np, cfg, params, norm, np.asarray(sensors, np.float64),
                  np.asarray(points, np.float64))
    with atomic(run_dir / FILE) as tmp:
        np.savez(tmp, sensors=sensors, points=points, outputs=ref)
    dev = np.abs(outputs.astype(np.float64) - ref)
    info = {"max_abs": float(dev.max()), "max_rel": float(dev.max() / np.abs(ref).max())}
    log(f"{run_dir / FILE}: {ref.shape[0]} functions x {ref.shape[1]} points; JAX float32 vs "
        f"float64: max abs {info['max_abs']:.2e}, max rel {info['max_rel']:.2e}")
    return info
