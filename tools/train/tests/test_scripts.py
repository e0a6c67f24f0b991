"""The shell scripts of tools/train, run with a stand-in `python3` that records its arguments
(no training)."""

import os
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent.parent


@pytest.fixture
def fake_python(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls"
    (bin_dir / "python3").write_text(f'#!/bin/sh\necho "$@" >> {log}\n')
    (bin_dir / "python3").chmod(0o755)
    return bin_dir, log


def shipped(stream, fake, env=()):
    bin_dir, log = fake
    e = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", **dict(env)}
    r = subprocess.run(["bash", str(HERE / "train_shipped.sh"), stream], env=e,
                       capture_output=True, text=True)
    calls = log.read_text().splitlines() if log.exists() else []
    return r, calls


@pytest.mark.parametrize("stream,steps", [("c", "10000"), ("d", "6000"), ("e", "4000")])
def test_train_shipped_uses_the_streams_steps(tmp_path, fake_python, stream, steps):
    r, calls = shipped(stream, fake_python, {"OUT": str(tmp_path / "out")})
    assert r.returncode == 0, r.stderr
    assert calls and all(f"--steps {steps} " in c for c in calls), calls
    r, calls2 = shipped(stream, fake_python, {"OUT": str(tmp_path / "out"), "STEPS": "7"})
    assert all("--steps 7 " in c for c in calls2[len(calls):])


def test_train_shipped_keeps_existing_runs(tmp_path, fake_python):
    d = tmp_path / "out" / "advection" / "chunked_hyper"
    d.mkdir(parents=True)
    (d / "metrics.json").write_text("{}")
    (d / "train.log").write_text("the shipped log\n")
    r, calls = shipped("e", fake_python, {"OUT": str(tmp_path / "out")})
    assert r.returncode == 0 and calls == [] and "skip advection/chunked_hyper" in r.stderr
    assert (d / "train.log").read_text() == "the shipped log\n"
    r, calls = shipped("e", fake_python, {"OUT": str(tmp_path / "out"), "OVERWRITE": "1"})
    assert len(calls) == 1 and "--overwrite" in calls[0] and f"--out {d}" in calls[0]


def test_output_piped_into_head_has_no_traceback():
    env = {**os.environ, "PYTHONPATH": str(HERE)}
    # `true` exits without reading: the pipe is closed before the table is printed.
    r = subprocess.run("python3 -m hdon_train params | true", shell=True, env=env,
                       capture_output=True, text=True)
    assert "Traceback" not in r.stderr and "BrokenPipe" not in r.stderr, r.stderr


def test_train_seeds_reports_a_failed_run(tmp_path):
    # A run that failed was reported as "done  <problem>/<family>: <its error line>".
    import sys

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3").write_text(
        "#!/bin/sh\n"
        'if [ "$1 $2 $3" = "-m hdon_train train" ]; then echo "hdon_train train: error: boom" >&2; exit 1; fi\n'
        f'exec {sys.executable} "$@"\n')
    (bin_dir / "python3").chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "ONLY": "burgers/deeponet"}
    r = subprocess.run(["bash", str(HERE / "train_seeds.sh"), "9", str(tmp_path / "out")],
                       env=env, capture_output=True, text=True)
    assert "FAILED burgers/deeponet: hdon_train train: error: boom" in r.stderr, r.stderr
    assert " done " not in r.stderr and r.returncode != 0
    assert not (tmp_path / "out" / "burgers" / "deeponet" / "running").exists()


@pytest.mark.parametrize("script", ["train_seeds.sh", "reproduce.sh"])
def test_resumable_scripts_redo_an_unfinished_run(tmp_path, script):
    # They skip runs with metrics.json; one without it (interrupted while writing) holds some
    # outputs, which `train` refuses without --overwrite.
    import sys

    bin_dir, log = tmp_path / "bin", tmp_path / "calls"
    bin_dir.mkdir()
    (bin_dir / "python3").write_text(
        "#!/bin/sh\n"
        f'if [ "$1 $2 $3" = "-m hdon_train train" ]; then echo "$@" >> {log}; exit 0; fi\n'
        f'if [ "$1 $2 $3" = "-m hdon_train summarize" ]; then exit 0; fi\n'
        f'exec {sys.executable} "$@"\n')
    (bin_dir / "python3").chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "ONLY": "burgers/deeponet",
           "SEEDS": "1", "STEPS": "3"}
    args = ["9"] if script == "train_seeds.sh" else []
    subprocess.run(["bash", str(HERE / script), *args, str(tmp_path / "out")], env=env,
                   capture_output=True, text=True, timeout=60)
    calls = log.read_text().splitlines()
    assert calls and all("--overwrite" in c for c in calls), calls
