"The residual-network family end to end, through the same commands as the CNN: train, interrupt and resume, predict."
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from cnn_tutorial import parity
from cnn_tutorial.common.data import load_splits
from cnn_tutorial.common.report import read_history
from conftest import bin_path, fresh_process_accuracy, run_cli, without_timing

ROOT = Path(__file__).resolve().parent.parent

RUN = ["--model", "resnet", "--depth", "8", "--epochs", "2", "--max-images", "2048", "--val-size", "256", "--batch-size", "64",
       "--no-progress"]
FLAGS = {"pytorch": [], "tensorflow": ["--deterministic"]}  # Keras's CPU kernels add in a varying order unless told not to
STATE = {"pytorch": "last.pt", "tensorflow": "last.weights.h5"}

INTERRUPT_AFTER_FIRST_EPOCH = """
import sys
from cnn_tutorial.common.config import config_from_args
from cnn_tutorial.commands.train import train_parser
from cnn_tutorial.common.report import InterruptAfter
from cnn_tutorial.{framework}.train import train
config = config_from_args(train_parser("{framework}").parse_args(sys.argv[1:]))
try: train(config, callbacks=[InterruptAfter(1)])
except KeyboardInterrupt: sys.exit(130)
"""


@pytest.mark.parametrize("framework", ["pytorch", "tensorflow"])
def test_resnet_trains_resumes_and_predicts(framework, tmp_path):
    (tmp_path / "whole").mkdir(); (tmp_path / "stopped").mkdir()
    whole = run_cli(bin_path("cnn_train"), "--framework", framework, *FLAGS[framework], *RUN, cwd=tmp_path / "whole")
    assert whole.returncode == 0, whole.stderr
    run_dir = tmp_path / "whole" / "runs" / f"{framework}_resnet"
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert (metrics["config"]["model"], metrics["config"]["channels"], metrics["config"]["crop"]) == ("resnet", [16, 32, 64], 2)  # the family's own defaults
    assert metrics["parameter_count"] == 77_754  # depth 8: one block per stage
    assert metrics["test_accuracy"] > 0.5, metrics["test_accuracy"]

    # A run stopped after its first epoch resumes to exactly the uninterrupted result.
    stopped = run_cli(sys.executable, "-c", INTERRUPT_AFTER_FIRST_EPOCH.format(framework=framework), *FLAGS[framework], *RUN,
                      cwd=tmp_path / "stopped")
    assert stopped.returncode == 130, stopped.stderr
    stopped_dir = tmp_path / "stopped" / "runs" / f"{framework}_resnet"
    assert [r["epoch"] for r in read_history(stopped_dir / "history.csv")] == [1] and (stopped_dir / STATE[framework]).exists()
    resumed = run_cli(bin_path("cnn_train"), "--framework", framework, "--model", "resnet", "--resume", "--no-progress",
                      cwd=tmp_path / "stopped")
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming after epoch 1 of 2" in resumed.stdout
    assert without_timing(json.loads((stopped_dir / "metrics.json").read_text())) == without_timing(metrics)

    # Predictions: in a fresh process, the recorded test accuracy; and from image files, on the command line.
    assert fresh_process_accuracy(framework, run_dir) == pytest.approx(metrics["test_accuracy"], abs=1e-9)
    images, labels = load_splits(max_images=2048, val_size=256)["test"]
    files = []
    for i in range(4):
        files.append(tmp_path / f"test{i}.png")
        Image.fromarray(images[i, :, :, 0]).save(files[-1])
    predicted = run_cli(bin_path("cnn_predict"), str(run_dir), *map(str, files))
    assert predicted.returncode == 0, predicted.stderr
    rows = [line.split("\t") for line in predicted.stdout.strip().splitlines()]
    assert [r[0] for r in rows] == list(map(str, files)) and all(0 <= int(r[1]) < 10 for r in rows)

    # The weights port to the other framework, shortcuts, projections and batch norms included, to the same logits.
    if framework == "pytorch":
        original, _ = parity.torch_model_from_checkpoint(parity.load_torch_checkpoint(run_dir / "model.pt"), run_dir / "model.pt")
        twin, _ = parity.keras_model_from_torch_checkpoint(run_dir / "model.pt")
        agreement = parity.compare_logits(original, twin, images)
    else:
        original, _ = parity.keras_model_from_checkpoint(parity.load_keras_checkpoint(run_dir / "model.weights.h5"))
        twin, _ = parity.torch_model_from_keras_checkpoint(run_dir / "model.weights.h5")
        agreement = parity.compare_logits(twin, original, images)
    assert agreement["images"] == len(images)
    assert agreement["max_rel_diff"] < 1e-4 and agreement["classes_agree"], agreement


def test_interrupted_resnet_run_names_its_family_in_the_resume_command(tmp_path):
    command = [bin_path("cnn_train"), "--framework", "pytorch", *RUN[:-1], "--epochs", "3"]
    proc = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    run_dir = tmp_path / "runs" / "pytorch_resnet"
    deadline = time.time() + 300
    while time.time() < deadline and not (run_dir / "last.pt").exists(): time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Continue with: cnn_train --framework pytorch --model resnet --resume --artifacts-dir runs" in err


@pytest.mark.parametrize("framework", ["pytorch", "tensorflow"])
def test_committed_reference_run_reproduces_its_test_accuracy_in_a_fresh_process(framework):
    "The residual network's reference run: `load_predictor` in a new process scores all 10,000 test images as the run recorded."
    run_dir = ROOT / "artifacts" / f"{framework}_resnet"
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert (metrics["config"]["model"], metrics["epochs_completed"], metrics["parameter_count"]) == ("resnet", 20, 272_186)
    assert metrics["test_accuracy"] > 0.935, metrics["test_accuracy"]
    assert fresh_process_accuracy(framework, run_dir, max_images=0, val_size=5000) == pytest.approx(metrics["test_accuracy"], abs=1e-9)
