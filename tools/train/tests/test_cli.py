"""The command line as a user meets it: bad options and bad files give one line naming the
option or file (exit 2 from argparse for malformed values, 1 otherwise), never a traceback, and
leave nothing half-written."""

import json

import numpy as np
import pytest

from hdon_train import data
from hdon_train.__main__ import main
from hdon_train.files import atomic
from hdon_train.reference import FILE
from hdon_train.run import OUTPUTS, run

TINY = ["train", "--problem", "identity", "--model", "hyper", "--size", "tiny"]


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HDON_TRAIN_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One tiny finished run (its own cache), copied by the tests that spoil it."""
    root = tmp_path_factory.mktemp("run")
    mp = pytest.MonkeyPatch()
    mp.setenv("HDON_TRAIN_CACHE", str(root / "cache"))
    run("identity", "hyper", 0, root / "run", steps=5, size="tiny", log_every=5, log=lambda s: None)
    mp.undo()
    return root / "run"


def copy_run(src, dst):
    dst.mkdir()
    for f in OUTPUTS:
        (dst / f).write_bytes((src / f).read_bytes())
    return dst


def one_line_error(capsys, *words):
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err, err
    last = err.splitlines()[-1]
    for w in words:
        assert w in last, (w, err)
    return last


@pytest.mark.parametrize("opt,value", [("--steps", "0"), ("--steps", "-5"), ("--batch", "0"),
                                       ("--log-every", "0"), ("--lr", "0"), ("--lr", "nan"),
                                       ("--lr-final", "-1e-5"), ("--seed", "-1"),
                                       ("--data-seed", "-3"), ("--steps", "many")])
def test_train_rejects_nonsense_numbers(tmp_path, cache, capsys, opt, value):
    with pytest.raises(SystemExit) as e:
        main(TINY + ["--out", str(tmp_path / "o"), f"{opt}={value}"])
    assert e.value.code == 2
    one_line_error(capsys, opt, value)
    assert not (tmp_path / "o").exists()


def test_train_out_is_a_file(tmp_path, cache, capsys):
    f = tmp_path / "afile"
    f.write_text("x")
    assert main(TINY + ["--steps", "2", "--out", str(f)]) == 1
    one_line_error(capsys, "--out", str(f), "is a file")
    assert not cache.exists()  # refused before generating data or training


def test_train_refuses_to_overwrite_a_run(tmp_path, cache, trained, capsys):
    d = copy_run(trained, tmp_path / "d")
    before = (d / "checkpoint.safetensors").read_bytes()
    assert main(TINY + ["--steps", "2", "--seed", "3", "--out", str(d)]) == 1
    one_line_error(capsys, "--out", "already holds a run", "--overwrite")
    assert (d / "checkpoint.safetensors").read_bytes() == before
    assert main(TINY + ["--steps", "2", "--seed", "3", "--log-every", "2", "--out", str(d),
                        "--overwrite"]) == 0
    assert (d / "checkpoint.safetensors").read_bytes() != before
    assert json.loads((d / "metrics.json").read_text())["seed"] == 3


def test_toy2d_has_no_paper_size(tmp_path, cache, capsys):
    assert main(["train", "--problem", "toy2d", "--model", "hyper", "--out", str(tmp_path / "o")]) == 1
    one_line_error(capsys, "toy2d", "--size tiny")
    assert not (tmp_path / "o").exists() and not cache.exists()


def test_diverged_training_writes_nothing(tmp_path, cache, capsys):
    out = tmp_path / "o"
    assert main(TINY + ["--steps", "30", "--lr", "1e30", "--log-every", "30", "--out", str(out)]) == 1
    one_line_error(capsys, "diverged", "--lr")
    assert not any((out / f).exists() for f in OUTPUTS)
    assert not list(out.glob(".*tmp*"))


def test_atomic_leaves_nothing_on_failure(tmp_path):
    p = tmp_path / "x.npz"
    with pytest.raises(RuntimeError):
        with atomic(p) as tmp:
            np.savez(tmp, a=np.zeros(3))
            raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []
    with atomic(p) as tmp:
        np.savez(tmp, a=np.zeros(3))
    assert [f.name for f in tmp_path.iterdir()] == ["x.npz"]


@pytest.mark.parametrize("spoil,words", [
    ("nodir", ["not a directory"]),
    ("no_test", ["test.npz", "missing"]),
    ("no_spec", ["model.toml", "missing"]),
    ("wrong_keys", ["test.npz", "'sensors'", "found x"]),
    ("nan_sensors", ["test.npz", "sensors", "non-finite"]),
    ("wrong_m", ["test.npz", "sensors", "[200, 50]", "[N, 100]"]),
    ("points_3d", ["test.npz", "points", "[100, 3]", "[P, 1]"]),
    ("outputs_short", ["test.npz", "outputs", "[200, 99, 1]", "[200, 100, 1]"]),
    ("bad_spec", ["model.toml", "not a model spec"]),
    ("missing_tensor", ["checkpoint.safetensors", "missing tensors", "hyper.0.weight"]),
])
def test_reference_bad_run_dir(tmp_path, trained, capsys, spoil, words):
    d = tmp_path / "d" if spoil == "nodir" else copy_run(trained, tmp_path / "d")
    if spoil == "no_test":
        (d / "test.npz").unlink()
    elif spoil == "no_spec":
        (d / "model.toml").unlink()
    elif spoil == "wrong_keys":
        np.savez(d / "test.npz", x=np.zeros(3))
    elif spoil in ("nan_sensors", "wrong_m", "points_3d", "outputs_short"):
        t = dict(np.load(d / "test.npz"))
        if spoil == "nan_sensors":
            t["sensors"][0, 0] = np.nan
        elif spoil == "wrong_m":
            t["sensors"] = t["sensors"][:, :50]
        elif spoil == "points_3d":
            t["points"] = np.repeat(t["points"], 3, axis=1)
        else:
            t["outputs"] = t["outputs"][:, :99]
        np.savez(d / "test.npz", **t)
    elif spoil == "bad_spec":
        (d / "model.toml").write_text("[model\nname = 1\n")
    elif spoil == "missing_tensor":
        from safetensors.numpy import load_file, save_file

        p = load_file(str(d / "checkpoint.safetensors"))
        del p["hyper.0.weight"]
        save_file(p, str(d / "checkpoint.safetensors"))
    assert main(["reference", str(d)]) == 1
    one_line_error(capsys, *words)
    assert not (d / FILE).exists()


def test_summarize_missing_or_empty_dir(tmp_path, capsys):
    assert main(["summarize", str(tmp_path / "nope")]) == 1
    one_line_error(capsys, "nope", "not a directory")
    assert main(["summarize", str(tmp_path)]) == 1
    one_line_error(capsys, "no metrics.json")
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "metrics.json").write_text("{\"problem\": \"identity\"}")
    assert main(["summarize", "--runs", str(tmp_path)]) == 1
    one_line_error(capsys, "metrics.json", "family")


def test_fixtures_unknown_name(tmp_path, capsys):
    assert main(["fixtures", "--out", str(tmp_path / "fx"), "--only", "nosuch"]) == 1
    one_line_error(capsys, "--only", "nosuch", "chunked_hyper")
    assert not (tmp_path / "fx").exists()


def test_corrupt_cache_is_regenerated(cache, capsys):
    ds = data.load("toy2d", 0)
    (path,) = cache.glob("toy2d-*.npz")
    z = dict(np.load(path))
    z["u_train"][0, 0] = np.nan
    np.savez(path, **z)
    again = data.load("toy2d", 0)
    assert "regenerating" in capsys.readouterr().err
    np.testing.assert_array_equal(again.u_train, ds.u_train)
    np.savez(path, u_train=ds.u_train)  # wrong keys
    np.testing.assert_array_equal(data.load("toy2d", 0).v_test, ds.v_test)
    assert "missing arrays" in capsys.readouterr().err


@pytest.mark.parametrize("cmd", ["train", "reference", "fixtures", "params", "summarize"])
def test_help_has_an_example(cmd, capsys):
    with pytest.raises(SystemExit) as e:
        main([cmd, "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "example" in out and f"python -m hdon_train {cmd}" in out


def test_fixtures_default_out_is_the_checkouts(tmp_path, monkeypatch):
    # `python -m hdon_train fixtures` run from tools/train/ wrote tools/train/tests/fixtures/.
    from pathlib import Path

    from hdon_train import fixtures

    monkeypatch.chdir(tmp_path)
    repo = Path(__file__).resolve().parents[3]
    assert fixtures.default_dir() == repo / "tests" / "fixtures"
    seen = []
    monkeypatch.setattr(fixtures, "make_all", lambda out, only, log: seen.append(out) or [])
    assert main(["fixtures", "--only", "hyper"]) == 0
    assert seen == [repo / "tests" / "fixtures"]


def test_summarize_std_over_seeds_is_the_sample_std(tmp_path, capsys):
    # docs/REPRODUCTION.md gives mean +- sample std (ddof = 1) over seeds; summarize did ddof = 0.
    base = {"problem": "identity", "family": "hyper", "params": 1, "steps": 10, "batch": 1,
            "lr": 1e-3, "lr_final": 1e-5, "wall_time_s": 1.0, "train_rel_l2": 0.1,
            "test_rel_l2_std": 0.0, "test_rel_l2_max": 0.0}
    for seed, e in ((0, 0.1), (1, 0.3)):
        (tmp_path / f"s{seed}").mkdir()
        (tmp_path / f"s{seed}" / "metrics.json").write_text(
            json.dumps({**base, "seed": seed, "test_rel_l2": e}))
    assert main(["summarize", str(tmp_path)]) == 0
    assert "| 0.2000 +- 0.1414 |" in capsys.readouterr().out


def test_train_says_when_it_generates_data(tmp_path, cache):
    # The first Burgers run spends minutes generating data without a word before this.
    lines = []
    run("toy2d", "hyper", 0, tmp_path / "a", steps=1, size="tiny", log=lines.append)
    assert any("generating the toy2d data set" in s and str(cache) in s for s in lines), lines
    lines.clear()
    run("toy2d", "hyper", 0, tmp_path / "b", steps=1, size="tiny", log=lines.append)
    assert not any("generating" in s for s in lines), lines


def test_batch_larger_than_the_training_set(tmp_path, cache, capsys):
    # It was cut to the set's size silently, and metrics.json recorded the batch asked for.
    assert main(["train", "--problem", "toy2d", "--model", "hyper", "--size", "tiny", "--steps",
                 "1", "--batch", "5000", "--out", str(tmp_path / "o")]) == 1
    one_line_error(capsys, "--batch 5000", "200 input functions")
    assert not (tmp_path / "o" / "metrics.json").exists()


def test_overwrite_interrupted_leaves_no_finished_mark(tmp_path, cache, trained, monkeypatch):
    # Replacing a run wrote the new checkpoint next to the old metrics.json (the mark of a
    # finished run) and old reference-f64.npz; a failure in between left them mixed.
    d = copy_run(trained, tmp_path / "d")
    (d / FILE).write_bytes(b"old reference")
    import hdon_train.run as run_mod

    def fail(*a, **k):
        raise OSError("disk full")

    data.load("identity", 0)  # cached before np.savez fails
    monkeypatch.setattr(run_mod.np, "savez", fail)
    with pytest.raises(OSError):
        run("identity", "hyper", 5, d, steps=2, size="tiny", log_every=2, overwrite=True,
            log=lambda s: None)
    assert not (d / "metrics.json").exists() and not (d / FILE).exists()
    assert (d / "checkpoint.safetensors").exists() and not list(d.glob(".*tmp*"))


def test_unwritable_cache_does_not_lose_the_data(tmp_path, monkeypatch, capsys):
    # HDON_TRAIN_CACHE naming a file: after generating the data set, a FileExistsError traceback.
    f = tmp_path / "afile"
    f.write_text("x")
    monkeypatch.setenv("HDON_TRAIN_CACHE", str(f))
    ds = data.load("toy2d", 0)
    assert ds.u_train.shape[0] == 200
    assert "continuing without the cache" in capsys.readouterr().err


def test_ctrl_c_is_one_line(tmp_path, monkeypatch, capsys):
    import hdon_train.run as run_mod

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(run_mod, "run", interrupted)
    assert main(TINY + ["--out", str(tmp_path / "o")]) == 130
    one_line_error(capsys, "interrupted")
