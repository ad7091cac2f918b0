"Fixtures for the process-level tests: small real training runs, made once per session."
import os
import subprocess
import sys
from pathlib import Path

import pytest

QUICK = ["--epochs", "1", "--max-images", "2048", "--val-size", "256", "--batch-size", "32", "--no-progress"]


def run_cli(*args, cwd=None, timeout=600):
    "Run a console script of the package as a user would, capturing its output."
    env = {**os.environ, "MPLBACKEND": "Agg", "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run([*args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def bin_path(name):
    "A console script installed beside this Python."
    return str(Path(sys.executable).parent / name)


CHECKPOINTS = {"pytorch": "model.pt", "tensorflow": "model.weights.h5"}


@pytest.fixture(scope="session", params=["pytorch", "tensorflow"])
def framework_run(request, tmp_path_factory):
    "A run of each framework trained by `cnn_train` in a temporary folder: (framework, run folder, completed process)."
    framework = request.param
    work = tmp_path_factory.mktemp(f"{framework}_run")
    proc = run_cli(bin_path("cnn_train"), "--framework", framework, *QUICK, cwd=work)
    assert proc.returncode == 0, proc.stderr
    return framework, work / "artifacts" / f"{framework}_cnn", proc
