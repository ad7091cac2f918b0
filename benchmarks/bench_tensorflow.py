"""TensorFlow/Keras measurements: matrix products, the plain tutorial baseline, the package's training path, the default recipe and inference.

The baseline and the package run in separate processes: whether TensorFlow uses oneDNN is fixed when it is imported, and
the package switches it on, whereas a plain script gets TensorFlow's own default (see `run.py`).
"""
from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np

from cnn_tutorial.tensorflow.config import arithmetic_name, get_device, precision_policy, tf  # sets TF_ENABLE_ONEDNN_OPTS=1 unless TensorFlow is already loaded
import keras

from cnn_tutorial.common.config import TrainConfig
from cnn_tutorial.common.data import load_dataset, splits_for
from cnn_tutorial.tensorflow import train as train_module
from cnn_tutorial.tensorflow.data import make_dataset, steps_per_epoch
from cnn_tutorial.tensorflow.engine import compile_model, evaluate, one_cycle_schedule
from cnn_tutorial.tensorflow.inference import load_predictor
from cnn_tutorial.tensorflow.model import build_model

import bench_common as bc


def onednn_enabled() -> bool | None:
    "Whether this TensorFlow process runs with oneDNN (None if TensorFlow does not say)."
    try:
        from tensorflow.python.util import _pywrap_util_port
        return bool(_pywrap_util_port.IsMklEnabled())
    except (ImportError, AttributeError): return None


def forward_macs(model: keras.Model) -> int:
    "Multiply-adds of the convolution and dense layers of `model` for one image."
    macs = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D): macs += math.prod(layer.output.shape[1:3]) * math.prod(layer.kernel.shape)
        elif isinstance(layer, keras.layers.Dense): macs += math.prod(layer.kernel.shape)
    return macs


MATMUL_DTYPES = {"float32": tf.float32, "bfloat16": tf.bfloat16}


def tf_matmul(s: bc.Settings, arithmetic: str = "float32") -> dict:
    "GFLOP/s of a matrix product with `tf.linalg.matmul` in `arithmetic` (`'float32'` or `'bfloat16'`; eager, synchronous on the CPU)."
    a, b = (tf.cast(tf.random.normal((s.matmul_size, s.matmul_size)), MATMUL_DTYPES[arithmetic]) for _ in range(2))
    return {**bc.matmul_gflops(lambda: tf.linalg.matmul(a, b), s.matmul_size, s.matmul_repeats), "arithmetic": arithmetic}


class StepClock(keras.callbacks.Callback):
    "Records the time at the end of each training batch Keras reports."
    def __init__(self):
        super().__init__()
        self.marks = []

    def on_train_batch_end(self, batch, logs=None):
        self.marks.append((batch, time.perf_counter()))

    def timed_window(self, warmup_steps: int) -> tuple[int, float]:
        "(steps, seconds) from the first mark at or after the warm-up to the last mark."
        start = next(m for m in self.marks if m[0] >= warmup_steps - 1)
        end = self.marks[-1]
        return end[0] - start[0], end[1] - start[1]


def time_fit(model: keras.Model, dataset: tf.data.Dataset, batch_size: int, s: bc.Settings, flop: float) -> dict:
    "Throughput of `model.fit` on `dataset` (repeated) over the warm-up and the timed steps."
    clock, steps = StepClock(), s.timed_images // batch_size
    model.fit(dataset.repeat(), epochs=1, steps_per_epoch=s.warmup_steps + steps, verbose=0, shuffle=False, callbacks=[clock])
    timed_steps, seconds = clock.timed_window(s.warmup_steps)
    return {**bc.throughput(timed_steps * batch_size, seconds, flop), "batch_size": batch_size, "steps": timed_steps}


def plain_dataset(images: np.ndarray, labels: np.ndarray) -> tf.data.Dataset:
    "The tutorial's pipeline: uint8 images normalised one by one in `map`, shuffled, batches of 64, prefetched."
    def normalise(image, label):
        image = tf.cast(image, tf.float32) / 255.0
        return (image - 0.5) / 0.5, label
    ds = tf.data.Dataset.from_tensor_slices((images, labels.astype(np.int64))).shuffle(len(labels))
    return ds.map(normalise, num_parallel_calls=tf.data.AUTOTUNE).batch(bc.PLAIN_BATCH_SIZE).prefetch(tf.data.AUTOTUNE)


def time_plain_training(s: bc.Settings, flop: float) -> dict:
    "Throughput of the tutorial's `model.fit`: the same network, Adam 1e-3, on the plain pipeline over all 60,000 training images."
    data = load_dataset("fashion_mnist", s.data_dir or None, download=False)
    model = build_model(TrainConfig())
    model.compile(optimizer=keras.optimizers.Adam(bc.PLAIN_LEARNING_RATE),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    return {**time_fit(model, plain_dataset(data["train_images"], data["train_labels"]), bc.PLAIN_BATCH_SIZE, s, flop), "arithmetic": "float32"}


def time_package_training(s: bc.Settings, flop: float) -> dict:
    "Throughput of the package's training path as `train` builds it: `make_dataset` over all epochs, model, `compile_model`, `fit`."
    config = TrainConfig(progress=False, data_dir=s.data_dir)
    keras.utils.set_random_seed(config.seed)
    images, labels = splits_for(config)["train"]
    steps = steps_per_epoch(len(labels), config.batch_size)
    train = make_dataset(images, labels, config.batch_size, shuffle=True, seed=config.seed, flip=config.flip, epochs=config.epochs)
    policy = precision_policy(config.precision, get_device(config.device))
    model = build_model(config, dtype=policy)
    compile_model(model, config, one_cycle_schedule(config, steps))
    return {**time_fit(model, train, config.batch_size, s, flop), "arithmetic": arithmetic_name(policy)}


def test_scorer(config: TrainConfig):
    "A function giving a model's accuracy on the test split, with the package's pipeline and `evaluate`."
    images, labels = splits_for(config)["test"]
    dataset = make_dataset(images, labels, train_module.EVAL_BATCH_SIZE)
    return lambda model: evaluate(model, dataset)["accuracy"]


def recipe(s: bc.Settings, artifacts_dir: str, changes: dict | None = None) -> tuple[dict, str]:
    "Run the default recipe (shortened in quick mode), or the default config with `changes`, into `artifacts_dir`; (its summary, the run folder holding its checkpoint)."
    overrides = changes or ({"epochs": s.recipe_epochs} if s.recipe_epochs else {})
    config = TrainConfig(artifacts_dir=artifacts_dir, progress=False, data_dir=s.data_dir, **overrides)
    metrics, summary = bc.run_recipe(train_module, config, test_scorer(config))
    return summary, str(metrics["run_dir"])


def inference(s: bc.Settings, run_dir: str) -> dict:
    "Batch and single-image timings of `load_predictor(run_dir).predict` on the test images."
    images, labels = splits_for(TrainConfig(data_dir=s.data_dir))["test"]
    return bc.measure_inference(load_predictor(run_dir), images, labels, s)


def describe() -> dict:
    "Versions and threading of this TensorFlow process."
    return {"framework": "tensorflow", "onednn": onednn_enabled(), "devices": [d.name for d in tf.config.list_logical_devices()],
            "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
            "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
            "versions": {"tensorflow": tf.__version__, "keras": keras.__version__, "numpy": np.__version__}}


def flops_per_image() -> dict:
    "FLOP of one training image for the default network, counted on the Keras model."
    return bc.flop_counts(forward_macs(build_model(TrainConfig())))


def run_baseline(s: bc.Settings) -> dict:
    "The baseline's measurements, as a JSON-ready dict."
    flop = flops_per_image()
    result = {**describe(), "flop_per_image": flop, "baseline": time_plain_training(s, flop["training_flop"])}
    print(f"[tensorflow baseline] {result['baseline']['images_per_second']:.0f} images/s (oneDNN {result['onednn']})", flush=True)
    return result


def run(s: bc.Settings, recipe_dir: str | None = None, predictor: str | None = None) -> dict:
    """One round of the measurements of the package's TensorFlow track, as a JSON-ready dict: the float32 and bfloat16
    matrix products, the package's training path, the default recipe when `recipe_dir` is given (it trains there), and
    inference on the checkpoint in the run folder `predictor` (or the one the recipe just wrote)."""
    flop = flops_per_image()
    result = {**describe(), "flop_per_image": flop, "matmuls": {a: tf_matmul(s, a) for a in MATMUL_DTYPES}}
    print("[tensorflow] matmul: " + ", ".join(f"{a} {m['gflops']:.1f} GFLOP/s" for a, m in result["matmuls"].items())
          + f" (oneDNN {result['onednn']})", flush=True)
    result["package"] = time_package_training(s, flop["training_flop"])
    print(f"[tensorflow] package: {result['package']['images_per_second']:.0f} images/s", flush=True)
    if recipe_dir: result["recipe"], predictor = recipe(s, recipe_dir); result["recipe_run_dir"] = predictor
    if recipe_dir and s.mode == "full": result["short_recipe"] = recipe(s, str(Path(recipe_dir) / "short"), bc.SHORT_RECIPE)[0]
    if predictor:
        result["inference"] = inference(s, predictor)
        print(f"[tensorflow] predict: {result['inference']['images_per_second']:.0f} images/s, "
              f"one image {result['inference']['single_median_ms']:.2f} ms", flush=True)
    return result
