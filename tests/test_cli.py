"The command-line tools of both frameworks end to end, in a temporary folder, as a user runs them."
import json
import sys

import numpy as np
import pytest
from PIL import Image

from cnn_tutorial.commands.core import load_any_predictor
from cnn_tutorial.common.config import TrainConfig
from cnn_tutorial.common.data import load_splits
from cnn_tutorial.common.utils import cpu_supports_bfloat16
from conftest import CHECKPOINTS, QUICK, bin_path, fresh_process_accuracy, run_cli


def test_cnn_train_writes_every_artifact(framework_run):
    framework, run_dir, proc = framework_run
    assert sorted(p.name for p in run_dir.iterdir()) == sorted(["confusion_matrix.png", "curves.png", "history.csv",
                                                                "metrics.json", CHECKPOINTS[framework]])
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["framework"] == framework and metrics["epochs_completed"] == 1
    assert f"test accuracy: {metrics['test_accuracy']:.4f}" in proc.stdout
    assert metrics["test_accuracy"] > 0.5  # far above the 10% of chance, after one epoch on 2,048 images
    assert sum(map(sum, metrics["confusion_matrix"])) == 2048
    assert metrics["parameter_count"] == 421_834


@pytest.mark.parametrize("framework", ["pytorch", "tensorflow"])
def test_module_entry_point_lists_every_option(framework):
    proc = run_cli(sys.executable, "-m", f"cnn_tutorial.{framework}.train", "--help")
    assert proc.returncode == 0, proc.stderr
    for name in TrainConfig.__dataclass_fields__:
        assert "--" + name.replace("_", "-") in proc.stdout
    assert "--framework" not in proc.stdout


def test_predictor_reproduces_recorded_accuracy_in_fresh_process(framework_run):
    framework, run_dir, _ = framework_run
    recorded = json.loads((run_dir / "metrics.json").read_text())["test_accuracy"]
    assert fresh_process_accuracy(framework, run_dir) == pytest.approx(recorded, abs=1e-12)


def test_cnn_predict_prints_path_index_and_name(framework_run, tmp_path):
    framework, run_dir, _ = framework_run
    images, labels = load_splits(max_images=4, val_size=256)["test"]
    paths = []
    for i, image in enumerate(images):
        paths.append(str(tmp_path / f"img{i}.png"))
        Image.fromarray(image[..., 0]).save(paths[-1])
    proc = run_cli(bin_path("cnn_predict"), str(run_dir / CHECKPOINTS[framework]), *paths)
    assert proc.returncode == 0, proc.stderr
    lines = [line.split("\t") for line in proc.stdout.splitlines()]
    predictor = load_any_predictor(run_dir)
    assert predictor.framework == framework
    expected = predictor.predict(images)
    assert [l[0] for l in lines] == paths
    assert [int(l[1]) for l in lines] == list(expected)
    assert [l[2] for l in lines] == [predictor.classes[i] for i in expected]


@pytest.mark.parametrize("make_input, message", [
    (lambda d: [str(d / "missing.png")], "image file not found"),
    (lambda d: [str((d / "notes.txt").write_text("hello") and d / "notes.txt")], "cannot read"),
    (lambda d: [str(Image.new("L", (32, 32)).save(d / "big.png") or d / "big.png")], "32×32"),
])
def test_cnn_predict_refuses_bad_images_without_traceback(framework_run, tmp_path, make_input, message):
    _, run_dir, _ = framework_run
    proc = run_cli(bin_path("cnn_predict"), str(run_dir), *make_input(tmp_path))
    assert proc.returncode == 2
    assert message in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("checkpoint, message", [
    ("missing.pt", "checkpoint not found"),
    ("notes.txt", "is not a checkpoint"),
    ("empty_folder", "holds no checkpoint"),
    ("garbage.pt", "damaged or not a PyTorch checkpoint"),
    ("garbage.weights.h5", "damaged or not an HDF5 checkpoint"),
])
def test_cnn_predict_refuses_bad_checkpoints(tmp_path, checkpoint, message):
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "empty_folder").mkdir()
    (tmp_path / "garbage.pt").write_bytes(b"\x80\x04garbage")
    (tmp_path / "garbage.weights.h5").write_bytes(b"garbage")
    Image.new("L", (28, 28)).save(tmp_path / "x.png")
    proc = run_cli(bin_path("cnn_predict"), str(tmp_path / checkpoint), str(tmp_path / "x.png"))
    assert proc.returncode == 2
    assert message in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("args, message", [
    (["--epochs", "0"], "epochs must be a positive integer"),
    (["--batch-size", "-5"], "batch_size must be a positive integer"),
    (["--learning-rate", "0"], "learning_rate must be positive"),
    (["--kernel-size", "4"], "kernel_size must be odd"),
    (["--device", "tpu"], "device must be one of"),
    (["--precision", "float16"], "precision must be one of auto, float32, bfloat16"),
    (["--label-smoothing", "1"], "label_smoothing must be in [0, 1)"),
])
def test_cnn_train_refuses_impossible_options(args, message, tmp_path):
    proc = run_cli(bin_path("cnn_train"), *args, cwd=tmp_path)
    assert proc.returncode == 2
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("framework", ["pytorch", "tensorflow"])
def test_cnn_train_checks_artifacts_folder_before_training(framework, tmp_path):
    (tmp_path / "blocked").write_text("a file where the artifacts folder should go")
    proc = run_cli(bin_path("cnn_train"), "--framework", framework, *QUICK, "--artifacts-dir", str(tmp_path / "blocked"), cwd=tmp_path)
    assert proc.returncode == 2
    assert "cannot write" in proc.stderr and "Traceback" not in proc.stderr
    assert "epoch" not in proc.stdout


@pytest.mark.parametrize("framework, other", [("pytorch", "tensorflow"), ("tensorflow", "torch")])
def test_importing_one_track_does_not_import_the_other(framework, other):
    code = f"import sys, cnn_tutorial.{framework}.inference, cnn_tutorial.{framework}.train; print({other!r} in sys.modules)"
    proc = run_cli(sys.executable, "-c", code)
    assert proc.stdout.strip().splitlines()[-1] == "False", proc.stderr
