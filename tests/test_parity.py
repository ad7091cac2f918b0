"Weight porting between the PyTorch and Keras models, both ways, on a non-default architecture with non-trivial batch-norm statistics."
import numpy as np
import pytest
import torch
from torch import nn

from cnn_tutorial.parity import (compare_logits, keras_model_from_torch_checkpoint, keras_to_torch, torch_to_keras,
                                 torch_model_from_keras_checkpoint, weight_table)
from cnn_tutorial.common.config import TrainConfig
from cnn_tutorial.pytorch.model import build_model as build_torch_model
from cnn_tutorial.pytorch.model import save_checkpoint as save_torch_checkpoint
from cnn_tutorial.pytorch.utils import count_parameters as count_torch_parameters
from cnn_tutorial.tensorflow.model import build_model as build_keras_model
from cnn_tutorial.tensorflow.model import save_checkpoint as save_keras_checkpoint
from cnn_tutorial.tensorflow.utils import count_parameters as count_keras_parameters

CONFIG = TrainConfig(channels=(8, 16, 32), kernel_size=5, hidden_units=32)
RTOL = 1e-4


@pytest.fixture(scope="module")
def images():
    "Random uint8 images, the form in which Fashion-MNIST arrives."
    return np.random.default_rng(0).integers(0, 256, (64, 28, 28), dtype=np.uint8)


def random_torch_model(config=CONFIG, seed=1):
    "A PyTorch model with random weights and random batch-norm statistics (not the initial zeros and ones)."
    torch.manual_seed(seed)
    model = build_torch_model(config)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5), m.bias.normal_(0, 0.5)
                m.running_mean.normal_(0, 0.5), m.running_var.uniform_(0.5, 2.0)
    return model


def random_keras_model(config=CONFIG, seed=2):
    "A Keras model with random weights and random batch-norm statistics."
    model = build_keras_model(config)
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if layer.name.endswith("_bn"):
            n = layer.gamma.shape[0]
            layer.gamma.assign(rng.uniform(0.5, 1.5, n).astype(np.float32))
            layer.beta.assign(rng.normal(0, 0.5, n).astype(np.float32))
            layer.moving_mean.assign(rng.normal(0, 0.5, n).astype(np.float32))
            layer.moving_variance.assign(rng.uniform(0.5, 2.0, n).astype(np.float32))
    return model


def state(model):
    "A PyTorch model's weights and statistics as NumPy arrays."
    return {k: v.detach().cpu().numpy().copy() for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}


def assert_parity(report, n):
    assert report["images"] == n
    assert report["max_rel_diff"] <= RTOL, report
    assert report["classes_agree"] and report["disagreements"] == 0, report


def test_same_parameter_count_and_every_weight_paired():
    torch_model, keras_model = build_torch_model(CONFIG), build_keras_model(CONFIG)
    assert count_torch_parameters(torch_model) == count_keras_parameters(keras_model)
    table = weight_table(torch_model, keras_model)
    assert len(table) == 3 * (2 + 4) + 2 * 2
    assert table[0] == ("features.0.0.weight", (8, 1, 5, 5), "block1_conv.kernel", (5, 5, 1, 8))
    assert ("classifier.1.weight", (32, 32 * 3 * 3), "dense.kernel", (32 * 3 * 3, 32)) in table


def test_torch_to_keras(images):
    torch_model = random_torch_model()
    keras_model = torch_to_keras(torch_model, build_keras_model(CONFIG))
    assert_parity(compare_logits(torch_model, keras_model, images), len(images))
    bn = keras_model.get_layer("block2_bn")
    np.testing.assert_array_equal(np.asarray(bn.moving_variance), torch_model.features[1][2].running_var.numpy())


def test_keras_to_torch(images):
    keras_model = random_keras_model()
    torch_model = keras_to_torch(keras_model, build_torch_model(CONFIG))
    assert_parity(compare_logits(torch_model, keras_model, images), len(images))
    np.testing.assert_array_equal(torch_model.features[2][2].running_mean.numpy(), np.asarray(keras_model.get_layer("block3_bn").moving_mean))


def test_the_logits_differ_before_porting(images):
    "The check can fail: two independently initialised models disagree."
    report = compare_logits(random_torch_model(), random_keras_model(), images)
    assert report["max_rel_diff"] > 0.01, report


def test_round_trip_is_exact():
    torch_model = random_torch_model()
    back = keras_to_torch(torch_to_keras(torch_model, build_keras_model(CONFIG)), random_torch_model(seed=3))
    before, after = state(torch_model), state(back)
    assert before.keys() == after.keys()
    for k in before: np.testing.assert_array_equal(after[k], before[k], err_msg=k)


def test_ported_model_leaves_training_mode_alone(images):
    torch_model = random_torch_model().train()
    compare_logits(torch_model, torch_to_keras(torch_model, build_keras_model(CONFIG)), images[:4])
    assert torch_model.training


def test_comparison_runs_in_float32_without_changing_the_model(images):
    torch_model = random_torch_model()
    keras_model = torch_to_keras(torch_model, build_keras_model(CONFIG))
    assert_parity(compare_logits(torch_model.double(), keras_model, images), len(images))
    assert next(torch_model.parameters()).dtype == torch.float64


@pytest.mark.parametrize("other, layer", [
    (TrainConfig(channels=(8, 16), kernel_size=5, hidden_units=32), "block3_conv"),
    (TrainConfig(channels=(8, 16, 32), kernel_size=3, hidden_units=32), "block1_conv"),
    (TrainConfig(channels=(8, 24, 32), kernel_size=5, hidden_units=32), "block2_conv"),
    (TrainConfig(channels=(8, 16, 32), kernel_size=5, hidden_units=64), "dense"),
    (TrainConfig(channels=(8, 16, 32), kernel_size=5, hidden_units=32, bn_eps=1e-3), "block1_bn"),
], ids=["blocks", "kernel", "channels", "hidden", "epsilon"])
def test_mismatched_architectures_are_refused_both_ways(other, layer):
    torch_model, keras_model = random_torch_model(), build_keras_model(other)
    keras_before = [w.copy() for w in keras_model.get_weights()]
    with pytest.raises(ValueError, match=layer): torch_to_keras(torch_model, keras_model)
    assert all(np.array_equal(a, b) for a, b in zip(keras_before, keras_model.get_weights())), "a refused port changed weights"
    torch_before = state(torch_model)
    with pytest.raises(ValueError, match=layer): keras_to_torch(keras_model, torch_model)
    assert all(np.array_equal(v, state(torch_model)[k]) for k, v in torch_before.items()), "a refused port changed weights"


def test_different_pooling_is_refused():
    torch_model = random_torch_model()
    torch_model.features[1][3] = nn.AvgPool2d(2)
    with pytest.raises(ValueError, match="block2_pool"): torch_to_keras(torch_model, build_keras_model(CONFIG))


def test_bad_images_are_refused():
    torch_model = random_torch_model()
    keras_model = torch_to_keras(torch_model, build_keras_model(CONFIG))
    with pytest.raises(ValueError, match="images must be"): compare_logits(torch_model, keras_model, np.zeros((2, 2, 2, 28, 28)))


def test_checkpoints_convert_both_ways(tmp_path, images):
    torch_model = random_torch_model()
    save_torch_checkpoint(tmp_path / "model.pt", torch_model, CONFIG, epoch=1, val_accuracy=0.5)
    keras_model, config = keras_model_from_torch_checkpoint(tmp_path / "model.pt")
    assert config == CONFIG
    assert_parity(compare_logits(torch_model, keras_model, images), len(images))

    keras_model = random_keras_model()
    save_keras_checkpoint(tmp_path / "model.weights.h5", keras_model, CONFIG, epoch=1, val_accuracy=0.5)
    torch_model, config = torch_model_from_keras_checkpoint(tmp_path / "model.weights.h5")
    assert config == CONFIG
    assert_parity(compare_logits(torch_model, keras_model, images), len(images))


@pytest.mark.parametrize("framework", ["pytorch", "tensorflow"])
def test_a_run_trained_from_scratch_ports_both_ways(framework, tmp_path):
    "One real epoch on a slice, then its checkpoint ported to the other framework and back: the same logits and classes."
    from cnn_tutorial.common.config import notebook_config
    from cnn_tutorial.common.data import load_splits
    from cnn_tutorial.pytorch.model import load_checkpoint as load_torch_checkpoint
    from cnn_tutorial.pytorch.model import model_from_checkpoint as torch_model_from_checkpoint
    from cnn_tutorial.tensorflow.model import load_checkpoint as load_keras_checkpoint
    from cnn_tutorial.tensorflow.model import model_from_checkpoint as keras_model_from_checkpoint
    train = __import__(f"cnn_tutorial.{framework}.train", fromlist=["train"]).train
    run = train(notebook_config(epochs=1, artifacts_dir=str(tmp_path), progress=False))
    images = load_splits(max_images=512)["test"][0][..., 0]
    if framework == "pytorch":
        checkpoint = tmp_path / "pytorch_cnn" / "model.pt"
        trained, _ = torch_model_from_checkpoint(load_torch_checkpoint(checkpoint), checkpoint)
        ported, _ = keras_model_from_torch_checkpoint(checkpoint)
        assert_parity(compare_logits(trained, ported, images), len(images))
        back = keras_to_torch(ported, build_torch_model(TrainConfig.from_dict(run["config"])))
        assert all(np.array_equal(a, b) for a, b in zip(state(trained).values(), state(back).values()))
    else:
        checkpoint = tmp_path / "tensorflow_cnn" / "model.weights.h5"
        trained, _ = keras_model_from_checkpoint(load_keras_checkpoint(checkpoint))
        ported, _ = torch_model_from_keras_checkpoint(checkpoint)
        assert_parity(compare_logits(ported, trained, images), len(images))
        back = torch_to_keras(ported, build_keras_model(TrainConfig.from_dict(run["config"])))
        assert all(np.array_equal(a, b) for a, b in zip(trained.get_weights(), back.get_weights()))
    variance = state(trained)["features.0.2.running_var"] if framework == "pytorch" else \
        trained.get_layer("block1_bn").moving_variance.numpy()
    assert not np.allclose(variance, 1)  # statistics learnt from the data, which a port must carry
