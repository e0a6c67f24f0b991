"""Golden fixtures for the Rust tests: tests/fixtures/<name>/ holds a tiny trained model
(checkpoint + model.toml) and golden.npz with sensors [N, m], points [P, d_y], `outputs`
[N, P, d_out] computed by JAX in float32 and `outputs_f64` computed by the numpy evaluation of
the same math in float64 (a tighter reference)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import jax.numpy as jnp
import numpy as np

from . import arch, data
from .checkpoint import framework_string, model_spec, save_checkpoint, write_json
from .files import Error, atomic, write_text
from .models import Affine, Normalization, forward
from .train import default_normalization, errors, train

N_FUNCTIONS = 3
N_POINTS = 17


@dataclass(frozen=True)
class Fixture:
    name: str
    family: str
    problem: str  # identity | differentiation | advection | toy2d (tiny variants)
    norm: str  # none | default | custom
    layout: str = "out_in"
    activation: str = "tanh"
    steps: int = 600
    note: str = ""


FIXTURES = (
    Fixture("deeponet", "deeponet", "identity", "none", note="b0 = true, no normalization"),
    Fixture("shift", "shift", "toy2d", "custom", note="d_y = 2, d_out = 2, per-sensor + point + output normalization"),
    Fixture("flex", "flex", "differentiation", "default", note="scalar sensor + output normalization"),
    Fixture("nomad", "nomad", "toy2d", "custom", activation="silu", note="d_y = 2, d_out = 2, silu"),
    Fixture("hyper", "hyper", "identity", "default", note="scalar sensor + output normalization"),
    Fixture("chunked_hyper", "chunked_hyper", "advection", "default", note="point normalization [0,1] -> [-1,1]"),
    Fixture("hyper_2d", "hyper", "toy2d", "custom", note="d_y = 2, d_out = 2"),
    Fixture("hyper_in_out", "hyper", "identity", "none", layout="in_out",
            note="checkpoint.npz with Flax [in, out] kernels, layout = in_out"),
)


def tiny_dataset(problem: str, seed: int) -> data.Dataset:
    small = {"n_train": 200, "n_test": 50}
    if problem in ("identity", "differentiation"):
        return data.make_chebyshev(problem, seed, m=12, n_points=33, n_terms=6, **small)
    if problem == "advection":
        return data.make_advection(seed, m=16, **small)
    if problem == "toy2d":
        return data.make_toy2d(seed, m=10, **small)
    raise ValueError(problem)


def fixture_normalization(fx: Fixture, ds: data.Dataset) -> Normalization:
    if fx.norm == "none":
        return Normalization()
    norm = default_normalization(ds)
    if fx.norm == "default":
        if norm.points is None:  # make the point normalization non-trivial too
            norm.points = Affine([0.0] * ds.d_y, [1.25] * ds.d_y)
        return norm
    # custom: per-sensor sensor normalization and an off-centre point normalization
    u = ds.u_train.astype(np.float64)
    return Normalization(
        sensors=Affine(u.mean(axis=0).tolist(), (u.std(axis=0) + 0.05).tolist()),
        points=Affine([0.1 * (i + 1) for i in range(ds.d_y)], [0.75 + 0.25 * i for i in range(ds.d_y)]),
        output=norm.output,
    )


def golden_points(ds: data.Dataset, rng) -> np.ndarray:
    lo, hi = np.array(ds.lower), np.array(ds.upper)
    pts = rng.uniform(lo, hi, size=(N_POINTS, ds.d_y))
    pts[0], pts[1] = lo, hi  # the domain's corners
    return pts.astype(np.float32)


def make_fixture(fx: Fixture, out_root: Path, seed: int = 0, log=print) -> dict:
    ds = tiny_dataset(fx.problem, seed)
    cfg = arch.tiny(fx.family, ds.m, ds.d_y, ds.d_out, name=f"fixture-{fx.name}")
    if fx.activation != "tanh":
        cfg = cfg.with_activation(fx.activation)
    norm = fixture_normalization(fx, ds)
    params, hist = train(cfg, ds, norm, steps=fx.steps, seed=seed, lr=3e-3, lr_final=3e-4,
                         batch=50, log_every=fx.steps, log=lambda s: log(f"  {fx.name}: {s}"))
    e_test = errors(cfg, params, norm, ds, "test")

    rng = np.random.default_rng([seed, 7])
    sensors = ds.u_test[:N_FUNCTIONS].astype(np.float32)
    points = golden_points(ds, rng)
    out32 = np.asarray(forward(jnp, cfg, {k: jnp.asarray(v) for k, v in params.items()}, norm,
                               jnp.asarray(sensors), jnp.asarray(points)), np.float32)
    p64 = {k: v.astype(np.float64) for k, v in params.items()}
    out64 = forward(np, cfg, p64, norm, sensors.astype(np.float64), points.astype(np.float64))

    d = out_root / fx.name
    d.mkdir(parents=True, exist_ok=True)
    ckpt = d / ("checkpoint.npz" if fx.layout == "in_out" else "checkpoint.safetensors")
    with atomic(ckpt) as tmp:
        save_checkpoint(params, tmp, layout=fx.layout)
    write_text(d / "model.toml", model_spec(
        cfg, norm, ds.sensors_x, ds.lower, ds.upper, name=f"fixture-{fx.name}", layout=fx.layout,
        framework=framework_string(), dataset=f"tiny {ds.description}",
        test_rel_l2=float(e_test.mean()), extra={"fixture": fx.note, "steps": fx.steps}))
    with atomic(d / "golden.npz") as tmp:
        np.savez(tmp, sensors=sensors, points=points, outputs=out32,
                 outputs_f64=out64.astype(np.float64))
    rel = float(np.max(np.abs(out32 - out64)) / np.max(np.abs(out64)))
    info = {"name": fx.name, "family": fx.family, "problem": fx.problem, "layout": fx.layout,
            "d_y": ds.d_y, "d_out": ds.d_out, "m": ds.m, "params": cfg.param_count(),
            "steps": fx.steps, "test_rel_l2": float(e_test.mean()),
            "f32_vs_f64_max_rel": rel, "note": fx.note}
    log(f"{fx.name}: {cfg.param_count()} params, test rel-L2 {info['test_rel_l2']:.3e}, "
        f"f32 vs f64 max rel {rel:.2e}")
    return info


def default_dir() -> Path:
    """tests/fixtures of the hdon checkout holding this package (tools/train/hdon_train)."""
    root = Path(__file__).resolve().parents[3]
    if (root / "Cargo.toml").is_file() and (root / "tests" / "fixtures").is_dir():
        return root / "tests" / "fixtures"
    raise Error("--out: not given, and this hdon_train is not inside an hdon checkout "
                f"({root} has no Cargo.toml and tests/fixtures); pass --out DIR")


def make_all(out_root: Path, only=None, log=print) -> list:
    names = [fx.name for fx in FIXTURES]
    unknown = [n for n in only or [] if n not in names]
    if unknown:
        raise Error(f"--only: unknown fixture {', '.join(unknown)}; expected some of {', '.join(names)}")
    if Path(out_root).exists() and not Path(out_root).is_dir():
        raise Error(f"--out {out_root}: is a file; expected a directory")
    infos = [make_fixture(fx, out_root, log=log) for fx in FIXTURES if not only or fx.name in only]
    if not only:
        write_json(out_root / "fixtures.json", infos)
    return infos
