"""The committed golden fixtures are self-consistent: spec + checkpoint -> outputs_f64, and the
float32 JAX outputs agree with it to well within the Rust tests' 1e-5 relative tolerance."""

from pathlib import Path

import numpy as np
import pytest

from hdon_train.checkpoint import load_checkpoint, read_spec
from hdon_train.models import forward

ROOT = Path(__file__).resolve().parents[3] / "tests" / "fixtures"
NAMES = sorted(p.name for p in ROOT.iterdir() if (p / "model.toml").exists()) if ROOT.exists() else []


def test_every_family_has_a_fixture():
    fams = set()
    for name in NAMES:
        cfg, *_ = read_spec(ROOT / name / "model.toml")
        fams.add(cfg.family)
    assert fams == {"deeponet", "shift", "flex", "nomad", "hyper", "chunked_hyper"}


@pytest.mark.parametrize("name", NAMES)
def test_fixture(name):
    d = ROOT / name
    cfg, norm, x, layout = read_spec(d / "model.toml")
    ckpt = d / ("checkpoint.npz" if layout == "in_out" else "checkpoint.safetensors")
    params = load_checkpoint(ckpt, layout=layout)
    assert sum(v.size for v in params.values()) == cfg.param_count()
    g = np.load(d / "golden.npz")
    sensors, points = g["sensors"], g["points"]
    assert sensors.dtype == np.float32 and sensors.shape[1] == cfg.m
    assert points.shape[1] == cfg.d_y and g["outputs"].shape == (len(sensors), len(points), cfg.d_out)
    p64 = {k: v.astype(np.float64) for k, v in params.items()}
    out = forward(np, cfg, p64, norm, sensors.astype(np.float64), points.astype(np.float64))
    np.testing.assert_allclose(out, g["outputs_f64"], rtol=1e-12, atol=1e-12)
    scale = np.abs(out).max()
    assert np.abs(g["outputs"] - out).max() <= 1e-5 * scale
