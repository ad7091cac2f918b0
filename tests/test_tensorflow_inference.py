"The TensorFlow prediction contract: the PyTorch track's contract, and damaged or foreign checkpoints."
import h5py
import numpy as np
import pytest
from PIL import Image

from cnn_tutorial.common.config import TrainConfig
from cnn_tutorial.tensorflow.config import tf
from cnn_tutorial.tensorflow.inference import load_predictor
from cnn_tutorial.tensorflow.model import build_model
from cnn_tutorial.tensorflow.train import METADATA_ATTR, save_checkpoint

SMALL = TrainConfig(channels=(4, 8), hidden_units=16)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    tf.random.set_seed(0)
    path = tmp_path_factory.mktemp("ckpt") / "model.weights.h5"
    save_checkpoint(path, build_model(SMALL), SMALL, epoch=1, val_accuracy=0.1)
    return path


@pytest.fixture(scope="module")
def predictor(checkpoint):
    return load_predictor(checkpoint)


def test_outputs_have_the_documented_types(predictor):
    x = np.random.default_rng(0).integers(0, 256, (7, 28, 28), dtype=np.uint8)
    assert predictor.predict(x).dtype == np.int64 and predictor.predict(x).shape == (7,)
    proba = predictor.predict_proba(x)
    assert proba.shape == (7, 10) and np.allclose(proba.sum(1), 1, atol=1e-5)
    assert len(predictor.classes) == 10 and predictor.classes[9] == "Ankle boot"


def test_every_accepted_form_gives_the_same_logits(predictor, tmp_path):
    x = np.random.default_rng(1).integers(0, 256, (3, 28, 28), dtype=np.uint8)
    paths = [tmp_path / f"{i}.png" for i in range(3)]
    for p, image in zip(paths, x): Image.fromarray(image).save(p)
    reference = predictor.predict_logits(x)
    for form in (x.astype(np.float32), x.astype(np.float64), x[:, None], x[..., None], [Image.fromarray(i) for i in x], paths):
        np.testing.assert_allclose(predictor.predict_logits(form), reference, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(predictor.predict_logits(x[0]), reference[:1], rtol=1e-5, atol=1e-6)


def test_inputs_are_normalised_as_in_training(predictor):
    x = np.random.default_rng(2).integers(0, 256, (2, 28, 28), dtype=np.uint8)
    expected = predictor.model((x / 127.5 - 1).astype(np.float32)[..., None], training=False).numpy()
    np.testing.assert_allclose(predictor.predict_logits(x), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("images, message", [
    (np.zeros((2, 3, 28, 28)), "1 channel"),
    (np.zeros((2, 28, 28, 3)), "1 channel"),
    (np.zeros((4, 27, 28)), "must be shaped"),
    (np.full((1, 28, 28), np.nan), "NaN or infinite"),
    (np.full((1, 28, 28), 256.0), "[0, 255]"),
    (np.zeros((0, 28, 28)), "empty batch"),
    (np.zeros((28, 28), dtype=bool), "must be numbers"),
])
def test_bad_images_are_refused_with_the_reason(predictor, images, message):
    with pytest.raises(ValueError) as e: predictor.predict(images)
    assert message in str(e.value)


def test_truncated_checkpoint_is_refused(checkpoint, tmp_path):
    path = tmp_path / "model.weights.h5"
    path.write_bytes(checkpoint.read_bytes()[: checkpoint.stat().st_size // 2])
    with pytest.raises(ValueError, match="damaged or not an HDF5 checkpoint"): load_predictor(path)


def test_weights_file_without_metadata_is_refused(tmp_path):
    path = tmp_path / "model.weights.h5"
    build_model(SMALL).save_weights(path)  # a plain Keras file: no config to rebuild the model from
    with pytest.raises(ValueError, match="not a cnn_tutorial TensorFlow checkpoint"): load_predictor(path)


def test_checkpoint_whose_config_does_not_match_its_weights_is_refused(tmp_path):
    path = tmp_path / "model.weights.h5"
    save_checkpoint(path, build_model(SMALL), SMALL.replace(hidden_units=32), epoch=1, val_accuracy=0.1)
    with pytest.raises(ValueError, match="do not match the model its config describes"): load_predictor(path)


def test_checkpoint_with_unknown_config_keys_is_refused(checkpoint, tmp_path):
    import json, shutil
    path = tmp_path / "model.weights.h5"
    shutil.copy(checkpoint, path)
    with h5py.File(path, "a") as f:
        meta = json.loads(f.attrs[METADATA_ATTR]); meta["config"]["lerning_rate"] = 0.1
        f.attrs[METADATA_ATTR] = json.dumps(meta)
    with pytest.raises(ValueError, match="unknown configuration keys: lerning_rate"): load_predictor(path)


def test_other_frameworks_checkpoint_is_refused(tmp_path):
    (tmp_path / "model.pt").write_bytes(b"")
    with pytest.raises(ValueError, match="is a pytorch checkpoint, not a tensorflow one"): load_predictor(tmp_path / "model.pt")
