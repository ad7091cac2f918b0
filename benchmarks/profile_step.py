"""Where a training step's time goes: PyTorch's operators by kind, profiled over real steps; each Keras layer timed on its own.

    python benchmarks/profile_step.py            # both frameworks, batch 128, the arithmetic `train` uses here
    python benchmarks/profile_step.py --steps 50 # more calls per layer
    python benchmarks/profile_step.py --out benchmarks/results/profile.md   # the committed profile

In PyTorch, `torch.profiler` records `--steps` real training steps (forward, loss, backward and AdamW, in the recipe's
arithmetic and layout) and each operator's own time is summed by the kind of work it does. TensorFlow's profiler
needs a plug-in to read its traces, so in Keras each layer runs on its own, on an input of the shape and compute type
it meets in training, in training mode, inside a compiled function; its time is the median of `--steps` calls of
forward plus backward (the gradient of the sum of its output). In both, the whole training step (Keras's
`train_on_batch`) is timed beside it, so that the sum can be read against it. Each framework runs in its own
subprocess.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def median_ms(fn, steps: int, warmup: int = 5) -> float:
    "Median milliseconds of `fn()` over `steps` calls after `warmup` calls; `fn` returns what must be waited for."
    for _ in range(warmup): fn()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1e3)


OP_KINDS = (("convolution", ("convolution",)), ("batch norm", ("batch_norm",)), ("max pooling", ("max_pool",)),
            ("ReLU", ("threshold", "relu", "clamp_min")), ("dense layers", ("addmm", "aten::mm", "linear")),
            ("loss", ("cross_entropy", "log_softmax", "nll_loss")), ("optimiser", ("adam", "optimizer")),
            ("copies and fills", ("copy_", "fill_", "zero_", "to_copy")))


def op_kind(name: str) -> str:
    "The kind of work a PyTorch operator does, from its name."
    return next((kind for kind, keys in OP_KINDS if any(k in name.lower() for k in keys)), "other")


def pytorch_rows(batch: int, steps: int) -> tuple[list[tuple[str, str, float]], float, str]:
    "(kind of operator, operators, ms per step) from `torch.profiler` over `steps` real training steps, the step's ms, and the arithmetic."
    import torch
    import torch.nn.functional as F
    from torch.profiler import ProfilerActivity, profile
    from cnn_tutorial.common.config import TrainConfig
    from cnn_tutorial.pytorch.config import autocast_dtype, get_device
    from cnn_tutorial.pytorch.engine import build_optimizer
    from cnn_tutorial.pytorch.model import build_model

    config, device = TrainConfig(), get_device("auto")
    dtype = autocast_dtype(config.precision, device)
    model = build_model(config).to(device, memory_format=torch.channels_last).train()
    optimizer = build_optimizer(model, config)
    images = torch.randn(batch, 1, 28, 28, device=device).to(memory_format=torch.channels_last)
    labels = torch.randint(0, 10, (batch,), device=device)
    def step():
        with torch.autocast(device.type, dtype=dtype or torch.bfloat16, enabled=dtype is not None):
            loss = F.cross_entropy(model(images), labels, label_smoothing=config.label_smoothing)
        optimizer.zero_grad(set_to_none=True); loss.backward(); optimizer.step()
    step_ms = median_ms(step, steps)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps): step()
    ms, names = {}, {}
    for event in prof.key_averages():
        if not event.key.startswith("aten::") and "Optimizer" not in event.key: continue
        kind = op_kind(event.key)
        ms[kind] = ms.get(kind, 0.0) + event.self_cpu_time_total / 1e3 / steps
        if event.self_cpu_time_total / 1e3 / steps >= 0.1: names.setdefault(kind, []).append(event.key.removeprefix("aten::"))
    rows = [(kind, ", ".join(names.get(kind, [])[:4]), ms[kind]) for kind in sorted(ms, key=ms.get, reverse=True)]
    return rows, step_ms, "mixed bfloat16" if dtype is not None else "float32"


def tensorflow_rows(batch: int, steps: int) -> tuple[list[tuple[str, tuple, float]], float, str]:
    "(layer, input shape, ms) for each layer, the full step's ms, and the arithmetic."
    from cnn_tutorial.tensorflow.config import arithmetic_name, get_device, precision_policy, tf
    from cnn_tutorial.common.config import TrainConfig
    from cnn_tutorial.tensorflow.engine import compile_model
    from cnn_tutorial.tensorflow.model import build_model

    config = TrainConfig()
    policy = precision_policy(config.precision, get_device(config.device))
    model = compile_model(build_model(config, dtype=policy), config)
    x = tf.random.normal((batch, 28, 28, 1))
    rows = []
    for layer in model.layers:
        inputs = tf.Variable(x, trainable=True)
        @tf.function
        def step(layer=layer, inputs=inputs):
            with tf.GradientTape() as tape:
                out = tf.reduce_sum(tf.cast(layer(inputs, training=True), tf.float32))
            return tape.gradient(out, inputs)
        rows.append((f"{layer.name} ({type(layer).__name__})", tuple(x.shape[1:]), median_ms(lambda step=step: step().numpy(), steps)))
        x = layer(x, training=True)  # the next layer's input as training gives it, in the compute type
    images, labels = np.random.default_rng(0).normal(size=(batch, 28, 28, 1)).astype(np.float32), np.zeros(batch, np.int64)
    return rows, median_ms(lambda: model.train_on_batch(images, labels), steps), arithmetic_name(policy)


def report(framework: str, rows, step_ms: float, arithmetic: str, batch: int) -> str:
    "The table of one framework, as Markdown: PyTorch's by kind of operator, TensorFlow's by layer."
    total = sum(ms for *_, ms in rows)
    by_layer = framework == "TensorFlow"
    header = (["layer", "input shape", "forward + backward, ms", "share of the layers' sum"] if by_layer else
              ["kind of operator", "main operators", "ms per step (forward and backward)", "share of the operators' sum"])
    lines = [f"## {framework} ({arithmetic}, batch {batch})", "", "| " + " | ".join(header) + " |", "|---|---|---|---|"]
    lines += [f"| {name} | {' × '.join(map(str, what)) if by_layer else what} | {ms:.2f} | {ms / total:.0%} |" for name, what, ms in rows]
    summed = "Sum of the layers, each timed alone" if by_layer else "Sum of the operators' own time, from `torch.profiler` over real steps"
    lines += ["", f"{summed}: {total:.1f} ms. A whole training step (forward, loss, backward, optimiser): {step_ms:.1f} ms, "
              f"{batch / step_ms * 1e3:,.0f} images/s.", ""]
    return "\n".join(lines)


def header(options: list[str]) -> str:
    "The report's first lines: what was measured, where, when, with which commit and command."
    import datetime
    import run
    from cnn_tutorial.common.utils import machine_description
    date = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    return "\n".join(["# Where a training step's time goes", "", f"- machine: {machine_description()}", f"- date: {date}",
                      f"- command: `{' '.join(['python benchmarks/profile_step.py', *options])}`",
                      f"- package commit: {run.git_commit()}", ""])


def main(argv: list[str] | None = None) -> int:
    "Profile both frameworks, each in its own subprocess (or, with `--worker`, one, in this process)."
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--batch-size", type=int, default=128, help="images per step (default: the recipe's 128)")
    p.add_argument("--steps", type=int, default=30, help="timed calls per layer (default 30)")
    p.add_argument("--out", type=Path, help="also write the report to this Markdown file")
    p.add_argument("--worker", choices=("pytorch", "tensorflow"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        measure, name = (pytorch_rows, "PyTorch") if args.worker == "pytorch" else (tensorflow_rows, "TensorFlow")
        print(report(name, *measure(args.batch_size, args.steps), args.batch_size), flush=True)
        return 0
    parts = [header(argv if argv is not None else sys.argv[1:])]
    print(parts[0], flush=True)
    for worker in ("pytorch", "tensorflow"):
        command = [sys.executable, __file__, "--worker", worker, "--batch-size", str(args.batch_size), "--steps", str(args.steps)]
        done = subprocess.run(command, cwd=HERE.parent, stdout=subprocess.PIPE, text=True)
        print(done.stdout, end="", flush=True)
        if done.returncode != 0: return 1
        parts.append(done.stdout)
    if args.out:
        from cnn_tutorial.common.utils import atomic_write
        with atomic_write(args.out, "w", encoding="utf-8") as f: f.write("\n".join(parts))
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__": sys.exit(main())
