"""The summary of a benchmark run: medians and spreads over its rounds, ratios, efficiency against the matrix products and
the theoretical peak, the targets, the Markdown tables, and the comparison of two runs.

A results file keeps every round of every worker under `workers` (`{worker: [round 1, round 2, ...]}`). Files made
before the benchmark had rounds hold one result per worker (`{worker: {...}}`, with a float32 `matmul`): they load as a
single round.
"""
from __future__ import annotations

from bench_common import ACCURACY_TARGET, EPOCH_IMAGES, SHORT_RECIPE, median_spread

TARGETS = {"tensorflow_over_pytorch": 0.9, "pytorch_speedup": 3.5, "matmul_fraction": 0.5, "seconds_to_target": 45.0,
           "final_accuracy": {"pytorch": 0.934, "tensorflow": 0.932}, "single_ms": 0.5, "batch_images_per_second": 15_000.0}
NAMES = {"pytorch": "PyTorch", "tensorflow": "TensorFlow"}
FRAMEWORKS = ("pytorch", "tensorflow")
ARITHMETICS = ("float32", "bfloat16")
PIPELINES = {
    ("pytorch", "baseline"): "plain: torchvision `ToTensor`+`Normalize`, `DataLoader` (shuffle, 2 workers), AdamW 1e-3",
    ("pytorch", "package"): "package: in-memory tensors, channels-last, `train_one_epoch` (flips, label smoothing, one-cycle AdamW)",
    ("tensorflow", "baseline"): "plain: `tf.data` normalising image by image, `fit`, Adam 1e-3",
    ("tensorflow", "package"): "package: `make_dataset` + `compile_model` + `fit` (flips, label smoothing, one-cycle Adam)",
}
KINDS = {"baseline": "plain baseline", "package": "package"}
MISSING = "—"
BUSY_SHARE = 0.10  # other processes using more than this share of the CPU make the timings unreliable
RECIPES = {"recipe": "default", "short_recipe": "short"}  # the results key of each recipe, and its name in the tables


def fmt(value, spec: str = ",.0f", suffix: str = "") -> str:
    "`value` formatted with `spec`, or a dash when it is missing."
    return MISSING if value is None else f"{value:{spec}}{suffix}"


def get(d: dict | None, *keys):
    "The value at `keys` in nested dicts, or None where any level is missing."
    for k in keys:
        if not isinstance(d, dict) or k not in d: return None
        d = d[k]
    return d


def rounds_of(workers: dict) -> dict:
    "`{worker: [its result in each round]}`, from a record of rounds or from an older record of one result per worker."
    out = {}
    for name, w in workers.items():
        out[name] = []
        for r in (w if isinstance(w, list) else [w]):
            if "matmul" in r and "matmuls" not in r: r = {**r, "matmuls": {r["matmul"].get("arithmetic", "float32"): r["matmul"]}}
            out[name].append(r)
    return out


def measured(rounds: list[dict], *keys) -> list:
    "The values at `keys` in each round that has them."
    return [v for v in (get(r, *keys) for r in rounds) if v is not None]


def first(rounds: list[dict], *keys):
    "The value at `keys` in the first round that has it."
    return next(iter(measured(rounds, *keys)), None)


def stat_of(rounds: list[dict], *keys) -> dict | None:
    "Median and spread of the values at `keys` over the rounds."
    return median_spread(measured(rounds, *keys))


def arithmetic_family(arithmetic: str | None) -> str | None:
    "The matrix-product arithmetic a training row is compared with: `'bfloat16'` for mixed bfloat16, `'float32'` for float32."
    if not arithmetic: return None
    if "bfloat16" in arithmetic: return "bfloat16"
    return "float32" if arithmetic == "float32" else None


def fraction(value: float | None, of: float | None) -> float | None:
    "`value / of`, or None when either is missing."
    return value / of if value is not None and of else None


def matmul_rows(w: dict, peak: dict | None) -> list[dict]:
    "One row per (framework, arithmetic) matrix product measured: GFLOP/s over the rounds and the share of the peak."
    rows = []
    for fw in FRAMEWORKS:
        for arithmetic in ARITHMETICS:
            g = stat_of(w.get(fw, []), "matmuls", arithmetic, "gflops")
            if not g: continue
            rows.append({"framework": fw, "arithmetic": arithmetic, "size": first(w[fw], "matmuls", arithmetic, "size"), "gflops": g,
                         "peak_fraction": fraction(g["median"], get(peak, arithmetic, "gflops"))})
    return rows


def fastest_matmuls(matmuls: list[dict]) -> dict:
    "`{arithmetic: {framework, gflops}}`: the fastest product (median GFLOP/s) of each arithmetic measured in the run."
    out = {}
    for m in matmuls:
        if m["arithmetic"] not in out or m["gflops"]["median"] > out[m["arithmetic"]]["gflops"]:
            out[m["arithmetic"]] = {"framework": m["framework"], "gflops": m["gflops"]["median"]}
    return out


def ratio_spread(a: dict | None, b: dict | None) -> float | None:
    "The spread of the ratio of two medians: the sum of their spreads (None when either was measured once or not at all)."
    if not a or not b or a["n"] < 2 or b["n"] < 2: return None
    return a["spread"] + b["spread"]


def throughput_rows(w: dict, fastest: dict, peak: dict | None) -> list[dict]:
    """One row per (framework, pipeline) measured: images/s over the rounds (the other figures from its median), the ratio
    of medians to the framework's baseline, the share of the fastest matrix product of the same arithmetic and of the peak."""
    rows = []
    for fw in FRAMEWORKS:
        base_rounds = w.get(fw, []) if measured(w.get(fw, []), "baseline") else w.get(f"{fw}_baseline", [])
        base = stat_of(base_rounds, "baseline", "images_per_second")
        for kind, rounds in (("baseline", base_rounds), ("package", w.get(fw, []))):
            ips = stat_of(rounds, kind, "images_per_second")
            if not ips: continue
            m = first(rounds, kind)
            family = arithmetic_family(m.get("arithmetic"))
            gflops = stat_of(rounds, kind, "gflops")
            ref = fastest.get(family)
            rows.append({"framework": fw, "pipeline": kind, "batch_size": m["batch_size"], "arithmetic": m.get("arithmetic", MISSING),
                         "images_per_second": ips["median"], "images_per_second_spread": ips,
                         "seconds_per_epoch": EPOCH_IMAGES / ips["median"],
                         "speedup": fraction(ips["median"], get(base, "median")),
                         "speedup_spread": None if kind == "baseline" else ratio_spread(ips, base),
                         "gflops": gflops["median"], "gflops_spread": gflops,
                         "matmul_reference": {"framework": ref["framework"], "arithmetic": family} if ref else None,
                         "matmul_fraction": fraction(gflops["median"], get(ref, "gflops")),
                         "peak_fraction": fraction(gflops["median"], get(peak, family, "gflops")), "timed_images": m["timed_images"]})
    return rows


def inference_rows(w: dict) -> list[dict]:
    "One row per framework with inference timings: batch images/s and single-image latency over the rounds."
    rows = []
    for fw in FRAMEWORKS:
        rounds = w.get(fw, [])
        if not measured(rounds, "inference"): continue
        rows.append({"framework": fw, "images_per_second": stat_of(rounds, "inference", "images_per_second"),
                     "single_median_ms": stat_of(rounds, "inference", "single_median_ms"),
                     "single_p90_ms": stat_of(rounds, "inference", "single_p90_ms"),
                     "batch_accuracy": first(rounds, "inference", "batch_accuracy"),
                     "batch_images": first(rounds, "inference", "batch_images"), "single_calls": first(rounds, "inference", "single_calls")})
    return rows


def row_for(rows: list[dict], fw: str, kind: str | None = None) -> dict | None:
    "The row of `fw` (and pipeline `kind`, for throughput rows), if measured."
    return next((r for r in rows if r["framework"] == fw and (kind is None or r["pipeline"] == kind)), None)


def target(name: str, measured, met: bool | None, note: str = "") -> dict:
    "One line of the targets table."
    return {"target": name, "measured": measured, "met": met, "note": note}


def check(value, ok) -> bool | None:
    "`ok(value)`, or None when `value` is missing."
    return None if value is None else bool(ok(value))


def straddles(stat: dict | None, threshold: float) -> str:
    "A note when the threshold lies within the range of the measurements, so that the verdict could go either way."
    if not stat or stat["n"] < 2 or not stat["min"] <= threshold <= stat["max"]: return ""
    return "the threshold lies within the measured range"


def timing_target(name: str, stat: dict | None, threshold: float, higher: bool, spec: str, suffix: str) -> dict:
    "A target on the median of a timing, with a note when its range straddles the threshold."
    value = get(stat, "median")
    met = check(value, (lambda v: v >= threshold) if higher else (lambda v: v < threshold))
    return target(name, fmt(value, spec, suffix), met, straddles(stat, threshold))


def recipe_of(w: dict, fw: str, key: str = "recipe") -> dict | None:
    "The default recipe's summary of `fw` (run once, in the first round); with `key=\"short_recipe\"`, the short recipe's."
    return first(w.get(fw, []), key)


def soonest_to_target(w: dict, fw: str) -> tuple[dict | None, str | None]:
    "The earliest time to the accuracy target on the test set of `fw`'s recipes, and the name of the recipe that reached it."
    reached = [(r["to_target_test"], name) for key, name in RECIPES.items()
               if (r := recipe_of(w, fw, key)) and r["test_scored_each_epoch"] and r["to_target_test"]]
    return min(reached, key=lambda t: t[0]["seconds"]) if reached else (None, None)


def targets(w: dict, rows: list[dict], inference: list[dict], mode: str) -> list[dict]:
    "The issue's targets, each with the figure measured (medians over the rounds) and whether it is met."
    out = []
    torch_pkg, tf_pkg = row_for(rows, "pytorch", "package"), row_for(rows, "tensorflow", "package")
    ratio = fraction(get(tf_pkg, "images_per_second"), get(torch_pkg, "images_per_second"))
    limit = TARGETS["tensorflow_over_pytorch"]
    out.append(target(f"TensorFlow package training ≥ {limit:g}× PyTorch package training (images/s, medians)", fmt(ratio, ".2f", "×"),
                      check(ratio, lambda v: v >= limit)))
    s, limit = get(torch_pkg, "speedup"), TARGETS["pytorch_speedup"]
    out.append(target(f"PyTorch package training ≥ {limit:g}× its plain baseline (images/s, medians)", fmt(s, ".2f", "×"),
                      check(s, lambda v: v >= limit)))
    limit = TARGETS["matmul_fraction"]
    for fw, row in (("pytorch", torch_pkg), ("tensorflow", tf_pkg)):
        family = arithmetic_family(get(row, "arithmetic")) or "bfloat16"
        ref = get(row, "matmul_reference")
        f = get(row, "matmul_fraction")
        note = f"against {NAMES[ref['framework']]}'s {family} product" if ref else f"no {family} product measured"
        out.append(target(f"{NAMES[fw]} package training ({get(row, 'arithmetic') or 'mixed bfloat16'}) ≥ {limit:.0%} of the fastest "
                          f"{family} matmul GFLOP/s", fmt(f, ".0%"), check(f, lambda v: v >= limit), note))
    for fw in FRAMEWORKS:
        recipe = recipe_of(w, fw)
        reached, by = soonest_to_target(w, fw)
        name = f"{NAMES[fw]} {ACCURACY_TARGET:.0%} test accuracy within {TARGETS['seconds_to_target']:g} s of training"
        if recipe is None: out.append(target(name, MISSING, None))
        elif not recipe["test_scored_each_epoch"]: out.append(target(name, MISSING, None, "test set not scored per epoch"))
        elif mode == "quick": out.append(target(name, f"{reached['seconds']:.0f} s (epoch {reached['epoch']})" if reached else "not reached",
                                                None, f"quick mode: a {recipe['epochs_requested']}-epoch recipe"))
        elif reached: out.append(target(name, f"{reached['seconds']:.0f} s (epoch {reached['epoch']})", reached["seconds"] <= TARGETS["seconds_to_target"],
                                        f"the {by} recipe"))
        else: out.append(target(name, "not reached", False))
    for fw in FRAMEWORKS:
        final, limit = get(recipe_of(w, fw), "final_test_accuracy"), TARGETS["final_accuracy"][fw]
        name = f"{NAMES[fw]} 20-epoch default recipe ends at ≥ {limit:.1%} test accuracy"
        if mode == "quick": out.append(target(name, fmt(final, ".2%"), None, "quick mode: a shortened recipe"))
        else: out.append(target(name, fmt(final, ".2%"), check(final, lambda v: v >= limit)))
    for fw in FRAMEWORKS:
        limit = TARGETS["batch_images_per_second"]
        out.append(timing_target(f"{NAMES[fw]} batch `predict` ≥ {limit:,.0f} images/s (median)", get(row_for(inference, fw), "images_per_second"),
                                 limit, True, ",.0f", " images/s"))
    for fw in FRAMEWORKS:
        limit = TARGETS["single_ms"]
        out.append(timing_target(f"{NAMES[fw]} single-image `predict` median < {limit:g} ms", get(row_for(inference, fw), "single_median_ms"),
                                 limit, False, ".2f", " ms"))
    return out


def summarise(workers: dict, mode: str, peak: dict | None = None) -> dict:
    "Matrix products, throughput and inference rows (medians and spreads over the rounds) and targets of one run."
    w = rounds_of(workers)
    matmuls = matmul_rows(w, peak)
    fastest = fastest_matmuls(matmuls)
    rows = throughput_rows(w, fastest, peak)
    inference = inference_rows(w)
    return {"repeats": max((len([r for r in rounds if "error" not in r]) for rounds in w.values()), default=0),
            "matmuls": matmuls, "fastest_matmuls": fastest, "throughput": rows, "inference": inference,
            "targets": targets(w, rows, inference, mode)}


def summary_of(record: dict) -> dict:
    "The summary of a results record, recomputed from its measurements and its CPU's peak (of either format)."
    return summarise(record["workers"], record["mode"], get(record, "cpu", "peak"))


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    "Lines of a Markdown table."
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header), *("| " + " | ".join(r) + " |" for r in rows)]


def spread_cells(stat: dict | None, spec: str = ",.0f") -> list[str]:
    "The median, the range and the spread (± % of the median) of a timing, as three cells; a dash for a single measurement."
    if not stat: return [MISSING] * 3
    if stat["n"] < 2: return [fmt(stat["median"], spec), MISSING, MISSING]
    return [fmt(stat["median"], spec), f"{stat['min']:{spec}}–{stat['max']:{spec}}", f"±{stat['spread']:.1%}"]


def peak_section(cpu: dict | None) -> list[str]:
    "The theoretical peak of the machine, its formula and the assumptions behind it."
    lines = ["## Theoretical peak", ""]
    if not cpu: return lines + ["Not recorded: these results predate it.", ""]
    peak = cpu.get("peak") or {}
    ghz = cpu["mhz"] / 1000 if cpu.get("mhz") else None
    rows = [[a, get(peak, a, "instructions") or "no rule for these flags", fmt(get(peak, a, "flop_per_cycle_per_core"), "d"),
             str(cpu["physical_cores"]), fmt(ghz, ".2f"), fmt(get(peak, a, "gflops"), ",.1f")] for a in ARITHMETICS]
    return lines + [*table(["arithmetic", "instructions", "FLOP per cycle per core", "physical cores", "clock, GHz", "peak GFLOP/s"], rows), "",
                    "Peak GFLOP/s = physical cores × clock (GHz) × FLOP per cycle per core.",
                    f"Physical cores: {cpu['physical_cores']} ({cpu['logical_cpus']} logical CPUs, {cpu['threads_per_core']:g} thread(s) per core; "
                    f"{cpu['cores_from']}; in a virtual machine, as the guest sees them). Clock: {fmt(cpu.get('mhz'), ',.0f')} MHz, "
                    f"the {cpu['clock']} clock ({cpu.get('clock_from', 'source not recorded')}). FLOP per cycle per core from the instruction-set flags "
                    f"({', '.join(cpu.get('flags') or []) or 'none of those the rules use'}), assuming two vector pipes per core: "
                    "AVX2 + FMA 32 float32 (2 FMA pipes × 8 lanes × 2), AVX-512F 64 float32, AVX512-BF16 128 bfloat16 (`vdpbf16ps`, "
                    "2 pipes), AMX-BF16 1,024 bfloat16 (Intel's figure for the AMX tile unit); without bfloat16 instructions, "
                    "bfloat16 at the float32 rate. The clock is the one the guest is told: cores that boost above it under load can "
                    "exceed this peak (a product above 100% says so), and wide vector and AMX code can run below it.", ""]


def matmul_section(summary: dict, settings: dict) -> list[str]:
    "The matrix-product table: GFLOP/s over the rounds and the share of the peak."
    if not summary["matmuls"]: return []
    rows = [[NAMES[m["framework"]], m["arithmetic"], *spread_cells(m["gflops"], ",.1f"), fmt(m["peak_fraction"], ".0%")]
            for m in summary["matmuls"]]
    size = summary["matmuls"][0]["size"]
    calls = settings.get("matmul_repeats", 10)
    return ["## Matrix products", "",
            *table(["framework", "arithmetic", "GFLOP/s (median)", "min–max", "±", "% of peak"], rows), "",
            f"A {size}×{size} product, {2 * size**3 / 1e9:.1f} GFLOP: in each round, the median of {calls} calls after 3 warm-up "
            "calls; the table gives the median of the rounds, their range and the largest distance of a round from the median.", ""]


def reference_note(summary: dict) -> str:
    "Which product each arithmetic's rows are compared with."
    found = [f"{a} rows against {NAMES[r['framework']]}'s {a} product ({r['gflops']:,.1f} GFLOP/s)"
             for a, r in summary["fastest_matmuls"].items()]
    return ("\"% of fastest matmul\" compares each row's GFLOP/s with the fastest matrix product of the same arithmetic in this run "
            "(mixed bfloat16 with bfloat16): " + "; ".join(found) + "." if found else "No matrix product was measured.")


def throughput_section(w: dict, summary: dict) -> list[str]:
    "The training throughput table, what each pipeline is, and the FLOP and matrix-product figures."
    rows = [[NAMES[r["framework"]], KINDS[r["pipeline"]], str(r["batch_size"]), r["arithmetic"], *spread_cells(r["images_per_second_spread"]),
             fmt(r["seconds_per_epoch"], ".1f"), fmt(r["speedup"], ".2f", "×"), fmt(r["gflops"], ".1f"), fmt(r["matmul_fraction"], ".0%"),
             fmt(r["peak_fraction"], ".1%")] for r in summary["throughput"]]
    if not rows: return []
    lines = ["## Training throughput", "",
             *table(["framework", "pipeline", "batch", "arithmetic", "images/s (median)", "min–max", "±", f"s per epoch ({EPOCH_IMAGES:,} images)",
                     "× baseline", "GFLOP/s", "% of fastest matmul", "% of peak"], rows), "",
             *(f"- {NAMES[fw]} {KINDS[kind]}: {PIPELINES[fw, kind].split(': ', 1)[1]}" for fw, kind in PIPELINES
               if row_for(summary["throughput"], fw, kind)), ""]
    flop = first(w.get("pytorch", []), "flop_per_image") or first(w.get("tensorflow", []), "flop_per_image")
    if flop:
        lines.append(f"One training image costs {flop['training_flop'] / 1e6:.1f} MFLOP: {flop['forward_flop'] / 1e6:.2f} MFLOP forward "
                     "(the multiply-adds of the convolution and dense layers, counted on the model, 2 FLOP each), "
                     "three times that with the backward pass.")
    lines.append(reference_note(summary) + " \"% of peak\" compares with the theoretical peak of the same arithmetic.")
    timed = {r["timed_images"] for r in summary["throughput"]}
    state = {True: "on", False: "off", None: "unknown"}
    onednn = [f"{label} {state[first(w.get(fw, []), 'onednn')]}" for fw, label in (("tensorflow_baseline", "baseline"), ("tensorflow", "package"))
              if first(w.get(fw, []), "framework")]
    lines.append(f"Each round times {', '.join(f'{t:,}' for t in sorted(timed))} images per row after a warm-up; the PyTorch plain "
                 "loop and the package's loop alternate in the same process. Images/s: the median of the rounds, their range and "
                 "the largest distance of a round from the median; seconds per epoch, GFLOP/s and the ratio to the baseline "
                 "(of the medians) follow from the medians."
                 + (f" TensorFlow's oneDNN: {', '.join(onednn)}." if onednn else ""))
    return lines + [""]


def recipe_section(w: dict, mode: str) -> list[str]:
    "The default-recipe table: epoch time, time to the accuracy target on the test set, final test accuracy."
    rows, recipes = [], {fw: recipe_of(w, fw) for fw in FRAMEWORKS}
    runs = [(fw, name, r) for key, name in RECIPES.items() for fw in FRAMEWORKS if (r := recipe_of(w, fw, key))]
    for fw, name, r in runs:
        reached = r["to_target_test"] if r["test_scored_each_epoch"] else None
        val = r["to_target_val"]
        rows.append([NAMES[fw], name, str(r["epochs_requested"]), fmt(r["seconds_per_epoch"], ".1f"),
                     f"{reached['seconds']:.0f} s (epoch {reached['epoch']})" if reached else ("not reached" if r["test_scored_each_epoch"] else MISSING),
                     f"{val['seconds']:.0f} s (epoch {val['epoch']})" if val else "not reached",
                     fmt(r["final_test_accuracy"], ".2%"), str(r["best_epoch"]), fmt(r["train_seconds"], ".0f")])
    if not rows: return []
    by_epoch = [f"{NAMES[fw]}, {name}, test accuracy after each epoch: " + ", ".join(fmt(e["test_accuracy"], ".2%") for e in r["epochs"]) + "."
                for fw, name, r in runs if get(r, "test_scored_each_epoch")]
    note = ("Quick mode: the recipe runs for the epochs shown instead of its default, so the one-cycle schedule is compressed and "
            "the accuracy target is usually not reached; the full mode runs the default recipe." if mode == "quick" else
            "The default recipe (`train(TrainConfig())`), run in full, and the short recipe, the default config with "
            f"{', '.join(f'{k}={v!r}' for k, v in SHORT_RECIPE.items())} (`cnn_train --epochs 5 --no-flip`): a complete one-cycle run that "
            "reaches the accuracy target sooner, its flips left out because a short run has no time to learn from them.")
    return ["## Default recipe", "",
            *table(["framework", "recipe", "epochs", "s per epoch (train + validation)", f"{ACCURACY_TARGET:.0%} test accuracy after",
                    f"{ACCURACY_TARGET:.0%} validation accuracy after", "final test accuracy", "best epoch", "training s"], rows), "",
            note + " Each recipe trains once per framework, in the first round (it takes minutes; the later rounds time inference on its "
            "checkpoint). Times to the target sum the training seconds the run records per epoch (training and validation), up to "
            "the first epoch reaching it; the test set is scored after every epoch outside those seconds. The final test accuracy "
            "is that of the epoch kept on validation, as `train` reports it.", "", *(line + "  " for line in by_epoch), ""]


def inference_section(summary: dict) -> list[str]:
    "The inference table: batch throughput and single-image latency of `load_predictor(...).predict`, over the rounds."
    found = summary["inference"]
    if not found: return []
    rows = [[NAMES[i["framework"]], *spread_cells(i["images_per_second"]), *spread_cells(i["single_median_ms"], ".3f"),
             fmt(get(i, "single_p90_ms", "median"), ".3f"), fmt(i["batch_accuracy"], ".2%")] for i in found]
    return ["## Inference", "",
            *table(["framework", f"batch of {found[0]['batch_images']:,}: images/s (median)", "min–max", "±", "one image: ms (median)",
                    "min–max", "±", "one image: p90 ms", "accuracy of the batch"], rows), "",
            "`load_predictor(run folder)` on the checkpoint the recipe wrote; uint8 test images. In each round, the batch is "
            f"the median of its repeats after a warm-up, and one image the median (and 90th percentile) of {found[0]['single_calls']} "
            "calls after 20 warm-up calls; the table gives the median of the rounds, their range and the largest distance of a "
            "round from the median (the p90 column: the median of the rounds).", ""]


def targets_section(summary: dict) -> list[str]:
    "The targets table."
    mark = {True: "yes", False: "**no**", None: MISSING}
    rows = [[t["target"], t["measured"], mark[t["met"]], t["note"]] for t in summary["targets"]]
    return ["## Targets", "", *table(["target", "measured", "met", "note"], rows), "",
            "Judged on the medians of the rounds. Quick mode leaves the accuracy targets unjudged.", ""]


def errors_section(w: dict) -> list[str]:
    "The workers that failed, if any, round by round."
    failed = [f"- {name}, round {i}: {r['error']}" for name, rounds in w.items() for i, r in enumerate(rounds, 1) if "error" in r]
    return ["## Failures", "", *failed, ""] if failed else []


def contention(w: dict) -> str:
    "The share of the machine other processes used (and the host stole) while each worker ran, round by round."
    found = []
    for name, rounds in w.items():
        shares = [r["contention"] for r in rounds if r.get("contention")]
        if not shares: continue
        others = " / ".join(f"{c['other_processes']:.0%}" for c in shares)
        stolen = " / ".join(f"{c['stolen']:.0%}" for c in shares)
        found.append(f"{name} {others} ({stolen})")
    return "; ".join(found) or MISSING


def busy_warning(w: dict) -> list[str]:
    "A warning when other work took a noticeable share of the machine during the run."
    shares = [r["contention"]["other_processes"] + r["contention"]["stolen"] for rounds in w.values() for r in rounds if r.get("contention")]
    if not shares or max(shares) < BUSY_SHARE: return []
    return [f"**The machine was busy with other work during this run (up to {max(shares):.0%} of its CPU while a worker ran): the "
            "figures are not reliable. Run again on an idle machine.**", ""]


def rounds_line(w: dict, repeats: int) -> str:
    "How the run was measured: its rounds and the order of the workers in each."
    order = ", ".join(name for name in w)
    if repeats < 2: return f"- rounds: {repeats} (no spread: each timing measured once)"
    return f"- rounds: {repeats}, interleaved (each round runs {order}, each worker measuring each of its timings once)"


def markdown(record: dict) -> str:
    "The whole report as Markdown."
    w, mode = rounds_of(record["workers"]), record["mode"]
    summary = record["summary"] if get(record, "summary", "matmuls") is not None else summary_of(record)
    versions = ", ".join(f"{k} {v}" for k, v in record["versions"].items())
    lines = [f"# Benchmark ({mode} mode)", "",
             f"- machine: {record['machine']}", f"- date: {record['date']}", f"- command: `{record['command']}`",
             f"- versions: {versions}", f"- package commit: {record.get('commit') or MISSING}", rounds_line(w, summary["repeats"]),
             f"- CPU time taken by other processes (and stolen by the host) while each worker ran, round by round: {contention(w)}", "",
             *busy_warning(w), *peak_section(record.get("cpu")), *matmul_section(summary, record.get("settings", {})),
             *throughput_section(w, summary), *recipe_section(w, mode), *inference_section(summary),
             *targets_section(summary), *errors_section(w)]
    return "\n".join(lines).rstrip() + "\n"


# The comparison of two runs.

def headline_figures(record: dict) -> dict:
    """`{figure: {value, spread, n, higher_is_better}}`: the headline figures of a results record, recomputed from its
    measurements (so that a file of the older format compares too). `spread` is a fraction of the value; `n` the number of
    measurements behind it (1: no spread)."""
    s = summary_of(record)
    out = {}

    def add(name, stat, spec=",.0f", higher=True, spread=None, points=False, missing=False):
        if stat is None and not missing: return
        if isinstance(stat, dict): stat, spread, n = stat["median"], stat["spread"], stat["n"]
        else: n = 1 if spread is None else 2
        out[name] = {"value": stat, "spread": spread, "n": n, "higher_is_better": higher, "spec": spec, "points": points}

    for m in s["matmuls"]: add(f"{NAMES[m['framework']]} {m['arithmetic']} matmul, GFLOP/s", m["gflops"], ",.1f")
    for r in s["throughput"]:
        add(f"{NAMES[r['framework']]} {r['pipeline']} training, images/s", r["images_per_second_spread"])
    for r in s["throughput"]:
        if r["pipeline"] == "package": add(f"{NAMES[r['framework']]} package × plain baseline", r["speedup"], ".2f", spread=r["speedup_spread"])
    for i in s["inference"]:
        add(f"{NAMES[i['framework']]} batch predict, images/s", i["images_per_second"])
        add(f"{NAMES[i['framework']]} single-image predict, median ms", i["single_median_ms"], ".3f", higher=False)
    w = rounds_of(record["workers"])
    for fw in FRAMEWORKS:
        recipe = recipe_of(w, fw)
        if get(recipe, "test_scored_each_epoch"):  # None: not reached
            add(f"{NAMES[fw]} {ACCURACY_TARGET:.0%} test accuracy after, s of training", get(recipe, "to_target_test", "seconds"), ".0f",
                higher=False, missing=True)
        short = recipe_of(w, fw, "short_recipe")
        if get(short, "test_scored_each_epoch"):
            add(f"{NAMES[fw]} short recipe: {ACCURACY_TARGET:.0%} test accuracy after, s of training", get(short, "to_target_test", "seconds"), ".0f",
                higher=False, missing=True)
        final = get(recipe, "final_test_accuracy")
        if final is not None: add(f"{NAMES[fw]} final test accuracy, %", 100 * final, ".2f", points=True)
    return out


def compare(old: dict, new: dict) -> list[dict]:
    """Each headline figure of `old` and `new`, in the new run's order: both values, the change (a fraction of the old
    value, positive when the new one is higher; in points for accuracies), whether it is for the better, and whether it is
    larger than the combined spread (the sum of both spreads, as fractions of the value)."""
    a, b = headline_figures(old), headline_figures(new)
    single = {name for name in {*a, *b} if "accuracy" in name}  # the recipe trains once per run
    rows = []
    for name in [*b, *(n for n in a if n not in b)]:
        o, n = a.get(name), b.get(name)
        row = {"figure": name, "old": get(o, "value"), "new": get(n, "value"), "spec": (o or n)["spec"], "change": None, "better": None, "beyond_spread": None, "note": ""}
        if o is None or n is None: row["note"] = "not measured in the old run" if o is None else "not measured in the new run"
        elif o["value"] is None or n["value"] is None:
            row["note"] = " and ".join(f"not reached in the {which} run" for which, f in (("old", o), ("new", n)) if f["value"] is None)
        elif o["value"]:
            row["points"] = o["points"]
            row["change"] = n["value"] - o["value"] if o["points"] else n["value"] / o["value"] - 1
            row["better"] = (row["change"] > 0) == o["higher_is_better"] if row["change"] else None
            if name in single: row["note"] = "single training run: no spread"
            elif o["n"] < 2 or o["spread"] is None: row["note"] = "no spread recorded"
            elif n["n"] < 2 or n["spread"] is None: row["note"] = "no spread recorded (new run)"
            else:
                combined = o["spread"] + n["spread"]
                row["beyond_spread"] = abs(row["change"]) > combined
                row["note"] = f"combined spread ±{combined:.1%}"
        rows.append(row)
    return rows


def comparison_markdown(old: dict, new: dict, old_name: str = "old", new_name: str = "new") -> str:
    "The comparison of two results records as a Markdown table, with what differs between the two runs."
    mark = {True: "**yes**", False: "no", None: MISSING}
    rows = [[r["figure"], fmt(r["old"], r["spec"]), fmt(r["new"], r["spec"]),
             MISSING if r["change"] is None else (f"{r['change']:+.2f} points" if r.get("points") else f"{r['change']:+.1%}")
             + ("" if r["better"] is None else (" (better)" if r["better"] else " (worse)")),
             mark[r["beyond_spread"]] if r["beyond_spread"] is not None else r["note"],
             r["note"] if r["beyond_spread"] is not None else ""] for r in compare(old, new)]
    notes = [f"- old: {old_name} ({old['mode']} mode, {old['date']}, {old['machine']}, commit {old.get('commit') or MISSING})",
             f"- new: {new_name} ({new['mode']} mode, {new['date']}, {new['machine']}, commit {new.get('commit') or MISSING})"]
    if old["mode"] != new["mode"]:
        notes.append(f"- the modes differ ({old['mode']} and {new['mode']}): timings cover different numbers of images and the recipes "
                     "different numbers of epochs, so only like figures compare")
    if old["machine"] != new["machine"]: notes.append("- the machines differ: the timings compare machines as much as code")
    return "\n".join(["# Comparison", "", *notes, "",
                      *table(["figure", "old", "new", "change", "larger than the combined spread?", "spread"], rows), "",
                      "Values are medians over each run's rounds. The combined spread is the sum of both runs' spreads (the largest "
                      "distance of a round from its median, in % of the median; for a ratio, the sum of its two figures' spreads). "
                      "Accuracies change in percentage points. A file made before the benchmark had rounds holds one measurement per figure: "
                      "no spread recorded."]) + "\n"
