"""The six families' forward passes, written once for any array module `xp`.

`xp` is `jax.numpy` for training and for the float32 golden outputs, and `numpy` for the float64
reference (`outputs_f64` in the golden fixtures): the same math, an independent evaluation.

Shapes: sensors u [N, m], points y [P, d_y] (one grid shared by all N functions),
outputs [N, P, d_out]. Parameters: dict slot name -> array, weights [out, in] row-major.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .arch import ModelConfig, Net


# ------------------------------------------------------------------------------ normalization
@dataclass
class Affine:
    """x_n = (x - mean) / std. mean/std: float scalars or 1-D lists (per sensor / coordinate)."""

    mean: object
    std: object

    def apply(self, xp, x):
        return (x - xp.asarray(self.mean, dtype=x.dtype)) / xp.asarray(self.std, dtype=x.dtype)

    def invert(self, xp, x):
        return x * xp.asarray(self.std, dtype=x.dtype) + xp.asarray(self.mean, dtype=x.dtype)


@dataclass
class Normalization:
    sensors: Affine | None = None  # scalar or length m
    points: Affine | None = None  # length d_y
    output: Affine | None = None  # length d_out


# -------------------------------------------------------------------------------- activations
def activation(xp, name: str, x, prelu_slope: float = 0.25):
    if name == "identity":
        return x
    if name == "tanh":
        return xp.tanh(x)
    if name == "relu":
        return xp.maximum(x, 0)
    if name == "prelu":
        return xp.where(x >= 0, x, prelu_slope * x)
    if name == "sigmoid":
        return 1 / (1 + xp.exp(-x))
    if name == "sin":
        return xp.sin(x)
    if name == "gelu":  # tanh form
        return 0.5 * x * (1 + xp.tanh(0.7978845608028654 * (x + 0.044715 * x**3)))
    if name == "silu":
        return x / (1 + xp.exp(-x))
    if name == "softplus":
        return xp.logaddexp(x, 0)
    raise ValueError(f"unknown activation {name!r}")


def _act(xp, net: Net, x, last: bool):
    name = net.output_activation if last else net.activation
    return activation(xp, name, x, net.prelu_slope)


def dense_net(xp, params, role: str, net: Net, x, first_bias_extra=None):
    """Apply network `role` to x [..., n_in]: x W^T + b per layer.

    first_bias_extra [..., n_1] (broadcast against the first layer's output) is added to the
    first layer's bias: Flex-DeepONet's pre-net does this.
    """
    for i in range(net.n_layers):
        w = params[f"{role}.{i}.weight"]
        b = params[f"{role}.{i}.bias"]
        x = x @ w.T + b
        if i == 0 and first_bias_extra is not None:
            x = x + first_bias_extra
        x = _act(xp, net, x, i == net.n_layers - 1)
    return x


# ------------------------------------------------------------------------------ theta slicing
def theta_layers(theta, sizes):
    """Slice theta [..., N_theta] (paper layout: per layer weight [out, in] row-major, then bias
    [out]) into [(W [..., out, in], b [..., out]), ...]."""
    out, off = [], 0
    lead = theta.shape[:-1]
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        w = theta[..., off : off + n_out * n_in].reshape(*lead, n_out, n_in)
        off += n_out * n_in
        b = theta[..., off : off + n_out]
        off += n_out
        out.append((w, b))
    if off != theta.shape[-1]:
        raise ValueError(f"theta has {theta.shape[-1]} values, target sizes {list(sizes)} need {off}")
    return out


def theta_from_layers(layers, xp=np):
    """Inverse of theta_layers for a single net: [(W [out,in], b [out])] -> theta (paper)."""
    return xp.concatenate([xp.concatenate([w.reshape(-1), b]) for w, b in layers])


def target_eval(xp, theta, y, target: Net):
    """f(y; theta) for theta [N, N_theta] and y [P, d_y] or [N, P, d_y] -> [N, P, d_out]."""
    layers = theta_layers(theta, target.sizes)
    h = y
    for i, (w, b) in enumerate(layers):
        if h.ndim == 2:  # shared points [P, d_y]
            h = xp.einsum("pi,noi->npo", h, w) + b[:, None, :]
        else:
            h = xp.einsum("npi,noi->npo", h, w) + b[:, None, :]
        h = _act(xp, target, h, i == len(layers) - 1)
    return h


# ------------------------------------------------------------------------------------ forward
def generate_theta(xp, cfg: ModelConfig, params, u_n):
    """hyper / chunked_hyper: theta in paper layout, [N, N_theta]."""
    net = cfg.networks["hyper"]
    if cfg.family == "hyper":
        return dense_net(xp, params, "hyper", net, u_n)
    z = params["chunk_embeddings"]  # [n_chunks, d_z]
    n = u_n.shape[0]
    uu = xp.broadcast_to(u_n[:, None, :], (n, cfg.n_chunks, cfg.m))
    zz = xp.broadcast_to(z[None, :, :], (n, cfg.n_chunks, cfg.d_z))
    chunks = dense_net(xp, params, "hyper", net, xp.concatenate([uu, zz], axis=-1))
    return chunks.reshape(n, cfg.n_chunks * cfg.chunk_size)[:, : cfg.n_theta]


def forward_normalized(xp, cfg: ModelConfig, params, u_n, y_n):
    """Raw model output (before output de-normalization): u_n [N, m], y_n [P, d_y] ->
    [N, P, d_out]."""
    f, nets = cfg.family, cfg.networks
    n = u_n.shape[0]
    if f in ("hyper", "chunked_hyper"):
        return target_eval(xp, generate_theta(xp, cfg, params, u_n), y_n, cfg.target)
    if f == "nomad":
        beta = dense_net(xp, params, "branch", nets["branch"], u_n)  # [N, p]
        dec = nets["decoder"]
        w0 = params["decoder.0.weight"]  # [n_1, p + d_y]: columns [beta part | y part]
        b0 = params["decoder.0.bias"]
        h = (beta @ w0[:, : cfg.p].T + b0)[:, None, :] + (y_n @ w0[:, cfg.p :].T)[None, :, :]
        h = _act(xp, dec, h, dec.n_layers == 1)
        for i in range(1, dec.n_layers):
            h = h @ params[f"decoder.{i}.weight"].T + params[f"decoder.{i}.bias"]
            h = _act(xp, dec, h, i == dec.n_layers - 1)
        return h
    # deeponet, shift, flex: out_j = sum_k c_{j,k} t_k(y) + b0_j
    br = dense_net(xp, params, "branch", nets["branch"], u_n)
    trunk = nets["trunk"]
    if f == "flex":
        blocks = br.reshape(n, cfg.d_out, cfg.p + 1)
        bias, coef = blocks[:, :, 0], blocks[:, :, 1:]
        pre = dense_net(xp, params, "pre", nets["pre"], u_n)  # [N, n_1]
        t = dense_net(xp, params, "trunk", trunk, xp.broadcast_to(y_n, (n, *y_n.shape)),
                      first_bias_extra=pre[:, None, :])  # [N, P, p]
        return xp.einsum("njk,npk->npj", coef, t) + bias[:, None, :]
    coef = br.reshape(n, cfg.d_out, cfg.p)  # c_{j,k} at branch output j*p + k
    if f == "shift":
        s = dense_net(xp, params, "scale", nets["scale"], u_n)  # [N, d_y]
        c = dense_net(xp, params, "shift", nets["shift"], u_n)
        t = dense_net(xp, params, "trunk", trunk, y_n[None, :, :] * s[:, None, :] + c[:, None, :])
        out = xp.einsum("njk,npk->npj", coef, t)
    else:
        t = dense_net(xp, params, "trunk", trunk, y_n)  # [P, p]
        out = xp.einsum("njk,pk->npj", coef, t)
    if cfg.b0:
        out = out + params["b0"]
    return out


def forward(xp, cfg: ModelConfig, params, norm: Normalization, u, y):
    """G(u)(y) in physical units: u [N, m], y [P, d_y] -> [N, P, d_out]."""
    u_n = norm.sensors.apply(xp, u) if norm.sensors else u
    y_n = norm.points.apply(xp, y) if norm.points else y
    raw = forward_normalized(xp, cfg, params, u_n, y_n)
    return norm.output.invert(xp, raw) if norm.output else raw


# ------------------------------------------------------------------------------------- init
def init_params(cfg: ModelConfig, seed: int) -> dict:
    """Glorot-normal weights [out, in], zero biases (numpy float32).

    Two family-specific choices that only change the starting point: Shift-DeepONet's scale net
    starts at s(u) ~ 1 (output bias 1), and the hypernetwork's last layer is scaled so the
    generated target net starts with a Glorot-like magnitude.
    """
    rng = np.random.default_rng(seed)
    params = {}
    for role, net in cfg.networks.items():
        for i, (n_in, n_out) in enumerate(zip(net.sizes[:-1], net.sizes[1:])):
            std = np.sqrt(2.0 / (n_in + n_out))
            w = rng.normal(0.0, std, size=(n_out, n_in))
            b = np.zeros(n_out)
            last = i == net.n_layers - 1
            if role == "hyper" and last:
                w *= np.sqrt(n_out / n_in) * 0.3 / np.sqrt(max(cfg.target.sizes[1:-1]))
                b = _target_bias_init(cfg, rng)
            if role == "scale" and last:
                b[:] = 1.0
            params[f"{role}.{i}.weight"] = w.astype(np.float32)
            params[f"{role}.{i}.bias"] = b.astype(np.float32)
    if cfg.b0 and cfg.family in ("deeponet", "shift"):
        params["b0"] = np.zeros(cfg.d_out, np.float32)
    if cfg.family == "chunked_hyper":
        params["chunk_embeddings"] = rng.normal(0.0, 1.0, (cfg.n_chunks, cfg.d_z)).astype(np.float32)
    return params


def _target_bias_init(cfg: ModelConfig, rng):
    """Hypernetwork output bias = a Glorot-initialized target net in paper layout (so theta
    starts near a sensible target net), repeated per chunk for chunked_hyper."""
    sizes = cfg.target.sizes
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        layers.append((rng.normal(0.0, np.sqrt(2.0 / (n_in + n_out)), (n_out, n_in)), np.zeros(n_out)))
    theta = theta_from_layers(layers)
    if cfg.family == "hyper":
        return theta
    pad = np.zeros(cfg.n_chunks * cfg.chunk_size)
    pad[: theta.size] = theta
    # one net serves all chunks: its bias can only hold the average chunk
    return pad.reshape(cfg.n_chunks, cfg.chunk_size).mean(axis=0)


def param_count(params: dict) -> int:
    return int(sum(np.asarray(v).size for v in params.values()))
