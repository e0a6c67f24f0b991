"""The paper's data sets, seeded and cached. Every choice is written down in docs/TRAINING.md.

A `Dataset` holds one grid of sensors x_1..x_m and one grid of query points shared by all
functions: u [N, m] (the input function at the sensors) and v [N, P, d_out] (G(u) at the points).

- identity / differentiation: Chebyshev series u = sum_{l<20} c_l T_l(x) on [-1, 1],
  c_l ~ U[-1/4, 1/4]; differentiation: the OUTPUT is drawn from that family and the input is
  its antiderivative with u(-1) = 0.
- advection: w_t + w_x = 0 on the periodic [0, 1), w0 = h * 1{|x - c| < b/2} (periodic
  distance), (c, b, h) ~ U([0.3, 0.7] x [0.3, 0.6] x [1, 2]); G(w0) = w(0.5, .) = w0(. - 0.5),
  exact. m = 40 sensors x_i = i/40, queried at the same 40 points.
- burgers: w_t + (w^2/2)_x = nu w_xx on the periodic [0, 1), nu = 0.1, w0 a Gaussian random
  field N(0, 625 (-Laplacian + 25 I)^-2) without its constant mode, solved to t = 1 with a
  dealiased Fourier pseudo-spectral method and ETDRK4 (Kassam & Trefethen 2005) on 512 points,
  dt = 1/2000; m = 128 sensors x_i = i/128 (every 4th solver point), queried at the same grid.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.polynomial import chebyshev as cheb

from .files import atomic

N_TRAIN = 1000
N_TEST = 200
PROBLEMS = ("identity", "differentiation", "advection", "burgers", "toy2d")


@dataclass
class Dataset:
    name: str
    sensors_x: np.ndarray  # [m] sensor locations (1-D)
    points: np.ndarray  # [P, d_y] query points, shared by all functions
    u_train: np.ndarray  # [N_train, m]
    v_train: np.ndarray  # [N_train, P, d_out]
    u_test: np.ndarray
    v_test: np.ndarray
    lower: list  # query domain, length d_y
    upper: list
    description: str = ""
    info: dict = field(default_factory=dict)

    @property
    def m(self) -> int:
        return self.u_train.shape[1]

    @property
    def d_y(self) -> int:
        return self.points.shape[1]

    @property
    def d_out(self) -> int:
        return self.v_train.shape[2]


# ----------------------------------------------------------------------------------- Chebyshev
N_CHEB = 20  # terms T_0..T_19
CHEB_AMP = 0.25


def chebyshev_coefficients(rng, n: int) -> np.ndarray:
    return rng.uniform(-CHEB_AMP, CHEB_AMP, size=(n, N_CHEB))


def antiderivative_coefficients(c: np.ndarray) -> np.ndarray:
    """Chebyshev coefficients of U with U' = sum c_l T_l and U(-1) = 0 (one row per function)."""
    return cheb.chebint(c, m=1, lbnd=-1.0, axis=1)


def chebyshev_values(c: np.ndarray, x: np.ndarray) -> np.ndarray:
    """c [N, L], x [...] -> [N, ...]."""
    return cheb.chebval(x, c.T) if c.ndim == 2 else cheb.chebval(x, c)


def make_chebyshev(kind: str, seed: int, m: int = 100, n_points: int = 100,
                   n_train: int = N_TRAIN, n_test: int = N_TEST, n_terms: int = N_CHEB) -> Dataset:
    rng = np.random.default_rng([seed, 1 if kind == "identity" else 2])
    x = np.linspace(-1.0, 1.0, m)
    y = np.linspace(-1.0, 1.0, n_points)
    c = chebyshev_coefficients(rng, n_train + n_test)[:, :n_terms]
    if kind == "identity":
        u = chebyshev_values(c, x)
        v = chebyshev_values(c, y)
    elif kind == "differentiation":
        u = chebyshev_values(antiderivative_coefficients(c), x)
        v = chebyshev_values(c, y)
    else:
        raise ValueError(kind)
    v = v[:, :, None]
    desc = (f"{kind}: Chebyshev sum_(l<{n_terms}) c_l T_l, c_l ~ U[-1/4,1/4] on [-1,1], "
            f"m={m}, P={n_points}, {n_train} train / {n_test} test, seed {seed}")
    return _split(kind, x, y[:, None], u, v, n_train, [-1.0], [1.0], desc)


def make_toy2d(seed: int, m: int = 12, n_points: int = 64, n_train: int = 200,
               n_test: int = 50) -> Dataset:
    """A d_y = 2, d_out = 2 operator for fixtures (not from the paper): u a Chebyshev series on
    [-1, 1]; G(u)(y1, y2) = (u(y1) + y2 / 2, u(y2) * y1)."""
    rng = np.random.default_rng([seed, 5])
    x = np.linspace(-1.0, 1.0, m)
    y = rng.uniform(-1.0, 1.0, size=(n_points, 2))
    c = chebyshev_coefficients(rng, n_train + n_test)[:, :6]
    u = chebyshev_values(c, x)
    v1 = chebyshev_values(c, y[:, 0]) + 0.5 * y[None, :, 1]
    v2 = chebyshev_values(c, y[:, 1]) * y[None, :, 0]
    v = np.stack([v1, v2], axis=-1)
    desc = f"toy2d: G(u)(y) = (u(y1) + y2/2, u(y2) y1), u Chebyshev degree 5, m={m}, seed {seed}"
    return _split("toy2d", x, y, u, v, n_train, [-1.0, -1.0], [1.0, 1.0], desc)


# ----------------------------------------------------------------------------------- advection
ADV_T = 0.5
ADV_RANGES = {"c": (0.3, 0.7), "b": (0.3, 0.6), "h": (1.0, 2.0)}


def square_wave(x, c, b, h):
    """h * 1{periodic distance(x, c) < b/2} on [0, 1); c, b, h [N] -> [N, len(x)]."""
    d = np.abs(((x[None, :] - c[:, None]) + 0.5) % 1.0 - 0.5)
    return h[:, None] * (d < b[:, None] / 2)


def advect_exact(x, c, b, h, t):
    """Solution of w_t + w_x = 0 (speed 1, periodic [0,1)) at time t: w0(x - t)."""
    return square_wave(x, (c + t) % 1.0, b, h)


def make_advection(seed: int, m: int = 40, n_train: int = N_TRAIN, n_test: int = N_TEST) -> Dataset:
    rng = np.random.default_rng([seed, 3])
    n = n_train + n_test
    c = rng.uniform(*ADV_RANGES["c"], n)
    b = rng.uniform(*ADV_RANGES["b"], n)
    h = rng.uniform(*ADV_RANGES["h"], n)
    x = np.arange(m) / m
    u = square_wave(x, c, b, h)
    v = advect_exact(x, c, b, h, ADV_T)[:, :, None]
    desc = (f"advection: w_t + w_x = 0 periodic [0,1), w0 = h*1{{|x-c|<b/2}}, c~U[0.3,0.7], "
            f"b~U[0.3,0.6], h~U[1,2], exact w(0.5,x), m={m}, {n_train} train / {n_test} test, seed {seed}")
    return _split("advection", x, x[:, None], u, v, n_train, [0.0], [1.0], desc)


# ------------------------------------------------------------------------------------- Burgers
BURGERS_NU = 0.1
BURGERS_T = 1.0
BURGERS_N = 512  # solver grid
BURGERS_DT = 1.0 / 2000
GRF = {"sigma": 25.0, "tau": 5.0, "gamma": 2.0}  # covariance sigma^2 (-Lap + tau^2 I)^-gamma


def grf_periodic(rng, n: int, n_grid: int, sigma=25.0, tau=5.0, gamma=2.0) -> np.ndarray:
    """Samples of N(0, sigma^2 (-Laplacian + tau^2 I)^-gamma) on the periodic [0, 1), without
    the constant mode, at x_i = i / n_grid. Karhunen-Loeve in the real Fourier basis
    sqrt(2) cos(2 pi k x), sqrt(2) sin(2 pi k x), k = 1 .. n_grid/2 - 1."""
    k = np.arange(1, n_grid // 2)
    sqrt_eig = sigma * ((2 * np.pi * k) ** 2 + tau**2) ** (-gamma / 2)
    a = rng.standard_normal((n, k.size)) * sqrt_eig
    b = rng.standard_normal((n, k.size)) * sqrt_eig
    spec = np.zeros((n, n_grid // 2 + 1), complex)
    # irfft: x_j = (1/N) sum_k X_k e^{2 pi i k j / N}; sqrt(2)(a cos + b sin) = Re((a - i b) sqrt2 e^{..})
    spec[:, 1 : n_grid // 2] = (a - 1j * b) * np.sqrt(2) * n_grid / 2
    return np.fft.irfft(spec, n=n_grid, axis=1)


class BurgersETDRK4:
    """w_t + (w^2/2)_x = nu w_xx on the periodic [0, 1): Fourier pseudo-spectral in space
    (rfft, 2/3-rule dealiasing of the quadratic term), ETDRK4 in time with the phi-functions
    evaluated by contour integrals (Kassam & Trefethen 2005, M = 32 points)."""

    def __init__(self, n: int, nu: float, dt: float):
        self.n, self.nu, self.dt = n, nu, dt
        k = 2 * np.pi * np.arange(n // 2 + 1)
        self.ik = 1j * k
        self.dealias = np.arange(n // 2 + 1) < (n // 3)
        lin = -nu * k**2
        self.E = np.exp(dt * lin)
        self.E2 = np.exp(dt * lin / 2)
        r = np.exp(1j * np.pi * (np.arange(1, 33) - 0.5) / 32)
        lr = dt * lin[:, None] + r[None, :]
        self.Q = dt * np.real(np.mean((np.exp(lr / 2) - 1) / lr, axis=1))
        self.f1 = dt * np.real(np.mean((-4 - lr + np.exp(lr) * (4 - 3 * lr + lr**2)) / lr**3, axis=1))
        self.f2 = dt * np.real(np.mean((2 + lr + np.exp(lr) * (-2 + lr)) / lr**3, axis=1))
        self.f3 = dt * np.real(np.mean((-4 - 3 * lr - lr**2 + np.exp(lr) * (4 - lr)) / lr**3, axis=1))

    def nonlinear(self, wh):
        w = np.fft.irfft(wh * self.dealias, n=self.n, axis=-1)
        return -0.5 * self.ik * np.fft.rfft(w * w, axis=-1)

    def solve(self, w0: np.ndarray, t: float) -> np.ndarray:
        """w0 [..., n] at x_i = i/n -> w(t) [..., n]."""
        steps = int(round(t / self.dt))
        if abs(steps * self.dt - t) > 1e-12:
            raise ValueError(f"t = {t} is not a multiple of dt = {self.dt}")
        v = np.fft.rfft(w0, axis=-1)
        E, E2, Q = self.E, self.E2, self.Q
        for _ in range(steps):
            nv = self.nonlinear(v)
            a = E2 * v + Q * nv
            na = self.nonlinear(a)
            b = E2 * v + Q * na
            nb = self.nonlinear(b)
            c = E2 * a + Q * (2 * nb - nv)
            nc = self.nonlinear(c)
            v = E * v + nv * self.f1 + 2 * (na + nb) * self.f2 + nc * self.f3
        return np.fft.irfft(v, n=self.n, axis=-1)


def make_burgers(seed: int, m: int = 128, n_train: int = N_TRAIN, n_test: int = N_TEST,
                 n_grid: int = BURGERS_N, dt: float = BURGERS_DT, nu: float = BURGERS_NU) -> Dataset:
    if n_grid % m:
        raise ValueError(f"solver grid {n_grid} must be a multiple of m = {m}")
    rng = np.random.default_rng([seed, 4])
    n = n_train + n_test
    w0 = grf_periodic(rng, n, n_grid, **GRF)
    solver = BurgersETDRK4(n_grid, nu, dt)
    w1 = np.concatenate([solver.solve(w0[i : i + 100], BURGERS_T) for i in range(0, n, 100)])
    stride = n_grid // m
    x = np.arange(m) / m
    desc = (f"burgers: nu={nu}, t={BURGERS_T}, w0 ~ GRF N(0, 625(-Lap+25I)^-2) zero-mean, "
            f"ETDRK4 pseudo-spectral N={n_grid} dt={dt}, m={m}, {n_train} train / {n_test} test, seed {seed}")
    return _split("burgers", x, x[:, None], w0[:, ::stride], w1[:, ::stride, None], n_train,
                  [0.0], [1.0], desc)


# --------------------------------------------------------------------------------------- cache
def _split(name, x, y, u, v, n_train, lower, upper, desc) -> Dataset:
    f = np.float32
    return Dataset(name, x.astype(np.float64), y.astype(f), u[:n_train].astype(f),
                   v[:n_train].astype(f), u[n_train:].astype(f), v[n_train:].astype(f),
                   list(lower), list(upper), desc)


def cache_dir() -> Path:
    env = os.environ.get("HDON_TRAIN_CACHE")
    return Path(env) if env else Path(__file__).resolve().parent.parent / ".cache"


GENERATORS = {
    "identity": lambda seed, **kw: make_chebyshev("identity", seed, **kw),
    "differentiation": lambda seed, **kw: make_chebyshev("differentiation", seed, **kw),
    "advection": make_advection,
    "burgers": make_burgers,
    "toy2d": make_toy2d,
}


def load(problem: str, seed: int = 0, cache: bool = True, log=None, **kw) -> Dataset:
    """The data set of `problem` generated with `seed` (from the cache when present). `log`
    (a print-like function) hears when the set is generated: Burgers takes minutes."""
    if problem not in GENERATORS:
        raise ValueError(f"unknown problem {problem!r}; expected one of {PROBLEMS}")
    key = hashlib.sha256(json.dumps([problem, seed, sorted(kw.items())]).encode()).hexdigest()[:12]
    path = cache_dir() / f"{problem}-s{seed}-{key}.npz"
    if cache and path.exists():
        try:
            return _read_cache(problem, path)
        except Exception as e:  # noqa: BLE001 -- any unreadable cache file is regenerated
            print(f"hdon_train: {path}: unusable cached data set ({e}); regenerating it",
                  file=sys.stderr, flush=True)
    if log:
        log(f"generating the {problem} data set (data seed {seed})"
            + (f"; cached in {path}" if cache else ""))
    ds = GENERATORS[problem](seed, **kw)
    check(ds, f"the generated {problem} data set")
    if cache:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with atomic(path) as tmp:  # concurrent runs may write the same file
                np.savez(tmp, sensors_x=ds.sensors_x, points=ds.points, u_train=ds.u_train,
                         v_train=ds.v_train, u_test=ds.u_test, v_test=ds.v_test,
                         lower=np.array(ds.lower), upper=np.array(ds.upper),
                         description=np.array(ds.description))
        except OSError as e:  # the data set is made; not caching it is no reason to lose it
            print(f"hdon_train: cannot cache the data set in {path.parent} ({e.strerror}); "
                  "continuing without the cache (HDON_TRAIN_CACHE sets its folder)",
                  file=sys.stderr, flush=True)
    return ds


CACHE_KEYS = ("sensors_x", "points", "u_train", "v_train", "u_test", "v_test", "lower", "upper",
              "description")


def _read_cache(problem: str, path: Path) -> Dataset:
    with np.load(path, allow_pickle=False) as z:
        missing = [k for k in CACHE_KEYS if k not in z.files]
        if missing:
            raise ValueError(f"missing arrays {', '.join(missing)}")
        ds = Dataset(problem, z["sensors_x"], z["points"], z["u_train"], z["v_train"],
                     z["u_test"], z["v_test"], list(z["lower"]), list(z["upper"]),
                     str(z["description"]))
    check(ds, str(path))
    return ds


def check(ds: Dataset, where: str) -> None:
    """Raises ValueError unless ds's arrays have consistent shapes and finite values."""
    m, p = ds.sensors_x.shape[0], ds.points.shape[0]
    for name in ("u_train", "u_test"):
        a = getattr(ds, name)
        if a.ndim != 2 or a.shape[1] != m:
            raise ValueError(f"{where}: {name} has shape {a.shape}, expected [N, {m}]")
    for name in ("v_train", "v_test"):
        a = getattr(ds, name)
        if a.ndim != 3 or a.shape[1] != p:
            raise ValueError(f"{where}: {name} has shape {a.shape}, expected [N, {p}, d_out]")
    for name in ("sensors_x", "points", "u_train", "v_train", "u_test", "v_test"):
        bad = int(np.size(getattr(ds, name)) - np.isfinite(getattr(ds, name)).sum())
        if bad:
            raise ValueError(f"{where}: {name} has {bad} non-finite values (NaN or inf)")
