"The prediction contract, the same for both frameworks: accepted forms, outputs, and refused images."
import importlib

import numpy as np
import pytest
from PIL import Image

from cnn_tutorial.common.config import TrainConfig
from cnn_tutorial.common.data import scale_pixels

SMALL = TrainConfig(channels=(4, 8), hidden_units=16)
CHECKPOINTS = {"pytorch": "model.pt", "tensorflow": "model.weights.h5"}


def track(framework):
    "The framework's `build_model`, `save_checkpoint` and `load_predictor`."
    return (importlib.import_module(f"cnn_tutorial.{framework}.model").build_model,
            importlib.import_module(f"cnn_tutorial.{framework}.model").save_checkpoint,
            importlib.import_module(f"cnn_tutorial.{framework}.inference").load_predictor)


@pytest.fixture(scope="module", params=["pytorch", "tensorflow"])
def predictor(request, tmp_path_factory):
    "A predictor of each framework, on a small untrained model saved and loaded as a checkpoint."
    build_model, save_checkpoint, load_predictor = track(request.param)
    path = tmp_path_factory.mktemp(request.param) / CHECKPOINTS[request.param]
    save_checkpoint(path, build_model(SMALL), SMALL, epoch=1, val_accuracy=0.1)
    return load_predictor(path)


@pytest.mark.parametrize("framework", ["pytorch", "tensorflow"])
def test_checkpoint_whose_config_does_not_match_its_weights_is_refused(framework, tmp_path):
    build_model, save_checkpoint, load_predictor = track(framework)
    path = tmp_path / CHECKPOINTS[framework]
    save_checkpoint(path, build_model(SMALL), SMALL.replace(hidden_units=32), epoch=1, val_accuracy=0.1)
    with pytest.raises(ValueError, match="do not match the model its config describes"): load_predictor(path)


@pytest.mark.parametrize("framework, other", [("pytorch", "tensorflow"), ("tensorflow", "pytorch")])
def test_other_frameworks_checkpoint_is_refused(framework, other, tmp_path):
    path = tmp_path / CHECKPOINTS[other]
    path.write_bytes(b"")
    with pytest.raises(ValueError, match=f"is a {other} checkpoint, not a {framework} one"): track(framework)[2](path)


def test_outputs_have_the_documented_types(predictor):
    x = np.random.default_rng(0).integers(0, 256, (7, 28, 28), dtype=np.uint8)
    assert predictor.predict(x).dtype == np.int64 and predictor.predict(x).shape == (7,)
    proba = predictor.predict_proba(x)
    assert proba.shape == (7, 10) and np.allclose(proba.sum(1), 1, atol=1e-5)
    assert np.array_equal(proba.argmax(1), predictor.predict(x))
    assert len(predictor.classes) == 10 and predictor.classes[9] == "Ankle boot"


def test_every_accepted_form_gives_the_same_logits(predictor, tmp_path):
    x = np.random.default_rng(1).integers(0, 256, (3, 28, 28), dtype=np.uint8)
    paths = [tmp_path / f"{i}.png" for i in range(3)]
    for p, image in zip(paths, x): Image.fromarray(image).save(p)
    reference = predictor.predict_logits(x)
    for form in (x.astype(np.float32), x.astype(np.float64), x[:, None], x[..., None], [Image.fromarray(i) for i in x],
                 paths, [str(p) for p in paths]):
        np.testing.assert_allclose(predictor.predict_logits(form), reference, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(predictor.predict_logits(x[0]), reference[:1], rtol=1e-5, atol=1e-6)


def test_inputs_are_normalised_as_in_training(predictor):
    x = np.random.default_rng(2).integers(0, 256, (2, 28, 28), dtype=np.uint8)
    np.testing.assert_allclose(predictor.predict_logits(x), predictor.logits(scale_pixels(x)[..., None]), rtol=1e-6, atol=1e-6)  # logits near 0 differ by rounding
    assert scale_pixels(np.array([0, 255])).tolist() == [-1.0, 1.0]


@pytest.mark.parametrize("images, message", [
    (np.zeros((2, 3, 28, 28)), "1 channel"),
    (np.zeros((2, 28, 28, 3)), "1 channel"),
    (np.zeros((28, 28, 3)), "1 channel"),
    (np.zeros((28,)), "must be shaped"),
    (np.zeros((4, 27, 28)), "must be shaped"),
    (np.full((1, 28, 28), np.nan), "NaN or infinite"),
    (np.full((1, 28, 28), np.inf), "NaN or infinite"),
    (np.full((1, 28, 28), 256.0), "[0, 255]"),
    (np.full((1, 28, 28), -0.5), "[0, 255]"),
    (np.zeros((0, 28, 28)), "empty batch"),
    ([], "empty batch"),
    (np.zeros((28, 28), dtype=bool), "must be numbers"),
    (np.array([["a"] * 28] * 28), "must be numbers"),
    ([np.zeros((28, 28)), np.zeros((14, 14))], "different shapes"),
    (Image.new("I;16", (28, 28)), "I;16 pixels"),
])
def test_bad_images_are_refused_with_the_reason(predictor, images, message):
    with pytest.raises(ValueError) as e: predictor.predict(images)
    assert message in str(e.value)
