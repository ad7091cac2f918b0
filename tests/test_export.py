"`cnn_export` end to end: each framework's ONNX file, run by onnxruntime in a fresh process, against the framework itself on the 10,000 Fashion-MNIST test images."
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest

from conftest import bin_path, run_cli

ROOT = Path(__file__).resolve().parents[1]
RUNS = {"pytorch": ROOT / "artifacts" / "pytorch_cnn", "tensorflow": ROOT / "artifacts" / "tensorflow_cnn"}
RTOL = 1e-4

FRAMEWORK_LOGITS = """
import sys
import numpy as np
from cnn_tutorial.common.data import load_splits
from cnn_tutorial.{framework}.inference import load_predictor
images, labels = load_splits()["test"]
np.save(sys.argv[2], load_predictor(sys.argv[1]).predict_logits(images))
np.save(sys.argv[3], labels)
"""

ONNX_LOGITS = """
import sys
import numpy as np
from cnn_tutorial.common.data import load_splits
from cnn_tutorial.common.onnx import load_onnx_predictor
images, _ = load_splits()["test"]
np.save(sys.argv[2], load_onnx_predictor(sys.argv[1]).predict_logits(images))
assert "torch" not in sys.modules and "tensorflow" not in sys.modules, "onnxruntime alone must run an export"
"""

PORTED_EXPORT = """
import sys
from cnn_tutorial.parity import keras_model_from_torch_checkpoint
from cnn_tutorial.common.onnx import onnx_metadata, write_onnx_metadata
from cnn_tutorial.pytorch.model import load_checkpoint
from cnn_tutorial.tensorflow.inference import export_onnx_model
from cnn_tutorial.tensorflow.utils import count_parameters
checkpoint, out = sys.argv[1], sys.argv[2]
model, config = keras_model_from_torch_checkpoint(checkpoint)
export_onnx_model(model, (28, 28, 1), out)
write_onnx_metadata(out, onnx_metadata("tensorflow", load_checkpoint(checkpoint)["classes"], config, count_parameters(model), checkpoint))
"""


def run_python(code, *args):
    "Run `code` in a new Python process with `args`, failing the test with its error output if it fails."
    result = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True, timeout=600,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert result.returncode == 0, result.stderr[-3000:]


def relative_difference(a, b):
    "Per row: the largest |a − b| over the largest magnitude in that row of `a` or `b`."
    return np.abs(a - b).max(1) / np.maximum(np.abs(a).max(1), np.abs(b).max(1))


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    "Each framework's reference checkpoint exported with `cnn_export`, as {framework: ONNX path}."
    out = tmp_path_factory.mktemp("onnx")
    paths = {}
    for framework, run in RUNS.items():
        paths[framework] = out / f"{framework}.onnx"
        result = run_cli(bin_path("cnn_export"), str(run), "--format", "onnx", "-o", str(paths[framework]))
        assert result.returncode == 0, result.stderr
        assert f"wrote {paths[framework]}" in result.stdout
    assert sorted(p.name for p in out.iterdir()) == ["pytorch.onnx", "tensorflow.onnx"]  # no temporary file left behind
    return paths


@pytest.mark.parametrize("framework", ["pytorch", "tensorflow"])
def test_onnx_matches_framework_on_test_set(framework, exported, tmp_path):
    "onnxruntime's logits on the 10,000 test images lie within 1e-4 relative of the framework's, with identical classes."
    run_python(FRAMEWORK_LOGITS.format(framework=framework), RUNS[framework], tmp_path / "framework.npy", tmp_path / "labels.npy")
    run_python(ONNX_LOGITS, exported[framework], tmp_path / "onnx.npy")
    expected, got, labels = (np.load(tmp_path / f) for f in ("framework.npy", "onnx.npy", "labels.npy"))
    assert got.shape == expected.shape == (10_000, 10)
    assert relative_difference(got, expected).max() < RTOL
    np.testing.assert_array_equal(got.argmax(1), expected.argmax(1))
    recorded = json.loads((RUNS[framework] / "metrics.json").read_text())["test_accuracy"]
    assert (got.argmax(1) == labels).mean() == pytest.approx(recorded, abs=1e-9)


@pytest.mark.parametrize("framework", ["pytorch", "tensorflow"])
def test_onnx_metadata_carries_the_contract(framework, exported):
    "The file names its classes, input layout, pixel range and scaling, and the checkpoint it came from."
    props = {p.key: p.value for p in onnx.load(exported[framework]).metadata_props}
    metrics = json.loads((RUNS[framework] / "metrics.json").read_text())
    assert json.loads(props["classes"]) == metrics["classes"]
    assert (props["input_layout"], json.loads(props["input_shape"]), props["input_range"]) == ("NHWC", [None, 28, 28, 1], "[0, 255] raw pixels")
    assert "[-1, 1]" in props["preprocessing"] and props["framework"] == framework
    assert int(props["parameter_count"]) == metrics["parameter_count"] == 421_834
    assert json.loads(props["config"])["dataset"] == "fashion_mnist"
    assert len(props["source_sha256"]) == 64


def test_ported_weights_export_the_same_model(exported, tmp_path):
    "The PyTorch checkpoint ported to Keras and exported by tf2onnx gives the logits of its own PyTorch export."
    ported = tmp_path / "ported.onnx"
    run_python(PORTED_EXPORT, RUNS["pytorch"] / "model.pt", ported)
    run_python(ONNX_LOGITS, exported["pytorch"], tmp_path / "torch.npy")
    run_python(ONNX_LOGITS, ported, tmp_path / "ported.npy")
    from_torch, from_keras = np.load(tmp_path / "torch.npy"), np.load(tmp_path / "ported.npy")
    assert relative_difference(from_keras, from_torch).max() < RTOL
    np.testing.assert_array_equal(from_keras.argmax(1), from_torch.argmax(1))
    assert {p.key: p.value for p in onnx.load(ported).metadata_props}["framework"] == "tensorflow"


def test_export_refuses_what_is_not_a_checkpoint(tmp_path):
    "A missing checkpoint or an unknown format ends with a one-line message and exit code 2."
    missing = run_cli(bin_path("cnn_export"), str(tmp_path / "missing.pt"), "-o", str(tmp_path / "x.onnx"))
    assert (missing.returncode, missing.stderr.strip()) == (2, f"cnn_export: error: checkpoint not found: {tmp_path / 'missing.pt'}")
    unknown = run_cli(bin_path("cnn_export"), str(RUNS["pytorch"]), "--format", "tflite", "-o", str(tmp_path / "x.tflite"))
    assert unknown.returncode == 2 and "invalid choice: 'tflite'" in unknown.stderr
    assert not (tmp_path / "x.onnx").exists()
