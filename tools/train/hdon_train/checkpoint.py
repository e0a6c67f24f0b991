"""Writing what `hdon export` reads: the checkpoint (safetensors, slot names of preset "hdon"),
the model spec TOML (CONTRACTS.md "Model spec TOML"), test.npz and metrics.json."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file

from .arch import ModelConfig, Net
from .files import write_text
from .models import Affine, Normalization


def is_weight(name: str) -> bool:
    return name.endswith(".weight")


def save_checkpoint(params: dict, path, layout: str = "out_in") -> None:
    """Write params to `path` (.safetensors, or .npz). layout "out_in" keeps weights [out, in];
    "in_out" stores them transposed ([in, out], the Flax Dense kernel layout)."""
    if layout not in ("out_in", "in_out"):
        raise ValueError(f"layout must be out_in or in_out, got {layout!r}")
    out = {}
    for k, v in params.items():
        a = np.asarray(v, np.float32)
        if layout == "in_out" and is_weight(k):
            a = a.T
        out[k] = np.ascontiguousarray(a)
    path = Path(path)
    if path.suffix == ".npz":
        np.savez(path, **out)
    else:
        save_file(out, str(path))


def load_checkpoint(path, layout: str = "out_in") -> dict:
    path = Path(path)
    if path.suffix == ".npz":
        z = np.load(path)
        params = {k: z[k] for k in z.files}
    else:
        params = load_file(str(path))
    if layout == "in_out":
        params = {k: (v.T.copy() if is_weight(k) else v) for k, v in params.items()}
    return params


# ------------------------------------------------------------------------------------- TOML
def _f(x: float) -> str:
    """A float as TOML (shortest round-trip repr, always with a '.' or exponent)."""
    r = repr(float(x))
    if r in ("nan", "inf", "-inf"):
        raise ValueError(f"non-finite value {r} cannot be written to the spec")
    return r if any(c in r for c in ".e") else r + ".0"


def _flist(xs) -> str:
    return "[" + ", ".join(_f(x) for x in np.ravel(xs)) + "]"


def _str(s: str) -> str:
    return json.dumps(s)  # a JSON string is a valid TOML basic string


def _affine(a: Affine, scalar_ok: bool) -> str:
    def one(x):
        if np.ndim(x) == 0 and scalar_ok:
            return _f(x)
        return _flist(np.atleast_1d(x))

    return f"{{ mean = {one(a.mean)}, std = {one(a.std)} }}"


def _net(lines: list, header: str, net: Net) -> None:
    lines.append(f"[{header}]")
    lines.append("sizes = [" + ", ".join(str(s) for s in net.sizes) + "]")
    lines.append(f"activation = {_str(net.activation)}")
    lines.append(f"output_activation = {_str(net.output_activation)}")
    if "prelu" in (net.activation, net.output_activation):
        lines.append(f"prelu_slope = {_f(net.prelu_slope)}")
    lines.append("")


def model_spec(cfg: ModelConfig, norm: Normalization, sensors_x, lower, upper, *,
               name: str, layout: str = "out_in", framework: str = "", dataset: str = "",
               test_rel_l2: float | None = None, extra: dict | None = None) -> str:
    """The model spec TOML text for cfg (CONTRACTS.md format, preset "hdon")."""
    L = ["[model]", f"name = {_str(name)}", f"family = {_str(cfg.family)}",
         f"d_y = {cfg.d_y}", f"d_out = {cfg.d_out}", f"layout = {_str(layout)}",
         'preset = "hdon"']
    if cfg.family in ("deeponet", "shift", "flex", "nomad"):
        L.append(f"p = {cfg.p}")
    if cfg.family in ("deeponet", "shift"):
        L.append(f"b0 = {'true' if cfg.b0 else 'false'}")
    L.append("")

    L.append("[sensors]")
    x = np.asarray(sensors_x, np.float64)
    m = x.shape[0]
    lin = np.linspace(x[0], x[-1], m) if x.ndim == 1 else None
    if x.ndim == 1 and m > 1 and np.array_equal(np.float32(lin), np.float32(x)):
        L.append(f"linspace = {{ start = {_f(x[0])}, stop = {_f(x[-1])}, num = {m} }}")
    elif x.ndim == 1:
        L.append(f"x = {_flist(x)}")
    else:
        L.append("x = [" + ", ".join(_flist(r) for r in x) + "]")
    L.append("")

    L += ["[domain]", f"lower = {_flist(lower)}", f"upper = {_flist(upper)}", ""]

    if norm.sensors or norm.points or norm.output:
        L.append("[normalization]")
        if norm.sensors:
            L.append(f"sensors = {_affine(norm.sensors, scalar_ok=True)}")
        if norm.points:
            L.append(f"points  = {_affine(norm.points, scalar_ok=False)}")
        if norm.output:
            L.append(f"output  = {_affine(norm.output, scalar_ok=False)}")
        L.append("")

    for role in ("branch", "trunk", "hyper", "scale", "shift", "pre", "decoder"):
        if role in cfg.networks:
            _net(L, f"networks.{role}", cfg.networks[role])
    if cfg.target is not None:
        _net(L, "target", cfg.target)
    if cfg.family == "chunked_hyper":
        L += ["[chunks]", f"n_chunks = {cfg.n_chunks}", f"chunk_size = {cfg.chunk_size}",
              f"d_z = {cfg.d_z}", ""]

    L += ["[provenance]", f"framework = {_str(framework)}", f"dataset = {_str(dataset)}"]
    if test_rel_l2 is not None:
        L.append(f"test_rel_l2 = {_f(test_rel_l2)}")
    L.append("")
    if extra:
        L.append("[extra]")
        L += [f"{_str(k)} = {_str(str(v))}" for k, v in extra.items()]
        L.append("")
    return "\n".join(L)


def framework_string() -> str:
    import jax

    from . import __version__

    return f"jax {jax.__version__} / hdon_train {__version__}"


def write_json(path, obj) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


# -------------------------------------------------------------------------------- reading back
def _net_from_toml(t: dict) -> Net:
    return Net(tuple(t["sizes"]), t.get("activation", "tanh"),
               t.get("output_activation", "identity"), t.get("prelu_slope", 0.25))


def read_spec(path):
    """Parse a model spec TOML written by model_spec (preset "hdon") back into
    (ModelConfig, Normalization, sensors_x, layout). Used by the tests and the CI smoke test to
    prove the spec alone (plus the checkpoint) determines the model."""
    import tomllib

    t = tomllib.loads(Path(path).read_text())
    mdl = t["model"]
    if mdl.get("preset", "hdon") != "hdon":
        raise ValueError(f"{path}: only preset 'hdon' is supported here, found {mdl['preset']!r}")
    nets = {role: _net_from_toml(v) for role, v in t.get("networks", {}).items()}
    s = t["sensors"]
    if "linspace" in s:
        ls = s["linspace"]
        x = np.linspace(ls["start"], ls["stop"], ls["num"])
    else:
        x = np.asarray(s["x"], np.float64)
    ch = t.get("chunks", {})
    target = _net_from_toml(t["target"]) if "target" in t else None
    first = next(iter(nets.values()))
    m = first.sizes[0] - ch.get("d_z", 0) if mdl["family"] in ("hyper", "chunked_hyper") else nets["branch"].sizes[0]
    cfg = ModelConfig(mdl["family"], m, mdl["d_y"], mdl["d_out"], nets, p=mdl.get("p", 0),
                      b0=mdl.get("b0", False), target=target, n_chunks=ch.get("n_chunks", 0),
                      chunk_size=ch.get("chunk_size", 0), d_z=ch.get("d_z", 0), name=mdl["name"])
    if x.shape[0] != cfg.m:
        raise ValueError(f"{path}: {x.shape[0]} sensor locations, networks expect m = {cfg.m}")
    nt = t.get("normalization", {})

    def aff(key):
        return Affine(nt[key]["mean"], nt[key]["std"]) if key in nt else None

    return cfg, Normalization(aff("sensors"), aff("points"), aff("output")), x, mdl["layout"]
