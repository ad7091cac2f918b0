"""The summary of a benchmark run: ratios, the targets of the performance issue, and the Markdown tables."""
from __future__ import annotations

from bench_common import ACCURACY_TARGET, EPOCH_IMAGES

TARGETS = {"pytorch_speedup": 3.0, "tensorflow_speedup": 2.0, "matmul_fraction": 0.5, "seconds_to_target": 120.0,
           "final_accuracy": 0.935, "single_ms": 2.0, "batch_images_per_second": 5000.0}
NAMES = {"pytorch": "PyTorch", "tensorflow": "TensorFlow"}
PIPELINES = {
    ("pytorch", "baseline"): "plain: torchvision `ToTensor`+`Normalize`, `DataLoader` (shuffle, 2 workers), AdamW 1e-3",
    ("pytorch", "package"): "package: in-memory tensors, channels-last, `train_one_epoch` (flips, label smoothing, one-cycle AdamW)",
    ("tensorflow", "baseline"): "plain: `tf.data` normalising image by image, `fit`, Adam 1e-3",
    ("tensorflow", "package"): "package: `make_dataset` + `compile_model` + `fit` (flips, label smoothing, one-cycle Adam)",
}
MISSING = "—"
BUSY_SHARE = 0.10  # other processes using more than this share of the CPU make the timings unreliable


def fmt(value, spec: str = ",.0f", suffix: str = "") -> str:
    "`value` formatted with `spec`, or a dash when it is missing."
    return MISSING if value is None else f"{value:{spec}}{suffix}"


def get(d: dict | None, *keys):
    "The value at `keys` in nested dicts, or None where any level is missing."
    for k in keys:
        if not isinstance(d, dict) or k not in d: return None
        d = d[k]
    return d


def reference_matmul(workers: dict) -> tuple[str | None, float | None]:
    "The matrix product the GFLOP/s are compared with: PyTorch's, or TensorFlow's if PyTorch's is missing."
    for fw in ("pytorch", "tensorflow"):
        g = get(workers, fw, "matmul", "gflops")
        if g: return fw, g
    return None, None


def throughput_rows(workers: dict) -> list[dict]:
    "One row per (framework, pipeline) measured, with its ratio to the baseline and its share of the matrix product."
    _, matmul = reference_matmul(workers)
    rows = []
    for fw in ("pytorch", "tensorflow"):
        base = get(workers, fw, "baseline") or get(workers, f"{fw}_baseline", "baseline")
        for kind, m in (("baseline", base), ("package", get(workers, fw, "package"))):
            if not m: continue
            speedup = m["images_per_second"] / base["images_per_second"] if base else None
            rows.append({"framework": fw, "pipeline": kind, "batch_size": m["batch_size"], "arithmetic": m.get("arithmetic", MISSING),
                         "images_per_second": m["images_per_second"],
                         "seconds_per_epoch": m["seconds_per_epoch"], "speedup": speedup, "gflops": m["gflops"],
                         "matmul_fraction": m["gflops"] / matmul if matmul else None, "timed_images": m["timed_images"]})
    return rows


def row_for(rows: list[dict], fw: str, kind: str) -> dict | None:
    "The throughput row of `fw` and `kind`, if measured."
    return next((r for r in rows if r["framework"] == fw and r["pipeline"] == kind), None)


def target(name: str, measured, met: bool | None, note: str = "") -> dict:
    "One line of the targets table."
    return {"target": name, "measured": measured, "met": met, "note": note}


def check(value, ok) -> bool | None:
    "`ok(value)`, or None when `value` is missing."
    return None if value is None else bool(ok(value))


def targets(workers: dict, rows: list[dict], mode: str) -> list[dict]:
    "The issue's targets, each with the figure measured and whether it is met."
    out = []
    for fw, key in (("pytorch", "pytorch_speedup"), ("tensorflow", "tensorflow_speedup")):
        s = get(row_for(rows, fw, "package"), "speedup")
        out.append(target(f"{NAMES[fw]} training throughput ≥ {TARGETS[key]:g}× baseline", fmt(s, ".2f", "×"), check(s, lambda v: v >= TARGETS[key])))
    f = get(row_for(rows, "pytorch", "package"), "matmul_fraction")
    out.append(target(f"PyTorch training ≥ {TARGETS['matmul_fraction']:.0%} of float32 matmul GFLOP/s", fmt(f, ".0%"),
                      check(f, lambda v: v >= TARGETS["matmul_fraction"])))
    for fw in ("pytorch", "tensorflow"):
        recipe = get(workers, fw, "recipe")
        reached = get(recipe, "to_target_test")
        name = f"{NAMES[fw]} {ACCURACY_TARGET:.0%} test accuracy within {TARGETS['seconds_to_target']:g} s of training"
        if recipe is None: out.append(target(name, MISSING, None))
        elif not recipe["test_scored_each_epoch"]: out.append(target(name, MISSING, None, "test set not scored per epoch"))
        elif reached: out.append(target(name, f"{reached['seconds']:.0f} s (epoch {reached['epoch']})", reached["seconds"] <= TARGETS["seconds_to_target"]))
        elif mode == "quick": out.append(target(name, "not reached", None, f"quick mode: a {recipe['epochs_requested']}-epoch recipe"))
        else: out.append(target(name, "not reached", False))
    for fw in ("pytorch", "tensorflow"):
        final = get(workers, fw, "recipe", "final_test_accuracy")
        name = f"{NAMES[fw]} default recipe ends at ≥ {TARGETS['final_accuracy']:.1%} test accuracy"
        if mode == "quick": out.append(target(name, fmt(final, ".2%"), None, "quick mode: a shortened recipe"))
        else: out.append(target(name, fmt(final, ".2%"), check(final, lambda v: v >= TARGETS["final_accuracy"])))
    for fw in ("pytorch", "tensorflow"):
        ms = get(workers, fw, "inference", "single_median_ms")
        out.append(target(f"{NAMES[fw]} single-image `predict` median < {TARGETS['single_ms']:g} ms", fmt(ms, ".2f", " ms"),
                          check(ms, lambda v: v < TARGETS["single_ms"])))
    for fw in ("pytorch", "tensorflow"):
        ips = get(workers, fw, "inference", "images_per_second")
        out.append(target(f"{NAMES[fw]} batch inference ≥ {TARGETS['batch_images_per_second']:,.0f} images/s", fmt(ips, ",.0f", " images/s"),
                          check(ips, lambda v: v >= TARGETS["batch_images_per_second"])))
    return out


def summarise(workers: dict, mode: str) -> dict:
    "Throughput rows and targets of one run."
    rows = throughput_rows(workers)
    return {"throughput": rows, "matmul_reference": reference_matmul(workers)[0], "targets": targets(workers, rows, mode)}


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    "Lines of a Markdown table."
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header), *("| " + " | ".join(r) + " |" for r in rows)]


def throughput_section(workers: dict, summary: dict) -> list[str]:
    "The training throughput table and the FLOP and matrix-product figures."
    rows = [[NAMES[r["framework"]], PIPELINES[r["framework"], r["pipeline"]], str(r["batch_size"]), r["arithmetic"], fmt(r["images_per_second"]),
             fmt(r["seconds_per_epoch"], ".1f"), fmt(r["speedup"], ".2f", "×"), fmt(r["gflops"], ".1f"), fmt(r["matmul_fraction"], ".0%")]
            for r in summary["throughput"]]
    lines = ["## Training throughput", "",
             *table(["framework", "pipeline", "batch", "arithmetic", "images/s", f"s per epoch ({EPOCH_IMAGES:,} images)", "× baseline", "GFLOP/s",
                     "% of matmul"], rows), ""]
    flop = get(workers, "pytorch", "flop_per_image") or get(workers, "tensorflow", "flop_per_image")
    if flop:
        lines.append(f"One training image costs {flop['training_flop'] / 1e6:.1f} MFLOP: {flop['forward_flop'] / 1e6:.2f} MFLOP forward "
                     "(the multiply-adds of the convolution and dense layers, counted on the model, 2 FLOP each), "
                     "three times that with the backward pass.")
    ref = summary["matmul_reference"]
    mm = "; ".join(f"{NAMES[fw]} {w['matmul']['gflops']:.1f} GFLOP/s" for fw, w in workers.items() if get(w, "matmul", "gflops"))
    if mm:
        size = next(w["matmul"]["size"] for w in workers.values() if get(w, "matmul", "size"))
        lines.append(f"float32 {size}×{size} matrix product in this run: {mm}. \"% of matmul\" compares with {NAMES.get(ref, ref)}'s"
                     + ("; rows in mixed bfloat16 are compared with that float32 product too, and can exceed 100%."
                        if any(r["arithmetic"].startswith("mixed") for r in summary["throughput"]) else "."))
    timed = {r["timed_images"] for r in summary["throughput"]}
    state = {True: "on", False: "off", None: "unknown"}
    onednn = [f"{label} {state[get(workers, fw, 'onednn')]}" for fw, label in (("tensorflow_baseline", "baseline"), ("tensorflow", "package"))
              if get(workers, fw, "framework")]
    lines.append(f"Timed over {', '.join(f'{t:,}' for t in sorted(timed))} images after a warm-up; seconds per epoch are implied by images/s."
                 + (f" TensorFlow's oneDNN: {', '.join(onednn)}." if onednn else ""))
    return lines + [""]


def recipe_section(workers: dict, mode: str) -> list[str]:
    "The default-recipe table: epoch time, time to the accuracy target on the test set, final test accuracy."
    rows = []
    for fw in ("pytorch", "tensorflow"):
        r = get(workers, fw, "recipe")
        if not r: continue
        reached = r["to_target_test"] if r["test_scored_each_epoch"] else None
        val = r["to_target_val"]
        rows.append([NAMES[fw], str(r["epochs_requested"]), fmt(r["seconds_per_epoch"], ".1f"),
                     f"{reached['seconds']:.0f} s (epoch {reached['epoch']})" if reached else ("not reached" if r["test_scored_each_epoch"] else MISSING),
                     f"{val['seconds']:.0f} s (epoch {val['epoch']})" if val else "not reached",
                     fmt(r["final_test_accuracy"], ".2%"), str(r["best_epoch"]), fmt(r["train_seconds"], ".0f")])
    if not rows: return []
    by_epoch = [f"{NAMES[fw]} test accuracy after each epoch: "
                + ", ".join(fmt(e["test_accuracy"], ".2%") for e in workers[fw]["recipe"]["epochs"]) + "."
                for fw in ("pytorch", "tensorflow") if get(workers, fw, "recipe", "test_scored_each_epoch")]
    note = ("Quick mode: the recipe runs for the epochs shown instead of its default, so the one-cycle schedule is compressed and "
            "the accuracy target is usually not reached; the full mode runs the default recipe." if mode == "quick" else
            "The default recipe (`train(TrainConfig())`), run in full.")
    return ["## Default recipe", "",
            *table(["framework", "epochs", "s per epoch (train + validation)", f"{ACCURACY_TARGET:.0%} test accuracy after",
                    f"{ACCURACY_TARGET:.0%} validation accuracy after", "final test accuracy", "best epoch", "training s"], rows), "",
            note + " Times to the target sum the training seconds the run records per epoch (training and validation), up to "
            "the first epoch reaching it; the test set is scored after every epoch outside those seconds. The final test accuracy "
            "is that of the epoch kept on validation, as `train` reports it.", "", *(line + "  " for line in by_epoch), ""]


def inference_section(workers: dict) -> list[str]:
    "The inference table: batch throughput and single-image latency of `load_predictor(...).predict`."
    rows = []
    for fw in ("pytorch", "tensorflow"):
        i = get(workers, fw, "inference")
        if not i: continue
        rows.append([NAMES[fw], fmt(i["images_per_second"]), fmt(i["single_median_ms"], ".2f"), fmt(i["single_p90_ms"], ".2f"),
                     fmt(i["batch_accuracy"], ".2%")])
    if not rows: return []
    batch = next(workers[fw]["inference"]["batch_images"] for fw in ("pytorch", "tensorflow") if get(workers, fw, "inference"))
    calls = next(workers[fw]["inference"]["single_calls"] for fw in ("pytorch", "tensorflow") if get(workers, fw, "inference"))
    return ["## Inference", "",
            *table(["framework", f"`predict`, batch of {batch:,}: images/s", "single image: median ms", "single image: p90 ms",
                    "accuracy of the batch"], rows), "",
            f"`load_predictor(run folder)` on the checkpoint the recipe wrote; uint8 test images; the batch timed as the median of "
            f"its repeats, the single image over {calls} calls after a warm-up.", ""]


def targets_section(summary: dict) -> list[str]:
    "The targets table."
    mark = {True: "yes", False: "**no**", None: MISSING}
    rows = [[t["target"], t["measured"], mark[t["met"]], t["note"]] for t in summary["targets"]]
    return ["## Targets", "", *table(["target", "measured", "met", "note"], rows), ""]


def errors_section(workers: dict) -> list[str]:
    "The workers that failed, if any."
    failed = [f"- {name}: {w['error']}" for name, w in workers.items() if "error" in w]
    return ["## Failures", "", *failed, ""] if failed else []


def contention(workers: dict) -> str:
    "The share of the machine other processes used while each worker ran."
    found = [f"{name} {w['contention']['other_processes']:.0%} ({w['contention']['stolen']:.0%})" for name, w in workers.items()
             if w.get("contention")]
    return "; ".join(found) or MISSING


def busy_warning(workers: dict) -> list[str]:
    "A warning when other work took a noticeable share of the machine during the run."
    shares = [w["contention"]["other_processes"] + w["contention"]["stolen"] for w in workers.values() if w.get("contention")]
    if not shares or max(shares) < BUSY_SHARE: return []
    return [f"**The machine was busy with other work during this run (up to {max(shares):.0%} of its CPU): the figures are not "
            "reliable. Run again on an idle machine.**", ""]


def markdown(record: dict) -> str:
    "The whole report as Markdown."
    workers, summary, mode = record["workers"], record["summary"], record["mode"]
    versions = ", ".join(f"{k} {v}" for k, v in record["versions"].items())
    lines = [f"# Benchmark ({mode} mode)", "",
             f"- machine: {record['machine']}", f"- date: {record['date']}", f"- command: `{record['command']}`",
             f"- versions: {versions}", f"- package commit: {record.get('commit') or MISSING}",
             f"- CPU time taken by other processes (and stolen by the host) while each worker ran: {contention(workers)}", "",
             *busy_warning(workers),
             *throughput_section(workers, summary), *recipe_section(workers, mode), *inference_section(workers),
             *targets_section(summary), *errors_section(workers)]
    return "\n".join(lines).rstrip() + "\n"
