"Fixtures for the process-level tests: small real training runs, made once per session."
import gzip
import hashlib
import io
import os
import struct
import subprocess
import tarfile
import sys
from pathlib import Path

import numpy as np
import pytest

try: import triton  # noqa: F401  PyTorch's compiler library must load before TensorFlow in a shared process
except ImportError: pass

from cnn_tutorial.common.data import CIFAR10_ARCHIVE, CIFAR10_MEMBERS, DataFile

QUICK = ["--epochs", "1", "--max-images", "2048", "--val-size", "256", "--batch-size", "32", "--no-progress"]


TIMING = ("train_seconds", "seconds_per_epoch", "machine")


def without_timing(metrics):
    "A run's metrics without what differs between two identical runs: timing and the machine."
    return {k: v for k, v in metrics.items() if k not in TIMING}


def run_cli(*args, cwd=None, timeout=600):
    "Run a console script of the package as a user would, capturing its output."
    env = {**os.environ, "MPLBACKEND": "Agg", "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run([*args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def bin_path(name):
    "A console script installed beside this Python."
    return str(Path(sys.executable).parent / name)


CHECKPOINTS = {"pytorch": "model.pt", "tensorflow": "model.weights.h5"}


def fresh_process_accuracy(framework, run_dir, max_images=2048, val_size=256):
    "Test accuracy of the checkpoint in `run_dir`, measured by `load_predictor` in a new Python process."
    code = (f"from cnn_tutorial.{framework}.inference import load_predictor\n"
            f"from cnn_tutorial.common.data import load_splits\n"
            f"x, y = load_splits(max_images={max_images}, val_size={val_size})['test']\n"
            f"print((load_predictor({str(run_dir)!r}).predict(x) == y).mean())")
    proc = run_cli(sys.executable, "-c", code)
    assert proc.returncode == 0, proc.stderr
    return float(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="session", params=["pytorch", "tensorflow"])
def framework_run(request, tmp_path_factory):
    "A run of each framework trained by `cnn_train` in a temporary folder: (framework, run folder, completed process)."
    framework = request.param
    work = tmp_path_factory.mktemp(f"{framework}_run")
    proc = run_cli(bin_path("cnn_train"), "--framework", framework, *QUICK, cwd=work)
    assert proc.returncode == 0, proc.stderr
    return framework, work / "runs" / f"{framework}_cnn", proc


# Data sets in their real formats, small enough for tests.
STEMS = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def idx(a):
    return struct.pack(">HBB", 0, 8, a.ndim) + struct.pack(f">{a.ndim}I", *a.shape) + a.astype(np.uint8).tobytes()


def write_idx_dataset(folder, n_train=20, n_test=10, seed=0):
    "Four gzipped IDX files; returns the arrays and the published-file descriptions (content SHA-256 and gzip MD5)."
    rng = np.random.default_rng(seed)
    arrays = dict(zip(STEMS, (rng.integers(0, 256, (n_train, 28, 28)), np.arange(n_train) % 10,
                              rng.integers(0, 256, (n_test, 28, 28)), np.arange(n_test) % 10)))
    files = []
    for stem, a in arrays.items():
        raw, packed = idx(a), gzip.compress(idx(a))
        (folder / f"{stem}.gz").write_bytes(packed)
        files.append(DataFile(stem, hashlib.sha256(raw).hexdigest(), hashlib.md5(packed).hexdigest()))
    return arrays, tuple(files)


def write_cifar_archive(folder, per_batch=4, seed=0):
    "A CIFAR-10 binary archive with `per_batch` records in each of its six files; returns images, labels and its description."
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (6 * per_batch, 32, 32, 3), dtype=np.uint8)
    labels = (np.arange(6 * per_batch) % 10).astype(np.uint8)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for i, member in enumerate(CIFAR10_MEMBERS):
            sl = slice(i * per_batch, (i + 1) * per_batch)
            payload = b"".join(bytes([l]) + im.transpose(2, 0, 1).tobytes() for im, l in zip(images[sl], labels[sl]))
            info = tarfile.TarInfo(member); info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    (folder / CIFAR10_ARCHIVE).write_bytes(buf.getvalue())
    return images, labels, (DataFile(CIFAR10_ARCHIVE, archive_md5=hashlib.md5(buf.getvalue()).hexdigest()),)
