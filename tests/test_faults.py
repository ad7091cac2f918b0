"Faults outside the program: a full disk, a read-only folder, a file that may not be replaced, a decompression bomb, an array too large. Each ends in one line on stderr, exit code 2, no traceback, no file destroyed and no temporary file left."
import contextlib
import os
import resource
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import bin_path, run_cli
from cnn_tutorial.commands.core import load_any_predictor
from cnn_tutorial.common.report import read_history

ROOT = Path(__file__).resolve().parent.parent
TINY = ["--epochs", "1", "--max-images", "256", "--val-size", "64", "--batch-size", "64", "--no-progress"]
CHECKPOINTS = {"pytorch": "model.pt", "tensorflow": "model.weights.h5"}
OLD_METRICS, OLD_CHECKPOINT = b'{"test_accuracy": 0.9}\n', b"the previous checkpoint"
BOMB_MESSAGE = "promises 400,000,000 pixels, more than an image file may have (16,777,216); refused without decoding it"
BATCH_MESSAGE = ("a batch of 268,436,112 pixel values is more than one call accepts (268,435,456); "
                 "pass the images in smaller batches")


def train(framework, artifacts, preexec_fn=None, options=()):
    "Run a tiny `cnn_train` with its artifacts under `artifacts`, as a user would."
    env = {**os.environ, "MPLBACKEND": "Agg", "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run([bin_path("cnn_train"), "--framework", framework, *TINY, *options, "--artifacts-dir", str(artifacts)],
                          cwd=artifacts.parent, env=env, capture_output=True, text=True, timeout=600, preexec_fn=preexec_fn)


def earlier_run(run_dir, framework):
    "A run folder holding the files of an earlier run: its metrics and its checkpoint."
    run_dir.mkdir(parents=True)
    (run_dir / "metrics.json").write_bytes(OLD_METRICS)
    (run_dir / CHECKPOINTS[framework]).write_bytes(OLD_CHECKPOINT)
    return run_dir


def assert_failed_cleanly(proc, message, run_dir, framework, files):
    "Exit code 2, `message` as the one line on stderr, the earlier files that remain intact, exactly `files` in `run_dir`."
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.splitlines() == [f"cnn_train: error: {message}"]
    for name, old in (("metrics.json", OLD_METRICS), (CHECKPOINTS[framework], OLD_CHECKPOINT)):
        if name in files and name != "history.csv": assert (run_dir / name).read_bytes() == old
    assert sorted(p.name for p in run_dir.iterdir()) == sorted(files)


@contextlib.contextmanager
def tmpfs(folder, size):
    "A tmpfs of `size` mounted on `folder` for the block; the test is skipped where mounting is not allowed."
    folder.mkdir()
    if not shutil.which("mount"): pytest.skip("no mount command on this machine")
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True, text=True)
    if proc.returncode: pytest.skip(f"mounting a tmpfs is not allowed here ({proc.stderr.strip()})")
    try: yield folder
    finally: subprocess.run(["umount", str(folder)], check=True)


@contextlib.contextmanager
def immutable(path):
    "`path` made immutable (`chattr +i`: not even root may replace it) for the block; skipped where that is not allowed."
    if not shutil.which("chattr"): pytest.skip("no chattr command on this machine")
    proc = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True)
    if proc.returncode: pytest.skip(f"chattr +i is not allowed here ({proc.stderr.strip()})")
    try: yield path
    finally: subprocess.run(["chattr", "-i", str(path)], check=True)


def file_size_limit(limit):
    "A `preexec_fn` under which every write past `limit` bytes of a file fails with EFBIG, as on a quota or a full disk."
    def apply():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


@pytest.mark.parametrize("framework", ["pytorch", "tensorflow"])
def test_full_disk_during_checkpoint_write(framework, tmp_path):
    with tmpfs(tmp_path / "disk", "1m") as disk:  # room for history.csv, not for a 1.7 MB checkpoint
        run_dir = disk / "runs" / f"{framework}_cnn"
        proc = train(framework, disk / "runs")
        assert_failed_cleanly(proc, f"could not write {run_dir / CHECKPOINTS[framework]}: No space left on device",
                              run_dir, framework, ["history.csv"])
        assert [r["epoch"] for r in read_history(run_dir / "history.csv")] == [1]
        assert "epoch   1" in proc.stdout
        assert shutil.disk_usage(disk).used < 64 * 1024  # the partial checkpoint's space is freed: no file left open


@pytest.mark.parametrize("framework", ["pytorch", "tensorflow"])
def test_file_size_limit_during_checkpoint_write(framework, tmp_path):
    run_dir = tmp_path / "runs" / f"{framework}_cnn"
    proc = train(framework, tmp_path / "runs", preexec_fn=file_size_limit(1 << 20))
    assert_failed_cleanly(proc, f"could not write {run_dir / CHECKPOINTS[framework]}: File too large",
                          run_dir, framework, ["history.csv"])


@pytest.mark.parametrize("framework", ["pytorch", "tensorflow"])
def test_read_only_run_folder(framework, tmp_path):
    with tmpfs(tmp_path / "disk", "1m") as disk:
        run_dir = earlier_run(disk / "runs" / f"{framework}_cnn", framework)
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        proc = train(framework, disk / "runs")
        assert_failed_cleanly(proc, f"cannot write to {run_dir}: Read-only file system",
                              run_dir, framework, ["metrics.json", CHECKPOINTS[framework]])
        assert "epoch" not in proc.stdout  # refused before training


@pytest.mark.parametrize("framework", ["pytorch", "tensorflow"])
def test_checkpoint_that_may_not_be_replaced(framework, tmp_path):
    run_dir = earlier_run(tmp_path / "runs" / f"{framework}_cnn", framework)
    with immutable(run_dir / CHECKPOINTS[framework]):
        refused = train(framework, tmp_path / "runs")
        assert_failed_cleanly(refused, f"{run_dir} holds a finished run (its metrics.json cannot be read); replace it with "
                              "--overwrite, or choose another --artifacts-dir", run_dir, framework,
                              ["metrics.json", CHECKPOINTS[framework]])
        proc = train(framework, tmp_path / "runs", options=["--overwrite"])
    # --overwrite removes the report first: what it could not remove stays, in a folder that no longer looks finished
    assert_failed_cleanly(proc, f"could not remove {run_dir / CHECKPOINTS[framework]}: Operation not permitted",
                          run_dir, framework, [CHECKPOINTS[framework]])


@pytest.fixture(scope="module")
def bomb(tmp_path_factory):
    "A decompression bomb: a blank 20000×20000 PNG, 400 million pixels in 48 KB."
    path = tmp_path_factory.mktemp("bomb") / "bomb.png"
    Image.new("1", (20000, 20000)).save(path)
    return path


@pytest.mark.parametrize("run", ["pytorch_cnn", "tensorflow_cnn"])
def test_cnn_predict_refuses_decompression_bomb(run, bomb):
    assert bomb.stat().st_size < 100_000
    proc = run_cli(bin_path("cnn_predict"), str(ROOT / "artifacts" / run), str(bomb), timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [f"cnn_predict: error: {bomb} {BOMB_MESSAGE}"]
    assert proc.stdout == ""


@pytest.mark.parametrize("run", ["pytorch_cnn", "tensorflow_cnn"])
def test_predict_refuses_bomb_and_too_large_array(run, bomb):
    predictor = load_any_predictor(ROOT / "artifacts" / run)
    with pytest.raises(ValueError) as e: predictor.predict([bomb])
    assert str(e.value) == f"{bomb} {BOMB_MESSAGE}"
    huge = np.broadcast_to(np.uint8(0), (342_393, 28, 28))  # one byte of memory, 268,436,112 pixel values
    with pytest.raises(ValueError) as e: predictor.predict(huge)
    assert str(e.value) == BATCH_MESSAGE
    assert predictor.predict(huge[:2]).shape == (2,)
