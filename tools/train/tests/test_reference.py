"""`python -m hdon_train reference`: the float64 evaluation of a trained run agrees with the
run's own float32 JAX outputs to float32 rounding, and follows the checkpoint (not test.npz)."""

import numpy as np
from safetensors.numpy import load_file, save_file

from hdon_train.__main__ import main
from hdon_train.reference import FILE, reference_outputs
from hdon_train.run import run


def test_reference_matches_jax_and_reads_the_checkpoint(tmp_path, monkeypatch):
    monkeypatch.setenv("HDON_TRAIN_CACHE", str(tmp_path / "cache"))
    d = tmp_path / "run"
    run("identity", "hyper", 0, d, steps=30, size="tiny", log_every=30, log=lambda s: None)
    assert main(["reference", str(d)]) == 0
    t, r = np.load(d / "test.npz"), np.load(d / FILE)
    np.testing.assert_array_equal(r["sensors"], t["sensors"])
    np.testing.assert_array_equal(r["points"], t["points"])
    assert r["outputs"].dtype == np.float64 and r["outputs"].shape == t["outputs"].shape
    scale = np.abs(r["outputs"]).max()
    assert scale > 0
    # JAX float32 vs float64: rounding only (the Rust tests hold hdon to 1e-5 of this).
    assert np.abs(t["outputs"] - r["outputs"]).max() <= 1e-5 * scale

    # The reference is computed from the checkpoint: a changed weight changes it.
    ck = d / "checkpoint.safetensors"
    params = load_file(str(ck))
    name = sorted(params)[-1]
    params[name] = params[name] + np.float32(0.5)
    save_file(params, str(ck))
    moved = reference_outputs(d, t["sensors"], t["points"])
    assert np.abs(moved - r["outputs"]).max() > 1e-3 * scale
