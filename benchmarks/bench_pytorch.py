"""PyTorch measurements: matrix products, the plain tutorial baseline, the package's training path, the default recipe and inference."""
from __future__ import annotations

import itertools
import math
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torchvision
from torch import nn
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

from cnn_tutorial.common.config import TrainConfig
from cnn_tutorial.common.data import IDX_STEMS, dataset_spec, find_file, locate_dataset, read_file_bytes, splits_for
from cnn_tutorial.pytorch import train as train_module
from cnn_tutorial.pytorch.config import arithmetic_name, autocast_dtype, get_device
from cnn_tutorial.pytorch.data import load_datasets, make_loader
from cnn_tutorial.pytorch.engine import evaluate, train_one_epoch
from cnn_tutorial.pytorch.inference import load_predictor
from cnn_tutorial.pytorch.model import build_model

import bench_common as bc


def synchronize(device: torch.device) -> None:
    "Wait for the work queued on `device`."
    if device.type == "cuda": torch.cuda.synchronize(device)
    elif device.type == "mps": torch.mps.synchronize()


def forward_macs(model: nn.Module, input_shape: tuple) -> int:
    "Multiply-adds of the convolution and linear layers of `model` for one image (N=1) of `input_shape` (C, H, W)."
    macs = []

    def count(module, inputs, output):
        if isinstance(module, nn.Conv2d):
            macs.append(output[0].numel() * module.in_channels // module.groups * math.prod(module.kernel_size))
        else: macs.append(module.in_features * module.out_features)

    hooks = [m.register_forward_hook(count) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    try:
        with torch.no_grad(): model.eval()(torch.zeros(1, *input_shape))
    finally:
        for h in hooks: h.remove()
    return sum(macs)


def flops_per_image(config: TrainConfig) -> dict:
    "FLOP of one training image for the network `config` describes, counted on the PyTorch model."
    height, width, channels = dataset_spec(config.dataset).image_shape
    return bc.flop_counts(forward_macs(build_model(config), (channels, height, width)))


MATMUL_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


def torch_matmul(s: bc.Settings, device: torch.device, arithmetic: str = "float32") -> dict:
    "GFLOP/s of a matrix product with `torch.matmul` in `arithmetic` (`'float32'` or `'bfloat16'`)."
    a, b = (torch.randn(s.matmul_size, s.matmul_size, device=device, dtype=MATMUL_DTYPES[arithmetic]) for _ in range(2))
    def run():
        torch.matmul(a, b)
        synchronize(device)
    return {**bc.matmul_gflops(run, s.matmul_size, s.matmul_repeats), "arithmetic": arithmetic}


def torchvision_root(folder: Path, data_dir: str = "") -> Path:
    "`folder`, with FashionMNIST/raw/ holding the decompressed IDX files, where torchvision finds them and downloads nothing."
    source = locate_dataset("fashion_mnist", data_dir or None, download=False)
    raw = folder / "FashionMNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for stem in IDX_STEMS: (raw / stem).write_bytes(read_file_bytes(find_file(source, stem)))
    return folder


def plain_loader(root: Path) -> DataLoader:
    "The tutorial's training data: torchvision's FashionMNIST, `ToTensor` + `Normalize`, batch 64, shuffled, 2 workers."
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))])
    train_set = datasets.FashionMNIST(root, train=True, download=False, transform=transform)
    return DataLoader(train_set, batch_size=bc.PLAIN_BATCH_SIZE, shuffle=True, num_workers=2)


def time_plain_training(s: bc.Settings, device: torch.device, root: Path, flop: float) -> dict:
    "Throughput of the tutorial's loop: the same network, NCHW, AdamW 1e-3, `zero_grad` / `backward` / `step`, the loss read each step."
    torch.manual_seed(0)
    model = build_model(TrainConfig()).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=bc.PLAIN_LEARNING_RATE)
    criterion = nn.CrossEntropyLoss()
    model.train()
    running_loss = 0.0

    def step(images, labels):
        nonlocal running_loss
        images, labels = images.to(device), labels.to(device)
        optimizer.zero_grad()
        loss = criterion(model(images), labels)
        loss.backward()
        optimizer.step()
        running_loss += loss.item()

    batches = bc.endless(plain_loader(root))
    steps = s.timed_images // bc.PLAIN_BATCH_SIZE
    for images, labels in itertools.islice(batches, s.warmup_steps): step(images, labels)
    start = time.perf_counter()
    for images, labels in itertools.islice(batches, steps): step(images, labels)
    synchronize(device)
    seconds = time.perf_counter() - start
    batches.close()
    return {**bc.throughput(steps * bc.PLAIN_BATCH_SIZE, seconds, flop), "batch_size": bc.PLAIN_BATCH_SIZE, "steps": steps,
            "arithmetic": "float32"}


def time_package_training(s: bc.Settings, device: torch.device, flop: float) -> dict:
    "Throughput of the package's training path: its in-memory loader, channels-last model, optimiser, schedule, precision and `train_one_epoch`."
    config = TrainConfig(progress=False, data_dir=s.data_dir)
    torch.manual_seed(config.seed)
    loader = make_loader(load_datasets(config, device)["train"], config.batch_size, shuffle=True, seed=config.seed)
    model = build_model(config).to(device, memory_format=torch.channels_last)
    optimizer = train_module.build_optimizer(model, config)
    scheduler = train_module.build_scheduler(optimizer, config, len(loader))
    autocast = autocast_dtype(config.precision, device)
    batches = bc.endless(loader)
    steps = s.timed_images // config.batch_size
    run = lambda n: train_one_epoch(model, itertools.islice(batches, n), optimizer, device, config, scheduler, autocast)
    run(s.warmup_steps)
    start = time.perf_counter()
    run(steps)
    synchronize(device)
    seconds = time.perf_counter() - start
    return {**bc.throughput(steps * config.batch_size, seconds, flop), "batch_size": config.batch_size, "steps": steps,
            "arithmetic": arithmetic_name(autocast)}


def test_scorer(config: TrainConfig, device: torch.device):
    "A function giving a model's accuracy on the test split, with the package's loader and `evaluate`; it leaves the random state as it was."
    loader = make_loader(load_datasets(config, device)["test"], train_module.EVAL_BATCH_SIZE)

    def score(model: nn.Module) -> float:
        with torch.random.fork_rng():  # a DataLoader iterator draws a seed from the global generator
            return evaluate(model, loader, device)["accuracy"]
    return score


def recipe(s: bc.Settings, device: torch.device, artifacts_dir: str, changes: dict | None = None) -> tuple[dict, str]:
    "Run the default recipe (shortened in quick mode), or the default config with `changes`, into `artifacts_dir`; (its summary, the run folder holding its checkpoint)."
    overrides = changes or ({"epochs": s.recipe_epochs} if s.recipe_epochs else {})
    config = TrainConfig(artifacts_dir=artifacts_dir, progress=False, data_dir=s.data_dir, **overrides)
    metrics, summary = bc.run_recipe(train_module, config, test_scorer(config, device))
    return summary, str(metrics["run_dir"])


def inference(s: bc.Settings, run_dir: str) -> dict:
    "Batch and single-image timings of `load_predictor(run_dir).predict` on the test images."
    images, labels = splits_for(TrainConfig(data_dir=s.data_dir))["test"]
    return bc.measure_inference(load_predictor(run_dir), images, labels, s)


def run(s: bc.Settings, recipe_dir: str | None = None, predictor: str | None = None) -> dict:
    """One round of the PyTorch measurements, as a JSON-ready dict: the float32 and bfloat16 matrix products, the plain
    baseline then the package's training path, the default recipe when `recipe_dir` is given (it trains there), and
    inference on the checkpoint in the run folder `predictor` (or the one the recipe just wrote)."""
    device = get_device("auto")
    config = TrainConfig()
    flop = flops_per_image(config)
    result = {"framework": "pytorch", "device": str(device), "threads": torch.get_num_threads(),
              "versions": {"torch": torch.__version__, "torchvision": torchvision.__version__, "numpy": np.__version__},
              "flop_per_image": flop, "matmuls": {a: torch_matmul(s, device, a) for a in MATMUL_DTYPES}}
    print("[pytorch] matmul: " + ", ".join(f"{a} {m['gflops']:.1f} GFLOP/s" for a, m in result["matmuls"].items())
          + f"; {flop['training_flop'] / 1e6:.2f} MFLOP per training image", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        result["baseline"] = time_plain_training(s, device, torchvision_root(Path(tmp), s.data_dir), flop["training_flop"])
    print(f"[pytorch] baseline: {result['baseline']['images_per_second']:.0f} images/s", flush=True)
    result["package"] = time_package_training(s, device, flop["training_flop"])
    print(f"[pytorch] package: {result['package']['images_per_second']:.0f} images/s", flush=True)
    if recipe_dir: result["recipe"], predictor = recipe(s, device, recipe_dir); result["recipe_run_dir"] = predictor
    if recipe_dir and s.mode == "full": result["short_recipe"] = recipe(s, device, str(Path(recipe_dir) / "short"), bc.SHORT_RECIPE)[0]
    if predictor:
        result["inference"] = inference(s, predictor)
        print(f"[pytorch] predict: {result['inference']['images_per_second']:.0f} images/s, "
              f"one image {result['inference']['single_median_ms']:.2f} ms", flush=True)
    return result
