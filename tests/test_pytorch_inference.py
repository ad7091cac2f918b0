"PyTorch checkpoints: unsafe, damaged, mismatched or foreign files are refused (the shared contract is in test_inference_contract.py)."
import os

import pytest
import torch

from cnn_tutorial.common.config import TrainConfig
from cnn_tutorial.pytorch.inference import load_predictor
from cnn_tutorial.pytorch.model import build_model
from cnn_tutorial.pytorch.model import save_checkpoint

SMALL = TrainConfig(channels=(4, 8), hidden_units=16)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("ckpt") / "model.pt"
    save_checkpoint(path, build_model(SMALL), SMALL, epoch=1, val_accuracy=0.1)
    return path


class RunsCode:
    "An object whose unpickling would run a shell command."
    def __reduce__(self): return (os.system, (f"touch {os.environ['CNN_TUTORIAL_PWNED']}",))


def test_checkpoint_that_would_run_code_is_refused(tmp_path, monkeypatch):
    marker = tmp_path / "pwned"
    monkeypatch.setenv("CNN_TUTORIAL_PWNED", str(marker))
    path = tmp_path / "model.pt"
    torch.save({"framework": "pytorch", "config": SMALL.to_dict(), "model_state": RunsCode()}, path)
    with pytest.raises(ValueError, match="refused as unsafe: it would import"): load_predictor(path)
    assert not marker.exists()


def test_truncated_checkpoint_is_refused(checkpoint, tmp_path):
    path = tmp_path / "model.pt"
    path.write_bytes(checkpoint.read_bytes()[: checkpoint.stat().st_size // 2])
    with pytest.raises(ValueError, match="damaged or not a PyTorch checkpoint"): load_predictor(path)


def test_checkpoint_with_unknown_config_keys_is_refused(checkpoint, tmp_path):
    ckpt = torch.load(checkpoint, weights_only=True)
    ckpt["config"]["lerning_rate"] = 0.1
    torch.save(ckpt, tmp_path / "model.pt")
    with pytest.raises(ValueError, match="unknown configuration keys: lerning_rate"): load_predictor(tmp_path / "model.pt")
