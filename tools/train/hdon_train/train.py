"""Training loop: optax Adam over minibatches of input functions (all query points of each)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np
import optax

from .arch import ModelConfig
from .data import Dataset
from .files import Error
from .models import Affine, Normalization, forward, init_params


def default_normalization(ds: Dataset) -> Normalization:
    """Scalar sensor normalization from the training inputs, point normalization mapping the
    query domain to [-1, 1] (omitted when it already is), per-component output normalization
    from the training outputs."""
    u = ds.u_train.astype(np.float64)
    v = ds.v_train.astype(np.float64)
    lo, hi = np.array(ds.lower), np.array(ds.upper)
    mid, half = (lo + hi) / 2, (hi - lo) / 2
    points = None if np.allclose(mid, 0) and np.allclose(half, 1) else Affine(mid.tolist(), half.tolist())
    return Normalization(
        sensors=Affine(float(u.mean()), float(u.std())),
        points=points,
        output=Affine(v.mean(axis=(0, 1)).tolist(), v.std(axis=(0, 1)).tolist()),
    )


def rel_l2(pred, truth, xp=jnp):
    """Per-function relative L2 error over all points and output components: [N]."""
    axes = tuple(range(1, truth.ndim))
    return xp.sqrt(xp.sum((pred - truth) ** 2, axis=axes) / xp.sum(truth**2, axis=axes))


@dataclass
class History:
    lines: list = field(default_factory=list)
    wall_time_s: float = 0.0
    steps: int = 0


def predict(cfg, params, norm, u, y, batch: int = 200):
    """Model outputs in physical units, in blocks of `batch` functions (numpy float32)."""
    fn = jax.jit(lambda p, uu: forward(jnp, cfg, p, norm, uu, jnp.asarray(y)))
    out = [np.asarray(fn(params, jnp.asarray(u[i : i + batch]))) for i in range(0, len(u), batch)]
    return np.concatenate(out)


def errors(cfg, params, norm, ds: Dataset, split: str) -> np.ndarray:
    u, v = (ds.u_train, ds.v_train) if split == "train" else (ds.u_test, ds.v_test)
    pred = predict(cfg, params, norm, u, ds.points)
    return np.asarray(rel_l2(pred.astype(np.float64), v.astype(np.float64), xp=np))


def train(cfg: ModelConfig, ds: Dataset, norm: Normalization, *, steps: int, seed: int = 0,
          lr: float = 1e-3, lr_final: float = 1e-5, batch: int = 100, loss: str = "rel_l2",
          log_every: int = 500, log=print, params: dict | None = None):
    """Train cfg on ds for `steps` Adam steps (learning rate decaying exponentially from lr to
    lr_final). loss: "rel_l2" (mean per-function relative L2) or "mse" (on normalized outputs).
    Returns (params as numpy float32 dict, History)."""
    if steps < 1 or batch < 1 or log_every < 1:
        raise ValueError(f"steps, batch and log_every must be >= 1, got {steps}, {batch}, {log_every}")
    if not (lr > 0 and lr_final > 0):
        raise ValueError(f"lr and lr_final must be > 0, got {lr}, {lr_final}")
    if loss not in ("rel_l2", "mse"):
        raise ValueError(f"loss must be rel_l2 or mse, got {loss!r}")
    params = {k: jnp.asarray(v) for k, v in (params or init_params(cfg, seed)).items()}
    sched = optax.exponential_decay(lr, transition_steps=max(steps, 1),
                                    decay_rate=lr_final / lr)
    opt = optax.adam(sched)
    state = opt.init(params)
    y = jnp.asarray(ds.points)
    out_norm = norm.output

    def loss_fn(p, u, v):
        pred = forward(jnp, cfg, p, norm, u, y)
        if loss == "rel_l2":
            return jnp.mean(rel_l2(pred, v))
        scale = jnp.asarray(out_norm.std) if out_norm else 1.0
        return jnp.mean(((pred - v) / scale) ** 2)

    @jax.jit
    def step(p, s, u, v):
        val, g = jax.value_and_grad(loss_fn)(p, u, v)
        upd, s = opt.update(g, s, p)
        return optax.apply_updates(p, upd), s, val

    n = ds.u_train.shape[0]
    batch = min(batch, n)
    rng = np.random.default_rng([seed, 99])
    u_all, v_all = jnp.asarray(ds.u_train), jnp.asarray(ds.v_train)
    hist = History()
    t0 = time.perf_counter()
    perm, pos, acc, cnt = rng.permutation(n), 0, 0.0, 0
    for it in range(1, steps + 1):
        if pos + batch > n:
            perm, pos = rng.permutation(n), 0
        idx = perm[pos : pos + batch]
        pos += batch
        params, state, val = step(params, state, u_all[idx], v_all[idx])
        acc, cnt = acc + float(val), cnt + 1
        if not np.isfinite(float(val)):
            raise Error(f"training diverged: the loss is {float(val)} at step {it} "
                        f"(learning rate {float(sched(it - 1)):.2e}; try a smaller --lr)")
        if it % log_every == 0 or it == steps:
            test = float(np.mean(errors(cfg, params, norm, ds, "test")))
            line = (f"step {it:6d}/{steps}  loss {acc / cnt:.4e}  test rel-L2 {test:.4e}  "
                    f"lr {float(sched(it)):.2e}  {time.perf_counter() - t0:7.1f}s")
            log(line)
            hist.lines.append(line)
            acc, cnt = 0.0, 0
    hist.wall_time_s = time.perf_counter() - t0
    hist.steps = steps
    return {k: np.asarray(v, np.float32) for k, v in params.items()}, hist
