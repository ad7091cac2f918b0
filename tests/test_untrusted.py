"Files from elsewhere: a Keras model file carrying code is never deserialised, only cnn_tutorial weights files are read."
import os
import sys

import pytest
from PIL import Image

from conftest import bin_path, run_cli

MAKE_LAMBDA_MODEL = """
import os, sys, keras
from cnn_tutorial.tensorflow.config import tf
marker = sys.argv[1]
model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Lambda(lambda x: (open(marker, "w").close(), x)[1]),
                          keras.layers.Flatten(), keras.layers.Dense(10)])
model.save(sys.argv[2])
model.save_weights(sys.argv[3])
"""


@pytest.fixture(scope="module")
def lambda_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("untrusted")
    marker, keras_file, weights = d / "ran", d / "model.keras", d / "model.weights.h5"
    proc = run_cli(sys.executable, "-c", MAKE_LAMBDA_MODEL, str(marker), str(keras_file), str(weights))
    assert proc.returncode == 0, proc.stderr
    marker.unlink(missing_ok=True)  # building the model ran the lambda once; loading must not
    Image.new("L", (28, 28)).save(d / "x.png")
    return d, marker


@pytest.mark.parametrize("name, message", [("model.keras", "is not a checkpoint"),
                                           ("model.weights.h5", "not a cnn_tutorial TensorFlow checkpoint")])
def test_keras_files_with_code_are_refused_without_running_it(lambda_files, name, message):
    d, marker = lambda_files
    proc = run_cli(bin_path("cnn_predict"), str(d / name), str(d / "x.png"))
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr
    assert not marker.exists()
