"""Framework-neutral pieces of the benchmark: settings, clocks, medians and spreads, the machine's theoretical peak,
inference timing and the per-epoch test scores."""
from __future__ import annotations

import os
import statistics
import time
from dataclasses import asdict, dataclass
from typing import Callable, Iterable, Iterator

import numpy as np

from cnn_tutorial.common.report import TrainCallback

ACCURACY_TARGET = 0.92
SHORT_RECIPE = {"epochs": 5, "flip": False}  # the recipe that reaches 92% soonest: `cnn_train --epochs 5 --no-flip`
EPOCH_IMAGES = 55_000  # the training split of the default recipe: 60,000 less 5,000 held out for validation
PLAIN_BATCH_SIZE = 64
PLAIN_LEARNING_RATE = 1e-3


@dataclass(frozen=True)
class Settings:
    "How much each measurement runs; `quick` and `full` are the two presets."
    mode: str
    warmup_steps: int = 20
    timed_images: int = 55_040  # about one epoch; a multiple of 64 and of 128
    recipe_epochs: int = 0      # 0: the default recipe's own number of epochs
    matmul_size: int = 2048
    matmul_repeats: int = 10
    batch_repeats: int = 3
    single_warmup: int = 20
    single_calls: int = 200
    data_dir: str = ""
    repeats: int = 3            # rounds: each worker measures each of its timings once per round

    def to_dict(self) -> dict:
        "A JSON-ready dict of the settings."
        return asdict(self)


def settings_for(quick: bool, data_dir: str = "", repeats: int = 3) -> Settings:
    "The quick or the full preset, measured over `repeats` rounds."
    if quick: return Settings("quick", timed_images=12_800, recipe_epochs=1, data_dir=data_dir, repeats=repeats)
    return Settings("full", data_dir=data_dir, repeats=repeats)


def median(values: Iterable[float]) -> float:
    "Median of `values`."
    return float(statistics.median(list(values)))


def median_spread(values: Iterable[float | None]) -> dict | None:
    """The median of the measurements in `values` (None ignored), their range and the spread: the largest distance of a
    measurement from the median, as a fraction of the median, so that every measurement lies within median ± spread.
    None when nothing was measured."""
    found = [float(v) for v in values if v is not None]
    if not found: return None
    mid, low, high = median(found), min(found), max(found)
    return {"median": mid, "min": low, "max": high, "spread": max(high - mid, mid - low) / abs(mid) if mid else 0.0,
            "n": len(found), "values": found}


def percentile(values: Iterable[float], q: float) -> float:
    "The `q`-th percentile of `values`."
    return float(np.percentile(np.asarray(list(values), dtype=np.float64), q))


def seconds_of(fn: Callable[[], object]) -> float:
    "Wall-clock seconds of one call of `fn`."
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def endless(iterable) -> Iterator:
    "Iterate `iterable` again and again (one pass per epoch)."
    while True: yield from iterable


def throughput(images: int, seconds: float, flop_per_image: float) -> dict:
    "Images per second, implied seconds per epoch and achieved GFLOP/s of `images` trained in `seconds`."
    per_second = images / seconds
    return {"timed_images": images, "seconds": seconds, "images_per_second": per_second,
            "seconds_per_epoch": EPOCH_IMAGES / per_second, "gflops": flop_per_image * per_second / 1e9}


def matmul_gflops(run: Callable[[], object], size: int, repeats: int) -> dict:
    "GFLOP/s of a `size`×`size` matrix product `run`, from the median of `repeats` timed calls after 3 warm-up calls."
    for _ in range(3): run()
    times = [seconds_of(run) for _ in range(repeats)]
    return {"size": size, "median_seconds": median(times), "gflops": 2 * size**3 / median(times) / 1e9,
            "best_gflops": 2 * size**3 / min(times) / 1e9}


# FLOP per cycle per core of the widest instructions the CPU flags announce, assuming two vector pipes per core:
# (flags that must all be present, name, FLOP/cycle/core). The first rule that matches applies.
PEAK_RULES = {
    "float32": ((("avx512f",), "AVX-512F FMA", 64),       # 2 FMA pipes × 16 float32 lanes × 2 FLOP
                (("avx2", "fma"), "AVX2 + FMA", 32)),       # 2 FMA pipes × 8 float32 lanes × 2 FLOP
    "bfloat16": ((("amx_bf16",), "AMX-BF16 (TMUL)", 1024),  # Intel's figure for one AMX tile unit per core
                 (("avx512_bf16",), "AVX512-BF16 (vdpbf16ps)", 128)),  # 2 pipes × 32 bfloat16 pairs × 2 FLOP
}


def theoretical_peak(flags: Iterable[str], physical_cores: int, mhz: float | None) -> dict:
    """The theoretical peak GFLOP/s of each arithmetic: physical cores × clock (GHz) × FLOP per cycle per core, the last
    from `PEAK_RULES` and the CPU's instruction-set `flags`. Without a bfloat16 rule the bfloat16 peak is the float32
    one (bfloat16 then runs as float32 at best). An arithmetic without a matching rule, or a missing clock, has no peak."""
    flags = set(flags)
    peaks = {}
    for arithmetic, rules in PEAK_RULES.items():
        rule = next(((name, flop) for needed, name, flop in rules if flags.issuperset(needed)), None)
        if rule is None and arithmetic == "bfloat16" and peaks.get("float32"):
            rule = (f"none for bfloat16: {peaks['float32']['instructions']}, as float32", peaks["float32"]["flop_per_cycle_per_core"])
        if rule is None or not mhz or not physical_cores: peaks[arithmetic] = None; continue
        peaks[arithmetic] = {"instructions": rule[0], "flop_per_cycle_per_core": rule[1],
                             "gflops": physical_cores * mhz / 1000 * rule[1]}
    return peaks


def cpu_facts(cpuinfo: str, max_khz: str | None = None) -> dict:
    """What the peak needs to know of the CPU, from the text of Linux's /proc/cpuinfo and, where the kernel has it,
    cpufreq's `cpuinfo_max_freq` (kHz): the instruction-set flags, the logical CPUs, the physical cores (distinct
    (physical id, core id) pairs; else logical CPUs ÷ (siblings ÷ cpu cores); else one thread per core, assumed) and
    the clock (the maximum when cpufreq gives it, else the highest current `cpu MHz`)."""
    blocks = [dict((k.strip(), v.strip()) for k, _, v in (line.partition(":") for line in block.splitlines()) if _)
              for block in cpuinfo.split("\n\n")]
    blocks = [b for b in blocks if "processor" in b]
    logical = len(blocks) or os.cpu_count() or 1
    flags = (blocks[0].get("flags") or blocks[0].get("Features") or "").split() if blocks else []
    pairs = {(b.get("physical id"), b.get("core id")) for b in blocks}
    if blocks and all("core id" in b for b in blocks):
        cores, how = len(pairs), "distinct (physical id, core id) pairs in /proc/cpuinfo"
    elif blocks and blocks[0].get("siblings", "").isdigit() and blocks[0].get("cpu cores", "").isdigit() and int(blocks[0]["cpu cores"]):
        per_core = int(blocks[0]["siblings"]) / int(blocks[0]["cpu cores"])
        cores, how = max(1, round(logical / per_core)), "logical CPUs ÷ (siblings ÷ cpu cores) in /proc/cpuinfo"
    else: cores, how = logical, "assumed one thread per core"
    current = [float(b["cpu MHz"]) for b in blocks if b.get("cpu MHz", "").replace(".", "", 1).isdigit()]
    if max_khz and max_khz.strip().isdigit():
        mhz, clock, source = int(max_khz) / 1000, "maximum", "cpufreq's cpuinfo_max_freq"
    elif current: mhz, clock, source = max(current), "current", "the highest `cpu MHz` of /proc/cpuinfo; the kernel gives no maximum"
    else: mhz, clock, source = None, "unknown", "neither cpufreq nor /proc/cpuinfo gives it"
    return {"model": blocks[0].get("model name") if blocks else None, "logical_cpus": logical, "physical_cores": cores,
            "threads_per_core": logical / cores, "cores_from": how, "mhz": mhz, "clock": clock, "clock_from": source, "flags": flags}


def machine_peak(cpuinfo: str = "/proc/cpuinfo", max_freq: str = "/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq") -> dict:
    "This machine's CPU facts (`cpu_facts`, without the flags that play no part) and its theoretical peak (`theoretical_peak`)."
    from pathlib import Path
    read = lambda path: Path(path).read_text() if Path(path).is_file() else None
    try: facts = cpu_facts(read(cpuinfo) or "", read(max_freq))
    except OSError: facts = cpu_facts("")
    used = {f for rules in PEAK_RULES.values() for needed, _, _ in rules for f in needed}
    return {**facts, "flags": sorted(used & set(facts["flags"])),
            "peak": theoretical_peak(facts["flags"], facts["physical_cores"], facts["mhz"])}


def flop_counts(forward_macs: int) -> dict:
    "Forward and training FLOP per image from the multiply-adds of one forward pass (backward counted as twice the forward)."
    return {"forward_macs": int(forward_macs), "forward_flop": 2 * int(forward_macs), "training_flop": 6 * int(forward_macs)}


def measure_inference(predictor, images: np.ndarray, labels: np.ndarray, s: Settings) -> dict:
    "Images per second of `predictor.predict` on the whole batch, and the latency of single-image calls."
    predictor.predict(images[:1024])
    predictions, batch_times = None, []
    for _ in range(s.batch_repeats):
        start = time.perf_counter()
        predictions = predictor.predict(images)
        batch_times.append(time.perf_counter() - start)
    for i in range(s.single_warmup): predictor.predict(images[i])
    latencies = [seconds_of(lambda i=i: predictor.predict(images[i % len(images)])) for i in range(s.single_calls)]
    return {"batch_images": len(images), "batch_seconds": median(batch_times), "images_per_second": len(images) / median(batch_times),
            "batch_accuracy": float((predictions == labels).mean()), "single_calls": s.single_calls,
            "single_median_ms": 1000 * median(latencies), "single_p90_ms": 1000 * percentile(latencies, 90),
            "single_min_ms": 1000 * min(latencies)}


def time_to_accuracy(epochs: list[dict], key: str, target: float = ACCURACY_TARGET) -> dict | None:
    "Training seconds summed up to the first epoch whose `key` reaches `target`, or None if none does."
    total = 0.0
    for row in epochs:
        total += row["seconds"]
        if row.get(key) is not None and row[key] >= target: return {"epoch": row["epoch"], "seconds": total}
    return None


class EpochTestScores(TrainCallback):
    "Scores the test set after each epoch of a package `train()` run, outside the seconds the run records for the epoch."
    def __init__(self, score: Callable[[object], float]):
        self.score, self.epochs = score, []

    def on_epoch_end(self, epoch: int, row: dict, model) -> None:
        "Score `model` on the test set and keep it with the epoch's time and validation accuracy."
        self.epochs.append({"epoch": int(epoch), "seconds": float(row["seconds"]), "val_accuracy": float(row["val_accuracy"]),
                            "test_accuracy": float(self.score(model))})


def recipe_summary(metrics: dict, epochs: list[dict], wall_seconds: float, epochs_requested: int) -> dict:
    "The recipe's figures: epochs with their test scores, time to the accuracy target, final test accuracy."
    scored = bool(epochs) and all(e.get("test_accuracy") is not None for e in epochs)
    return {"epochs_requested": epochs_requested, "epochs": epochs, "test_scored_each_epoch": scored,
            "train_seconds": sum(e["seconds"] for e in epochs), "seconds_per_epoch": metrics["seconds_per_epoch"],
            "wall_seconds": wall_seconds, "to_target_test": time_to_accuracy(epochs, "test_accuracy") if scored else None,
            "to_target_val": time_to_accuracy(epochs, "val_accuracy"), "best_epoch": metrics["best_epoch"],
            "best_val_accuracy": metrics["best_val_accuracy"], "final_test_accuracy": metrics["test_accuracy"],
            "parameter_count": metrics["parameter_count"]}


def history_epochs(run_dir) -> list[dict]:
    "The epochs of a run as recorded in its `history.csv` (no test scores)."
    from cnn_tutorial.common.report import read_history
    return [{"epoch": r["epoch"], "seconds": r["seconds"], "val_accuracy": r["val_accuracy"], "test_accuracy": None}
            for r in read_history(f"{run_dir}/history.csv")]


def run_recipe(train_module, config, score: Callable[[object], float]) -> tuple[dict, dict]:
    "Run the package's `train(config)`, scoring the test set after each epoch where the module allows it; (metrics, summary)."
    probe = EpochTestScores(score)
    start = time.perf_counter()
    metrics = train_module.train(config, callbacks=[probe])
    wall = time.perf_counter() - start
    epochs = probe.epochs if len(probe.epochs) == metrics["epochs_completed"] else history_epochs(metrics["run_dir"])
    return metrics, recipe_summary(metrics, epochs, wall, config.epochs)
