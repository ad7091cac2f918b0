"""Nothing saved is lost: a finished run is refused rather than overwritten, and a run killed at any instant (inside a
checkpoint write, inside an overwrite) leaves either the old finished run or a new run that is plainly unfinished,
never a mix. The kills are real `SIGKILL`s, sent by the training process to itself at a chosen file operation."""
import json
import shutil
import signal
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import QUICK, bin_path, run_cli

STATE = {"pytorch": "last.pt", "tensorflow": "last.weights.h5"}
CHECKPOINTS = {"pytorch": "model.pt", "tensorflow": "model.weights.h5"}
TWO_EPOCHS = [o if o != "1" else "2" for o in QUICK]  # QUICK's only "1" is its epoch count

# `cnn_train`, killed by SIGKILL at the Nth call of `os.<operation>` on a file called NAME: argv[1:4] = operation, NAME, N.
KILLED_TRAIN = """
import os, signal, sys
operation, name, nth = sys.argv[1], sys.argv[2], int(sys.argv[3])
real, calls = getattr(os, operation), []
def deadly(*args, **kwargs):
    target = args[1] if operation == "replace" else args[0]
    if os.path.basename(os.fspath(target)) == name:
        calls.append(target)
        if len(calls) == nth: os.kill(os.getpid(), signal.SIGKILL)
    return real(*args, **kwargs)
setattr(os, operation, deadly)
from cnn_tutorial.commands.train import train_main
sys.exit(train_main(sys.argv[4:]))
"""


def killed_train(cwd, operation, name, nth, *options):
    "Run `cnn_train options` in `cwd`, killed at the `nth` `os.operation` on `name`; the completed process."
    return run_cli(sys.executable, "-c", KILLED_TRAIN, operation, name, str(nth), *options, cwd=cwd)


def train(cwd, *options):
    return run_cli(bin_path("cnn_train"), *options, cwd=cwd)


def predict(run_dir, image):
    return run_cli(bin_path("cnn_predict"), str(run_dir), str(image))


def snapshot(run_dir):
    "Every file in `run_dir` and its bytes."
    return {p.name: p.read_bytes() for p in sorted(Path(run_dir).iterdir())}


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    path = tmp_path_factory.mktemp("image") / "boot.png"
    Image.fromarray(np.full((28, 28), 128, np.uint8)).save(path)
    return path


@pytest.fixture
def finished(framework_run, tmp_path):
    "A copy of a finished run in `tmp_path/runs`, where a new `cnn_train` in `tmp_path` writes by default."
    framework, run_dir, _ = framework_run
    copy = tmp_path / "runs" / run_dir.name
    shutil.copytree(run_dir, copy)
    return framework, copy


def test_a_finished_run_is_refused_in_one_line_and_kept_whole(finished, tmp_path):
    framework, run_dir = finished
    before, metrics = snapshot(run_dir), json.loads((run_dir / "metrics.json").read_text())
    proc = train(tmp_path, "--framework", framework, *QUICK)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        f"cnn_train: error: runs/{framework}_cnn holds a finished run (test accuracy {metrics['test_accuracy']:.2%}, best "
        f"epoch 1 of 1); replace it with --overwrite, or choose another --artifacts-dir"]
    assert snapshot(run_dir) == before


def test_overwrite_replaces_a_finished_run(finished, tmp_path):
    framework, run_dir = finished
    old = json.loads((run_dir / "metrics.json").read_text())
    proc = train(tmp_path, "--framework", framework, *QUICK, "--seed", "7", "--overwrite")
    assert proc.returncode == 0, proc.stderr
    new = json.loads((run_dir / "metrics.json").read_text())
    assert (old["config"]["seed"], new["config"]["seed"]) == (42, 7)
    assert sorted(snapshot(run_dir)) == sorted(["confusion_matrix.png", "curves.png", "history.csv", "metrics.json",
                                                CHECKPOINTS[framework]])


@pytest.mark.parametrize("framework", ["pytorch", "tensorflow"])
def test_kill_inside_a_checkpoint_write_leaves_a_resumable_run_that_is_refused_until_finished(framework, tmp_path, image):
    run_dir = tmp_path / "runs" / f"{framework}_cnn"
    # killed just before epoch 2's state replaces epoch 1's: the new file is written whole, under its temporary name
    proc = killed_train(tmp_path, "replace", STATE[framework], 2, "--framework", framework, *TWO_EPOCHS)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    stale = [p.name for p in run_dir.iterdir() if p.name.startswith(f".{STATE[framework]}.")]
    assert len(stale) == 1, sorted(p.name for p in run_dir.iterdir())
    assert not (run_dir / "metrics.json").exists() and (run_dir / STATE[framework]).is_file()

    refused = predict(run_dir, image)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert (f"still training or was interrupted, not a finished one ({STATE[framework]} is there); finish it with: "
            f"cnn_train --framework {framework} --resume --artifacts-dir {tmp_path / 'runs'}") in refused.stderr

    resumed = train(tmp_path, "--framework", framework, "--resume", "--no-progress")
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming after epoch 1 of 2" in resumed.stdout
    assert sorted(snapshot(run_dir)) == sorted(["confusion_matrix.png", "curves.png", "history.csv", "metrics.json",
                                                CHECKPOINTS[framework]])  # the stale temporary file is gone
    assert json.loads((run_dir / "metrics.json").read_text())["epochs_completed"] == 2
    assert predict(run_dir, image).returncode == 0


@pytest.mark.parametrize("instant", ["clearing the old run", "writing the new run's first checkpoint"])
def test_kill_inside_an_overwrite_never_leaves_a_mix(finished, tmp_path, image, instant):
    framework, run_dir = finished
    operation, name = ("unlink", CHECKPOINTS[framework]) if instant.startswith("clearing") else ("replace", CHECKPOINTS[framework])
    proc = killed_train(tmp_path, operation, name, 1, "--framework", framework, *QUICK, "--overwrite")
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert not (run_dir / "metrics.json").exists()  # the old report went first: nothing here claims to be finished
    refused = predict(run_dir, image)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert any(why in refused.stderr for why in ("holds no finished run", "holds no checkpoint")), refused.stderr
    again = train(tmp_path, "--framework", framework, *QUICK)  # without --overwrite, what is left is not taken over silently
    assert again.returncode == 2 and "--overwrite" in again.stderr, again.stderr
    replaced = train(tmp_path, "--framework", framework, *QUICK, "--overwrite")
    assert replaced.returncode == 0, replaced.stderr
    assert sorted(snapshot(run_dir)) == sorted(["confusion_matrix.png", "curves.png", "history.csv", "metrics.json",
                                                CHECKPOINTS[framework]])
    assert predict(run_dir, image).returncode == 0
