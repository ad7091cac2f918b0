"""Training throughput of the choices the default recipe makes, each against its alternatives, in one run.

    python benchmarks/variants.py            # about 4 minutes on 2 cores; writes benchmarks/results/variants.{json,md}
    python benchmarks/variants.py --quick    # fewer images per variant; writes benchmarks/out/quick/

Each variant trains the package's network on the package's in-memory data (flips, label smoothing, AdamW or Adam) for a
fixed number of images after a warm-up, and changes one thing: memory layout, arithmetic, batch size, compilation.
PyTorch and TensorFlow run in separate subprocesses, one after the other.
"""
from __future__ import annotations

import argparse
import itertools
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_common as bc
from bench_report import NAMES

DEFAULT_OUT = {"full": HERE / "results", "quick": HERE / "out" / "quick"}
TIMED_IMAGES = {"full": 25_600, "quick": 6_400}


def pytorch_variants(timed_images: int) -> list[dict]:
    "Images per second of the PyTorch training step under each variant."
    import torch
    import torch.nn.functional as F
    from cnn_tutorial.common.config import TrainConfig
    from cnn_tutorial.pytorch import train as train_module
    from cnn_tutorial.pytorch.config import autocast_dtype, get_device
    from cnn_tutorial.pytorch.data import load_datasets, make_loader, random_horizontal_flip
    from cnn_tutorial.pytorch.model import build_model
    import bench_pytorch

    config, device = TrainConfig(progress=False), get_device("auto")
    flop = bench_pytorch.flops_per_image(config)["training_flop"]
    train_set = load_datasets(config, device)["train"]
    native = autocast_dtype("auto", device)

    def measure(batch_size: int, channels_last: bool, autocast, compile_model: bool = False) -> dict:
        torch.manual_seed(config.seed)
        layout = torch.channels_last if channels_last else torch.contiguous_format
        model = build_model(config).to(device, memory_format=layout)
        optimizer = train_module.build_optimizer(model, config)
        forward = torch.compile(model) if compile_model else model
        batches = bc.endless(make_loader(train_set, batch_size, shuffle=True, seed=config.seed))

        def step(x, y):
            x = random_horizontal_flip(x.to(device, memory_format=layout))
            with torch.autocast(device.type, dtype=autocast or torch.bfloat16, enabled=autocast is not None):
                loss = F.cross_entropy(forward(x), y, label_smoothing=config.label_smoothing)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

        start = time.perf_counter()
        for x, y in itertools.islice(batches, 20): step(x, y)
        warmup = time.perf_counter() - start
        steps = timed_images // batch_size
        start = time.perf_counter()
        for x, y in itertools.islice(batches, steps): step(x, y)
        bench_pytorch.synchronize(device)
        return {**bc.throughput(steps * batch_size, time.perf_counter() - start, flop), "warmup_seconds": warmup}

    bf16 = torch.bfloat16
    cases = [("NCHW, float32", 128, False, None, False), ("channels-last, float32", 128, True, None, False),
             ("channels-last, mixed bfloat16", 128, True, bf16, False), ("channels-last, mixed bfloat16", 64, True, bf16, False),
             ("channels-last, mixed bfloat16", 256, True, bf16, False), ("channels-last, float32", 256, True, None, False),
             ("`torch.compile`, channels-last, float32", 128, True, None, True)]
    rows = []
    for name, batch, channels_last, autocast, compiled in cases:
        rows.append({"framework": "pytorch", "variant": name, "batch_size": batch, **measure(batch, channels_last, autocast, compiled),
                     "default": batch == config.batch_size and channels_last and autocast == native and not compiled})
        print(f"[pytorch] {name}, batch {batch}: {rows[-1]['images_per_second']:,.0f} images/s", flush=True)
    return rows


def tensorflow_variants(timed_images: int) -> list[dict]:
    "Images per second of Keras `fit` under each variant."
    from cnn_tutorial.tensorflow.config import get_device, precision_policy, tf
    import keras
    from cnn_tutorial.common.config import TrainConfig
    from cnn_tutorial.common.data import splits_for
    from cnn_tutorial.tensorflow.data import make_dataset, steps_per_epoch
    from cnn_tutorial.tensorflow.engine import compile_model, one_cycle_schedule
    from cnn_tutorial.tensorflow.model import build_model
    import cnn_tutorial.tensorflow.model as tf_model
    import bench_tensorflow

    config = TrainConfig(progress=False)
    flop = bench_tensorflow.flops_per_image()["training_flop"]
    images, labels = splits_for(config)["train"]
    native = precision_policy("auto", get_device("auto"))
    settings = bc.Settings("variants", timed_images=timed_images)

    def measure(batch_size: int, policy: str, jit: bool = False, steps_per_execution: int = 1, keras_batch_norm: bool = False) -> dict:
        keras.utils.set_random_seed(config.seed)
        steps = steps_per_epoch(len(labels), batch_size)
        train = make_dataset(images, labels, batch_size, shuffle=True, seed=config.seed, flip=config.flip, epochs=config.epochs)
        fused = tf_model.BatchNormalization
        if keras_batch_norm: tf_model.BatchNormalization = keras.layers.BatchNormalization  # Keras's own layer, unfused
        try: model = compile_model(build_model(config, dtype=policy), config, one_cycle_schedule(config, steps))
        finally: tf_model.BatchNormalization = fused
        model.compile(optimizer=model.optimizer, loss=model.loss, metrics=["accuracy"], jit_compile=jit,
                      steps_per_execution=steps_per_execution)
        start = time.perf_counter()
        result = bench_tensorflow.time_fit(model, train, batch_size, settings, flop)
        return {**result, "wall_seconds": time.perf_counter() - start}

    cases = [("float32", 128, "float32", False, 1, False), ("mixed bfloat16", 128, "mixed_bfloat16", False, 1, False),
             ("mixed bfloat16, Keras's own (unfused) `BatchNormalization`", 128, "mixed_bfloat16", False, 1, True),
             ("float32, Keras's own (unfused) `BatchNormalization`", 128, "float32", False, 1, True),
             ("mixed bfloat16", 256, "mixed_bfloat16", False, 1, False), ("float32", 256, "float32", False, 1, False),
             ("mixed bfloat16, `steps_per_execution=20`", 128, "mixed_bfloat16", False, 20, False),
             ("float32, XLA (`jit_compile=True`)", 128, "float32", True, 1, False),
             ("mixed bfloat16, XLA (`jit_compile=True`)", 128, "mixed_bfloat16", True, 1, False)]
    rows = []
    for name, batch, policy, jit, per_call, keras_bn in cases:
        rows.append({"framework": "tensorflow", "variant": name, "batch_size": batch, **measure(batch, policy, jit, per_call, keras_bn),
                     "default": batch == config.batch_size and policy == native and not jit and per_call == 1 and not keras_bn})
        print(f"[tensorflow] {name}, batch {batch}: {rows[-1]['images_per_second']:,.0f} images/s", flush=True)
    return rows


def markdown(record: dict) -> str:
    "The variants as a Markdown table, the default recipe's choice marked."
    lines = ["# Training throughput of the recipe's choices", "", f"- machine: {record['machine']}", f"- date: {record['date']}",
             f"- command: `{record['command']}`", f"- package commit: {record.get('commit') or '—'}", "",
             "| framework | variant | batch | images/s | s per epoch (55,000 images) | GFLOP/s | default here |", "|---|---|---|---|---|---|---|"]
    for r in record["rows"]:
        lines.append(f"| {NAMES[r['framework']]} | {r['variant']} | {r['batch_size']} | {r['images_per_second']:,.0f} | "
                     f"{r['seconds_per_epoch']:.1f} | {r['gflops']:.1f} | {'yes' if r['default'] else ''} |")
    lines += ["", f"Each variant timed over {record['timed_images']:,} images after 20 warm-up steps (compilation, where there is "
              "one, happens during the warm-up)."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    "Measure every variant (or, with `--worker`, one framework's, in this process)."
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="fewer images per variant")
    p.add_argument("--out", type=Path, help="folder for variants.json and variants.md")
    p.add_argument("--worker", choices=("pytorch", "tensorflow"), help=argparse.SUPPRESS)
    p.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    mode = "quick" if args.quick else "full"
    from cnn_tutorial.common.utils import atomic_write, machine_description, read_json, write_json
    if args.worker:
        measure = pytorch_variants if args.worker == "pytorch" else tensorflow_variants
        write_json(args.result, {"rows": measure(TIMED_IMAGES[mode])})
        return 0
    import datetime
    import run
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for worker in ("pytorch", "tensorflow"):
            result = Path(tmp) / f"{worker}.json"
            command = [sys.executable, __file__, "--worker", worker, "--result", str(result)] + (["--quick"] if args.quick else [])
            if subprocess.run(command, cwd=HERE.parent).returncode != 0: raise SystemExit(f"the {worker} variants failed")
            rows += read_json(result)["rows"]
    record = {"mode": mode, "command": " ".join(["python", "benchmarks/variants.py", *(argv if argv is not None else sys.argv[1:])]),
              "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"), "machine": machine_description(),
              "commit": run.git_commit(), "timed_images": TIMED_IMAGES[mode], "rows": rows}
    out = args.out or DEFAULT_OUT[mode]
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "variants.json", record)
    text = markdown(record)
    with atomic_write(out / "variants.md", "w", encoding="utf-8") as f: f.write(text)
    print(text)
    return 0


if __name__ == "__main__": sys.exit(main())
