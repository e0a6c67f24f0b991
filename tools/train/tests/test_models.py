"""Model layouts and semantics: each family against a plain re-statement of CONTRACTS.md."""

import tomllib

import jax.numpy as jnp
import numpy as np
import pytest

from hdon_train import arch
from hdon_train.arch import FAMILIES
from hdon_train.checkpoint import load_checkpoint, model_spec, save_checkpoint
from hdon_train.models import (Affine, Normalization, dense_net, forward, init_params,
                               target_eval, theta_from_layers, theta_layers)

RNG = np.random.default_rng(0)


def perturbed(cfg, seed=1):
    """init_params with non-zero biases everywhere (so no term can hide)."""
    p = init_params(cfg, seed)
    r = np.random.default_rng(seed)
    return {k: v + r.normal(0, 0.3, v.shape) for k, v in p.items()}


def mlp_np(layers, x, act=np.tanh):
    for i, (w, b) in enumerate(layers):
        x = x @ w.T + b
        if i < len(layers) - 1:
            x = act(x)
    return x


def net_layers(params, role, n):
    return [(params[f"{role}.{i}.weight"], params[f"{role}.{i}.bias"]) for i in range(n)]


def test_theta_slicing_round_trip():
    sizes = (2, 5, 3, 4)
    theta = np.arange(arch.theta_len(sizes), dtype=np.float64)
    layers = theta_layers(theta, sizes)
    assert [w.shape for w, _ in layers] == [(5, 2), (3, 5), (4, 3)]
    # paper layout: W[o, i] of layer 1 sits at offset(layer 1) + o * n_in + i, bias after W
    off1 = 5 * 2 + 5
    assert layers[1][0][2, 4] == off1 + 2 * 5 + 4
    assert layers[1][1][0] == off1 + 15
    np.testing.assert_array_equal(theta_from_layers(layers), theta)
    with pytest.raises(ValueError):
        theta_layers(theta[:-1], sizes)


@pytest.mark.parametrize("family", FAMILIES)
def test_param_count_and_f32_matches_f64(family):
    cfg = arch.tiny(family, m=7, d_y=2, d_out=2)
    params = perturbed(cfg)
    assert sum(v.size for v in params.values()) == cfg.param_count()
    norm = Normalization(Affine(0.1, 0.9), Affine([0.2, -0.1], [1.5, 0.5]), Affine([1.0, -2.0], [3.0, 0.5]))
    u = RNG.normal(size=(3, 7))
    y = RNG.uniform(-1, 1, size=(5, 2))
    out64 = forward(np, cfg, params, norm, u, y)
    assert out64.shape == (3, 5, 2)
    p32 = {k: jnp.asarray(v, jnp.float32) for k, v in params.items()}
    out32 = np.asarray(forward(jnp, cfg, p32, norm, jnp.asarray(u, jnp.float32), jnp.asarray(y, jnp.float32)))
    np.testing.assert_allclose(out32, out64, rtol=1e-4, atol=1e-4 * np.abs(out64).max())


def test_deeponet_semantics():
    cfg = arch.tiny("deeponet", m=6, d_y=1, d_out=2)
    p = perturbed(cfg)
    u, y = RNG.normal(size=(2, 6)), RNG.uniform(-1, 1, (4, 1))
    out = forward(np, cfg, p, Normalization(), u, y)
    br = mlp_np(net_layers(p, "branch", cfg.networks["branch"].n_layers), u)
    t = np.tanh(mlp_np(net_layers(p, "trunk", cfg.networks["trunk"].n_layers), y))  # last activated
    for n in range(2):
        for j in range(2):
            ref = sum(br[n, j * cfg.p + k] * t[:, k] for k in range(cfg.p)) + p["b0"][j]
            np.testing.assert_allclose(out[n, :, j], ref, rtol=1e-12)


def test_shift_semantics():
    cfg = arch.tiny("shift", m=6, d_y=2, d_out=1)
    p = perturbed(cfg)
    u, y = RNG.normal(size=(2, 6)), RNG.uniform(-1, 1, (4, 2))
    out = forward(np, cfg, p, Normalization(), u, y)
    s = mlp_np(net_layers(p, "scale", 2), u)
    c = mlp_np(net_layers(p, "shift", 2), u)
    br = mlp_np(net_layers(p, "branch", 3), u)
    for n in range(2):
        t = np.tanh(mlp_np(net_layers(p, "trunk", 2), y * s[n] + c[n]))
        np.testing.assert_allclose(out[n, :, 0], t @ br[n] + p["b0"][0], rtol=1e-12)


def test_flex_semantics():
    cfg = arch.tiny("flex", m=6, d_y=1, d_out=2)
    p = perturbed(cfg)
    u, y = RNG.normal(size=(2, 6)), RNG.uniform(-1, 1, (4, 1))
    out = forward(np, cfg, p, Normalization(), u, y)
    br = mlp_np(net_layers(p, "branch", 3), u)
    pre = mlp_np(net_layers(p, "pre", 2), u)
    for n in range(2):
        trunk = net_layers(p, "trunk", 2)
        trunk[0] = (trunk[0][0], trunk[0][1] + pre[n])  # pre-net output added to the first bias
        t = np.tanh(mlp_np(trunk, y))
        for j in range(2):
            blk = br[n, j * (cfg.p + 1) : (j + 1) * (cfg.p + 1)]  # [b0_j, c_j0, ..., c_j,p-1]
            np.testing.assert_allclose(out[n, :, j], t @ blk[1:] + blk[0], rtol=1e-12)


def test_nomad_semantics():
    cfg = arch.tiny("nomad", m=6, d_y=2, d_out=2)
    p = perturbed(cfg)
    u, y = RNG.normal(size=(2, 6)), RNG.uniform(-1, 1, (4, 2))
    out = forward(np, cfg, p, Normalization(), u, y)
    beta = mlp_np(net_layers(p, "branch", 3), u)
    for n in range(2):
        x = np.concatenate([np.repeat(beta[n][None], 4, 0), y], axis=1)  # concat(beta, y)
        np.testing.assert_allclose(out[n], mlp_np(net_layers(p, "decoder", 3), x), rtol=1e-12)


def test_hyper_and_chunked_semantics():
    for family in ("hyper", "chunked_hyper"):
        cfg = arch.tiny(family, m=6, d_y=1, d_out=1)
        p = perturbed(cfg)
        u, y = RNG.normal(size=(2, 6)), RNG.uniform(-1, 1, (4, 1))
        out = forward(np, cfg, p, Normalization(), u, y)
        for n in range(2):
            if family == "hyper":
                theta = mlp_np(net_layers(p, "hyper", 3), u[n])
            else:
                z = p["chunk_embeddings"]
                chunks = [mlp_np(net_layers(p, "hyper", 3), np.concatenate([u[n], z[j]]))
                          for j in range(cfg.n_chunks)]
                theta = np.concatenate(chunks)[: cfg.n_theta]
            assert theta.size == cfg.n_theta
            np.testing.assert_allclose(out[n], mlp_np(theta_layers(theta, cfg.target.sizes), y),
                                       rtol=1e-12)


def test_target_eval_per_function_points():
    sizes = (1, 4, 1)
    theta = RNG.normal(size=(2, arch.theta_len(sizes)))
    tgt = arch.Net(sizes)
    y = RNG.uniform(size=(3, 1))
    shared = target_eval(np, theta, y, tgt)
    per = target_eval(np, theta, np.broadcast_to(y, (2, 3, 1)), tgt)
    np.testing.assert_allclose(shared, per)


@pytest.mark.parametrize("layout,suffix", [("out_in", ".safetensors"), ("in_out", ".npz")])
def test_checkpoint_round_trip(tmp_path, layout, suffix):
    cfg = arch.tiny("nomad", m=5, d_y=2, d_out=1)
    p = {k: v.astype(np.float32) for k, v in perturbed(cfg).items()}
    path = tmp_path / f"ckpt{suffix}"
    save_checkpoint(p, path, layout=layout)
    raw = load_checkpoint(path)  # as stored
    w = raw["decoder.0.weight"]
    assert w.shape == ((cfg.p + 2, 12)[::-1] if layout == "out_in" else (cfg.p + 2, 12))
    back = load_checkpoint(path, layout=layout)
    assert back.keys() == p.keys()
    for k in p:
        np.testing.assert_array_equal(back[k], p[k])


def test_spec_is_the_contract_toml():
    cfg = arch.tiny("chunked_hyper", m=5)
    norm = Normalization(Affine(0.5, 2.0), Affine([0.5], [0.5]), Affine([0.1], [3.0]))
    text = model_spec(cfg, norm, np.linspace(0, 1, 5), [0.0], [1.0], name="x",
                      framework="jax", dataset="d", test_rel_l2=0.01, extra={"seed": 3})
    t = tomllib.loads(text)
    assert t["model"] == {"name": "x", "family": "chunked_hyper", "d_y": 1, "d_out": 1,
                          "layout": "out_in", "preset": "hdon"}
    assert t["sensors"]["linspace"] == {"start": 0.0, "stop": 1.0, "num": 5}
    assert t["normalization"]["sensors"] == {"mean": 0.5, "std": 2.0}
    assert t["normalization"]["points"] == {"mean": [0.5], "std": [0.5]}
    assert t["networks"]["hyper"]["sizes"] == [5 + cfg.d_z, 16, 16, cfg.chunk_size]
    assert t["target"]["sizes"] == [1, 12, 8, 1]
    assert t["chunks"] == {"n_chunks": cfg.n_chunks, "chunk_size": cfg.chunk_size, "d_z": cfg.d_z}
    assert cfg.n_chunks * cfg.chunk_size >= cfg.n_theta
    assert t["provenance"]["test_rel_l2"] == 0.01 and t["extra"]["seed"] == "3"
    # irregular sensors are written explicitly
    t2 = tomllib.loads(model_spec(cfg, Normalization(), np.array([0.0, 0.1, 0.5, 0.7, 1.0]),
                                  [0.0], [1.0], name="y"))
    assert t2["sensors"]["x"] == [0.0, 0.1, 0.5, 0.7, 1.0] and "normalization" not in t2


def test_paper_parameter_counts():
    for (problem, family), ref in arch.PAPER_PARAMS.items():
        m = {"burgers": 128, "advection": 40}[problem]
        n = arch.paper(problem, family, m).param_count()
        assert abs(n - ref) / ref < 0.01, (problem, family, n, ref)
    for problem, m in (("burgers", 128), ("advection", 40)):
        n = arch.paper(problem, "chunked_hyper", m).param_count()
        assert abs(n - arch.PAPER_PARAMS[(problem, "hyper")]) / n < 0.02


def test_config_rejects_mismatched_sizes():
    with pytest.raises(ValueError):
        arch.ModelConfig("hyper", 8, 1, 1, {"hyper": arch.mlp((8, 4, 10))}, target=arch.mlp((1, 4, 1)))
    with pytest.raises(ValueError):
        arch.ModelConfig("deeponet", 8, 1, 1, {"branch": arch.mlp((8, 5))}, p=5)
