"TensorFlow checkpoints: damaged, mismatched or foreign files are refused (the shared contract is in test_inference_contract.py)."
import h5py
import pytest

from cnn_tutorial.common.config import TrainConfig
from cnn_tutorial.tensorflow.config import tf
from cnn_tutorial.tensorflow.inference import load_predictor
from cnn_tutorial.tensorflow.model import build_model
from cnn_tutorial.tensorflow.model import METADATA_ATTR, save_checkpoint

SMALL = TrainConfig(channels=(4, 8), hidden_units=16)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    tf.random.set_seed(0)
    path = tmp_path_factory.mktemp("ckpt") / "model.weights.h5"
    save_checkpoint(path, build_model(SMALL), SMALL, epoch=1, val_accuracy=0.1)
    return path


def test_truncated_checkpoint_is_refused(checkpoint, tmp_path):
    path = tmp_path / "model.weights.h5"
    path.write_bytes(checkpoint.read_bytes()[: checkpoint.stat().st_size // 2])
    with pytest.raises(ValueError, match="damaged or not an HDF5 checkpoint"): load_predictor(path)


def test_weights_file_without_metadata_is_refused(tmp_path):
    path = tmp_path / "model.weights.h5"
    build_model(SMALL).save_weights(path)  # a plain Keras file: no config to rebuild the model from
    with pytest.raises(ValueError, match="not a cnn_tutorial TensorFlow checkpoint"): load_predictor(path)


def test_checkpoint_with_unknown_config_keys_is_refused(checkpoint, tmp_path):
    import json, shutil
    path = tmp_path / "model.weights.h5"
    shutil.copy(checkpoint, path)
    with h5py.File(path, "a") as f:
        meta = json.loads(f.attrs[METADATA_ATTR]); meta["config"]["lerning_rate"] = 0.1
        f.attrs[METADATA_ATTR] = json.dumps(meta)
    with pytest.raises(ValueError, match="unknown configuration keys: lerning_rate"): load_predictor(path)
