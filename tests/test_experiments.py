"Experiments by configuration: other data sets (in their real formats), kernel sizes, blocks and pooling, in both frameworks."
import dataclasses
import json

import numpy as np
import pytest

from cnn_tutorial.common import data
from cnn_tutorial.commands.core import load_any_predictor
from cnn_tutorial.commands.train import train_main
from cnn_tutorial.common.data import DATASETS, DataFile
from conftest import STEMS, write_cifar_archive, write_idx_dataset


@pytest.fixture
def small_dataset(request, tmp_path, monkeypatch):
    "A small copy of the requested data set in its real format, registered with its own checksums and sizes."
    name = request.param
    folder = tmp_path / name; folder.mkdir()
    if name == "mnist":
        _, files = write_idx_dataset(folder, n_train=96, n_test=16, seed=3)
        files = tuple(DataFile(f.name, archive_md5=f.archive_md5) for f in files)
        monkeypatch.setitem(DATASETS, name, dataclasses.replace(DATASETS[name], files=files, train_size=96, test_size=16))
    else:
        _, _, files = write_cifar_archive(folder, per_batch=16, seed=3)
        monkeypatch.setitem(DATASETS, name, dataclasses.replace(DATASETS[name], files=files, train_size=80, test_size=16))
    monkeypatch.setattr(data, "DEBIAN_DATASETS_DIR", tmp_path / "debian")
    return name, folder


@pytest.mark.parametrize("framework", ["pytorch", "tensorflow"])
@pytest.mark.parametrize("small_dataset", ["mnist", "cifar10"], indirect=True)
def test_cnn_train_on_another_dataset_with_changed_architecture(framework, small_dataset, tmp_path, capsys):
    name, folder = small_dataset
    args = ["--framework", framework, "--dataset", name, "--data-dir", str(folder), "--epochs", "1", "--val-size", "16",
            "--batch-size", "16", "--kernel-size", "5", "--channels", "8", "16", "32", "--pooling", "avg", "--no-flip",
            "--no-progress", "--artifacts-dir", str(tmp_path / "runs")]
    assert train_main(args) == 0
    run_dir = tmp_path / "runs" / f"{framework}_cnn"
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["config"]["dataset"] == name and metrics["config"]["kernel_size"] == 5
    assert metrics["classes"] == list(DATASETS[name].classes)
    assert sum(map(sum, metrics["confusion_matrix"])) == 16
    predictor = load_any_predictor(run_dir)
    assert predictor.image_shape == DATASETS[name].image_shape
    images = np.random.default_rng(0).integers(0, 256, (4, *DATASETS[name].image_shape), dtype=np.uint8)
    logits = predictor.predict_logits(images)
    assert logits.shape == (4, 10)
    np.testing.assert_allclose(predictor.predict_logits(images.transpose(0, 3, 1, 2)), logits, rtol=1e-5, atol=1e-6)  # channels first
    with pytest.raises(ValueError, match="must be shaped"): predictor.predict(np.zeros((3, 20, 20)))


@pytest.mark.parametrize("framework", ["pytorch", "tensorflow"])
def test_unknown_dataset_or_pooling_is_refused(framework, capsys):
    for option, value, message in (("--dataset", "imagenet", "dataset must be one of fashion_mnist, mnist, cifar10"),
                                   ("--pooling", "min", "pooling must be one of max, avg"), ("--seed", "-1", "seed must be zero or positive")):
        with pytest.raises(SystemExit) as e: train_main(["--framework", framework, option, value])
        assert e.value.code == 2 and message in capsys.readouterr().err
