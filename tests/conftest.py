"Fixtures for the process-level tests: small real training runs, made once per session."
import os
import subprocess
import sys
from pathlib import Path

import pytest

QUICK = ["--epochs", "1", "--max-images", "1024", "--val-size", "256", "--no-progress"]


def run_cli(*args, cwd=None, timeout=600):
    "Run a console script of the package as a user would, capturing its output."
    env = {**os.environ, "MPLBACKEND": "Agg", "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run([*args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def bin_path(name):
    "A console script installed beside this Python."
    return str(Path(sys.executable).parent / name)


@pytest.fixture(scope="session")
def pytorch_run(tmp_path_factory):
    "A PyTorch run trained by `cnn_train` in a temporary folder: (the folder, the completed process)."
    work = tmp_path_factory.mktemp("pytorch_run")
    proc = run_cli(bin_path("cnn_train"), *QUICK, cwd=work)
    assert proc.returncode == 0, proc.stderr
    return work / "artifacts" / "pytorch_cnn", proc
