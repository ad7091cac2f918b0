"The benchmark's pure functions: the peak from the CPU's flags, medians and spreads, efficiency, targets, and the comparison of two runs."
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))

import bench_common as bc  # noqa: E402
import bench_report as br  # noqa: E402
import run  # noqa: E402

FLOP = 25_000_000  # training FLOP per image of the synthetic records
SAPPHIRE = ["fpu", "sse2", "avx", "avx2", "fma", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile"]


def cpuinfo(blocks):
    "The text of a /proc/cpuinfo made of one block per logical CPU."
    return "\n\n".join("\n".join(f"{k}\t: {v}" for k, v in b.items()) for b in blocks) + "\n"


def test_peak_from_flags_cores_and_clock():
    peak = bc.theoretical_peak(SAPPHIRE, 2, 2600)
    assert peak["float32"] == {"instructions": "AVX-512F FMA", "flop_per_cycle_per_core": 64, "gflops": pytest.approx(332.8)}
    assert peak["bfloat16"]["flop_per_cycle_per_core"] == 1024
    assert peak["bfloat16"]["gflops"] == pytest.approx(5324.8)
    avx512_bf16 = bc.theoretical_peak(["avx2", "fma", "avx512f", "avx512_bf16"], 4, 3000)
    assert avx512_bf16["bfloat16"]["gflops"] == pytest.approx(4 * 3.0 * 128)
    assert avx512_bf16["float32"]["gflops"] == pytest.approx(4 * 3.0 * 64)


def test_peak_without_bfloat16_instructions_is_the_float32_rate():
    peak = bc.theoretical_peak(["sse2", "avx", "avx2", "fma"], 8, 3500)
    assert peak["float32"]["gflops"] == pytest.approx(8 * 3.5 * 32)
    assert peak["bfloat16"]["gflops"] == pytest.approx(8 * 3.5 * 32)
    assert "as float32" in peak["bfloat16"]["instructions"]
    assert bc.theoretical_peak(["avx2"], 8, 3500) == {"float32": None, "bfloat16": None}  # AVX2 without FMA: no rule
    assert bc.theoretical_peak(SAPPHIRE, 2, None) == {"float32": None, "bfloat16": None}


def test_cpu_facts_count_physical_cores_not_threads():
    threads = [{"processor": i, "model name": "Test CPU", "physical id": 0, "core id": i // 2, "siblings": 4, "cpu cores": 2,
                "cpu MHz": 2000.0 + i, "flags": " ".join(SAPPHIRE)} for i in range(4)]
    facts = bc.cpu_facts(cpuinfo(threads))
    assert (facts["logical_cpus"], facts["physical_cores"], facts["threads_per_core"]) == (4, 2, 2.0)
    assert (facts["mhz"], facts["clock"]) == (2003.0, "current")
    assert facts["flags"] == SAPPHIRE and facts["model"] == "Test CPU"
    no_core_ids = [{k: v for k, v in b.items() if k != "core id"} for b in threads]
    assert bc.cpu_facts(cpuinfo(no_core_ids))["physical_cores"] == 2  # 4 logical ÷ (4 siblings ÷ 2 cores)
    with_max = bc.cpu_facts(cpuinfo(threads), max_khz="3500000\n")
    assert (with_max["mhz"], with_max["clock"], with_max["clock_from"]) == (3500.0, "maximum", "cpufreq's cpuinfo_max_freq")


def test_median_and_spread():
    s = bc.median_spread([100.0, 90.0, None, 120.0])
    assert s == {"median": 100.0, "min": 90.0, "max": 120.0, "spread": pytest.approx(0.2), "n": 3, "values": [100.0, 90.0, 120.0]}
    assert bc.median_spread([5.0])["spread"] == 0.0
    assert bc.median_spread([]) is None and bc.median_spread([None]) is None
    assert br.spread_cells(s) == ["100", "90–120", "±20.0%"]
    assert br.spread_cells(bc.median_spread([5.0])) == ["5", "—", "—"]


def training(ips: float, batch: int, arithmetic: str) -> dict:
    "A throughput measurement of `ips` images/s."
    return {**bc.throughput(12_800, 12_800 / ips, FLOP), "batch_size": batch, "steps": 12_800 // batch, "arithmetic": arithmetic}


def recipe(final: float, seconds_to_92: float | None) -> dict:
    "A recipe summary reaching 92% test accuracy after `seconds_to_92` (None: never)."
    reached = {"epoch": 5, "seconds": seconds_to_92} if seconds_to_92 else None
    return {"epochs_requested": 20, "epochs": [{"epoch": 1, "seconds": 5.0, "val_accuracy": 0.9, "test_accuracy": 0.9}],
            "test_scored_each_epoch": True, "train_seconds": 100.0, "seconds_per_epoch": 5.0, "wall_seconds": 110.0,
            "to_target_test": reached, "to_target_val": reached, "best_epoch": 19, "best_val_accuracy": final, "final_test_accuracy": final,
            "parameter_count": 1000}


def inference(ips: float, ms: float) -> dict:
    return {"batch_images": 10_000, "images_per_second": ips, "single_median_ms": ms, "single_p90_ms": ms * 1.2,
            "batch_accuracy": 0.93, "single_calls": 200}


def synthetic_workers(scale=(1.0, 1.1, 0.9)) -> dict:
    "Three rounds of the three workers; round i's timings are the base figures times `scale[i]` (latency divided)."
    workers = {"pytorch": [], "tensorflow_baseline": [], "tensorflow": []}
    for i, k in enumerate(scale):
        mm = lambda g32, g16: {"float32": {"size": 2048, "gflops": g32 * k}, "bfloat16": {"size": 2048, "gflops": g16 * k}}
        workers["pytorch"].append({"framework": "pytorch", "flop_per_image": bc.flop_counts(FLOP // 6), "matmuls": mm(100, 400),
                                   "baseline": training(1000 * k, 64, "float32"), "package": training(4000 * k, 128, "mixed bfloat16"),
                                   "inference": inference(20_000 * k, 0.4 / k), **({"recipe": recipe(0.935, 40.0)} if i == 0 else {})})
        workers["tensorflow_baseline"].append({"framework": "tensorflow", "onednn": True, "baseline": training(1500 * k, 64, "float32")})
        workers["tensorflow"].append({"framework": "tensorflow", "onednn": True, "flop_per_image": bc.flop_counts(FLOP // 6),
                                      "matmuls": mm(150, 300), "package": training(3000 * k, 128, "mixed bfloat16"),
                                      "inference": inference(10_000 * k, 0.6 / k), **({"recipe": recipe(0.931, None)} if i == 0 else {})})
    return workers


def record(workers: dict, mode: str = "full", date: str = "2026-12-02T00:00:00+00:00") -> dict:
    cpu = {"model": "Test CPU", "logical_cpus": 2, "physical_cores": 2, "threads_per_core": 1.0, "cores_from": "test", "mhz": 2500.0,
           "clock": "current", "clock_from": "test", "flags": ["avx2", "fma", "avx512f", "amx_bf16"], "peak": bc.theoretical_peak(SAPPHIRE, 2, 2500)}
    return {"mode": mode, "command": "python benchmarks/run.py", "date": date, "machine": "Test CPU, 2 logical cores", "cpu_count": 2,
            "cpu": cpu, "commit": "abc1234", "versions": {"python": "3.11"}, "settings": bc.settings_for(mode == "quick").to_dict(),
            "summary": br.summarise(workers, mode, cpu["peak"]), "workers": workers}


def test_efficiency_against_the_fastest_product_of_the_same_arithmetic():
    s = br.summarise(synthetic_workers(), "full", bc.theoretical_peak(SAPPHIRE, 2, 2500))
    assert s["repeats"] == 3
    assert s["fastest_matmuls"] == {"float32": {"framework": "tensorflow", "gflops": 150.0}, "bfloat16": {"framework": "pytorch", "gflops": 400.0}}
    rows = {(r["framework"], r["pipeline"]): r for r in s["throughput"]}
    torch_pkg = rows["pytorch", "package"]
    assert torch_pkg["gflops"] == pytest.approx(4000 * FLOP / 1e9)  # 100 GFLOP/s
    assert torch_pkg["matmul_reference"] == {"framework": "pytorch", "arithmetic": "bfloat16"}
    assert torch_pkg["matmul_fraction"] == pytest.approx(100 / 400)
    assert torch_pkg["peak_fraction"] == pytest.approx(100 / 5120)  # 2 cores × 2.5 GHz × 1024
    base = rows["pytorch", "baseline"]  # 25 GFLOP/s in float32, against TensorFlow's 150
    assert base["matmul_reference"] == {"framework": "tensorflow", "arithmetic": "float32"}
    assert base["matmul_fraction"] == pytest.approx(25 / 150)
    assert base["peak_fraction"] == pytest.approx(25 / 320)
    assert torch_pkg["speedup"] == pytest.approx(4.0)
    assert torch_pkg["speedup_spread"] == pytest.approx(0.2)  # 10% on each side
    assert torch_pkg["images_per_second_spread"]["values"] == pytest.approx([4000, 4400, 3600])
    assert rows["tensorflow", "package"]["speedup"] == pytest.approx(2.0)  # against the baseline's own process
    matmuls = {(m["framework"], m["arithmetic"]): m for m in s["matmuls"]}
    assert matmuls["tensorflow", "float32"]["peak_fraction"] == pytest.approx(150 / 320)
    inference = {i["framework"]: i for i in s["inference"]}
    assert inference["pytorch"]["single_median_ms"]["median"] == pytest.approx(0.4)


def test_targets_on_a_synthetic_record():
    met = {t["target"]: (t["measured"], t["met"]) for t in br.summarise(synthetic_workers(), "full")["targets"]}
    assert met["TensorFlow package training ≥ 0.9× PyTorch package training (images/s, medians)"] == ("0.75×", False)
    assert met["PyTorch package training ≥ 3.5× its plain baseline (images/s, medians)"] == ("4.00×", True)
    assert met["PyTorch package training (mixed bfloat16) ≥ 50% of the fastest bfloat16 matmul GFLOP/s"] == ("25%", False)
    assert met["TensorFlow package training (mixed bfloat16) ≥ 50% of the fastest bfloat16 matmul GFLOP/s"] == ("19%", False)
    assert met["PyTorch 92% test accuracy within 45 s of training"] == ("40 s (epoch 5)", True)
    assert met["TensorFlow 92% test accuracy within 45 s of training"] == ("not reached", False)
    assert met["PyTorch 20-epoch default recipe ends at ≥ 93.4% test accuracy"] == ("93.50%", True)
    assert met["TensorFlow 20-epoch default recipe ends at ≥ 93.2% test accuracy"] == ("93.10%", False)
    assert met["PyTorch batch `predict` ≥ 15,000 images/s (median)"] == ("20,000 images/s", True)
    assert met["TensorFlow batch `predict` ≥ 15,000 images/s (median)"] == ("10,000 images/s", False)
    assert met["PyTorch single-image `predict` median < 0.5 ms"] == ("0.40 ms", True)
    assert met["TensorFlow single-image `predict` median < 0.5 ms"] == ("0.60 ms", False)
    assert len(met) == 12


def test_quick_mode_leaves_the_accuracy_targets_unjudged_and_a_straddled_threshold_is_noted():
    workers = synthetic_workers(scale=(1.0, 1.3, 0.7))  # PyTorch latency 0.31–0.57 ms around 0.4: straddles 0.5
    found = {t["target"]: t for t in br.summarise(workers, "quick")["targets"]}
    accuracy = [t for name, t in found.items() if "accuracy" in name]
    assert len(accuracy) == 4 and all(t["met"] is None for t in accuracy)
    assert found["PyTorch single-image `predict` median < 0.5 ms"]["met"] is True
    assert found["PyTorch single-image `predict` median < 0.5 ms"]["note"] == "the threshold lies within the measured range"
    assert found["TensorFlow batch `predict` ≥ 15,000 images/s (median)"]["note"] == ""  # 7,000–13,000


def old_format(workers: dict) -> dict:
    "The record a run made before rounds: one result per worker, a float32 `matmul`, no CPU facts."
    single = {}
    for name, rounds in workers.items():
        r = dict(rounds[0])
        if "matmuls" in r: r["matmul"] = r.pop("matmuls")["float32"]
        single[name] = r
    rec = record(workers)
    del rec["cpu"]
    return {**rec, "workers": single, "summary": {"throughput": [], "matmul_reference": "pytorch", "targets": []}}


def test_an_old_results_file_loads_as_one_round():
    old = old_format(synthetic_workers())
    s = br.summarise(old["workers"], old["mode"])
    assert s["repeats"] == 1
    assert s["matmuls"][0]["gflops"]["values"] == [100.0] and [m["arithmetic"] for m in s["matmuls"]] == ["float32", "float32"]
    text = br.markdown(old)
    assert "Not recorded: these results predate it." in text
    assert "- rounds: 1 (no spread: each timing measured once)" in text
    assert "| PyTorch | package | 128 | mixed bfloat16 | 4,000 | — | — |" in text


def test_comparison_of_two_runs():
    old = record(synthetic_workers())
    new = record(synthetic_workers(scale=(1.5, 1.6, 1.4)))  # the median 50% faster, spread ±6.7%
    rows = {r["figure"]: r for r in br.compare(old, new)}
    pkg = rows["PyTorch package training, images/s"]
    assert (pkg["old"], pkg["new"]) == (pytest.approx(4000), pytest.approx(6000))
    assert pkg["change"] == pytest.approx(0.5) and pkg["better"] is True
    assert pkg["beyond_spread"] is True and pkg["note"] == "combined spread ±16.7%"
    latency = rows["PyTorch single-image predict, median ms"]
    assert latency["change"] == pytest.approx(1 / 1.5 - 1) and latency["better"] is True  # lower is better
    assert rows["PyTorch package × plain baseline"]["change"] == pytest.approx(0.0)
    assert rows["PyTorch package × plain baseline"]["beyond_spread"] is False
    assert rows["PyTorch final test accuracy, %"]["note"] == "single training run: no spread"
    assert rows["PyTorch 92% test accuracy after, s of training"]["change"] == pytest.approx(0.0)
    assert rows["TensorFlow 92% test accuracy after, s of training"]["note"] == "not reached in the old run and not reached in the new run"
    same = {r["figure"]: r for r in br.compare(old, record(synthetic_workers(scale=(1.05, 1.1, 0.95))))}
    assert same["PyTorch package training, images/s"]["beyond_spread"] is False  # +5% within ±20%


def test_comparison_with_an_old_file_says_no_spread_was_recorded():
    rows = {r["figure"]: r for r in br.compare(old_format(synthetic_workers()), record(synthetic_workers()))}
    assert rows["PyTorch package training, images/s"]["note"] == "no spread recorded"
    assert rows["PyTorch package training, images/s"]["beyond_spread"] is None
    assert rows["PyTorch package training, images/s"]["change"] == pytest.approx(0.0)
    assert rows["PyTorch bfloat16 matmul, GFLOP/s"]["note"] == "not measured in the old run"


def test_compare_against_reads_two_files_and_measures_nothing(tmp_path, capsys):
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text(json.dumps(old_format(synthetic_workers())))
    new.write_text(json.dumps(record(synthetic_workers(scale=(2.0, 2.2, 1.8)))))
    assert run.main(["--compare", str(old), "--against", str(new)]) == 0
    out = capsys.readouterr().out
    assert "| PyTorch package training, images/s | 4,000 | 8,000 | +100.0% (better) | no spread recorded |  |" in out
    assert "| PyTorch single-image predict, median ms | 0.400 | 0.200 | -50.0% (better) | no spread recorded |  |" in out
    assert "| PyTorch final test accuracy, % | 93.50 | 93.50 | +0.00 points | single training run: no spread |  |" in out
    assert out.index("PyTorch bfloat16 matmul") < out.index("PyTorch baseline training")  # in the new run's order


def test_a_new_record_reads_well():
    rec = record(synthetic_workers())
    assert br.summary_of(rec) == rec["summary"]
    text = br.markdown(rec)
    assert "- rounds: 3, interleaved (each round runs pytorch, tensorflow_baseline, tensorflow" in text
    assert "| float32 | AVX-512F FMA | 64 | 2 | 2.50 | 320.0 |" in text
    assert "Clock: 2,500 MHz, the current clock (test)." in text
    assert "| PyTorch | bfloat16 | 400.0 | 360.0–440.0 | ±10.0% | 8% |" in text
    assert "| PyTorch | package | 128 | mixed bfloat16 | 4,000 | 3,600–4,400 | ±10.0% | 13.8 | 4.00× | 100.0 | 25% | 2.0% |" in text
    assert "bfloat16 rows against PyTorch's bfloat16 product (400.0 GFLOP/s)" in text
    assert "float32 rows against TensorFlow's float32 product (150.0 GFLOP/s)" in text


def test_time_to_target_takes_the_recipe_that_gets_there_first():
    workers = synthetic_workers()
    workers["tensorflow"][0]["short_recipe"] = recipe(0.925, 38.0)  # the default recipe never reaches 92%
    workers["pytorch"][0]["short_recipe"] = recipe(0.927, 44.0)     # later than the default recipe's 40 s
    targets = {t["target"]: t for t in br.summarise(workers, "full")["targets"]}
    tf_target, torch_target = (targets[f"{fw} 92% test accuracy within 45 s of training"] for fw in ("TensorFlow", "PyTorch"))
    assert (tf_target["measured"], tf_target["met"], tf_target["note"]) == ("38 s (epoch 5)", True, "the short recipe")
    assert (torch_target["measured"], torch_target["met"], torch_target["note"]) == ("40 s (epoch 5)", True, "the default recipe")
    assert targets["TensorFlow 20-epoch default recipe ends at ≥ 93.2% test accuracy"]["measured"] == "93.10%"  # the default's, not the short's
