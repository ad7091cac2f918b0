"README's figures, checked against the committed artifacts they come from: the reference runs and the benchmark."
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
RUNS = {(fw, model): json.loads((ROOT / "artifacts" / f"{fw}_{model}" / "metrics.json").read_text())
        for fw in ("pytorch", "tensorflow") for model in ("cnn", "resnet")}
BENCH = json.loads((ROOT / "benchmarks" / "results" / "results.json").read_text())
MODELS = {"CNN": "cnn", "ResNet-20": "resnet"}


def table_rows(first_header: str) -> list[list[str]]:
    "The body rows of the README table whose header row starts with `first_header`, as lists of stripped cells."
    lines = README.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(first_header))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"): break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def minutes(seconds: float) -> str:
    return f"{int(seconds // 60)} min {round(seconds % 60)} s"


def test_the_results_table_is_the_reference_runs():
    rows = table_rows("| framework | model | test accuracy")
    assert len(rows) == 4
    for framework, model, acc, best, per_epoch, total, params in rows:
        fw = "pytorch" if framework.startswith("PyTorch") else "tensorflow"
        m = RUNS[fw, MODELS[model]]
        assert m["framework_version"].split("+")[0] in framework, (framework, m["framework_version"])
        assert acc == f"**{m['test_accuracy']:.2%}**"
        assert best == f"{m['best_epoch']} of {m['epochs_completed']}"
        assert per_epoch == f"{m['seconds_per_epoch']:.1f}"
        assert total == minutes(m["train_seconds"])
        assert params == f"{m['parameter_count']:,}"


def points(x: float) -> str:
    return f"{abs(x) * 100:.1f}"


def test_the_results_text_is_the_reference_runs():
    acc = {k: m["test_accuracy"] for k, m in RUNS.items()}
    gains = {points(acc[fw, "resnet"] - acc[fw, "cnn"]) for fw in ("pytorch", "tensorflow")}
    assert gains == {"0.6"} and "beats the CNN by 0.6 points in both frameworks" in README
    assert f"by {points(0.945 - acc['pytorch', 'resnet'])} and {points(0.945 - acc['tensorflow', 'resnet'])} points" in README
    assert f"TensorFlow's CNN ends {points(0.932 - acc['tensorflow', 'cnn'])}\npoints below the 93.2%" in README
    fewer = 1 - RUNS["pytorch", "resnet"]["parameter_count"] / RUNS["pytorch", "cnn"]["parameter_count"]
    assert round(fewer * 3) == 1 and "a third fewer parameters" in README  # 35%: about a third


def test_the_performance_table_is_the_committed_benchmark():
    summary = BENCH["summary"]
    flow = {(r["framework"], r["pipeline"]): r for r in summary["throughput"]}
    rows = {r[0]: r[1:] for r in table_rows("| | PyTorch | TensorFlow |")}
    training = rows["training, package against the plain baseline"]
    for cell, fw in zip(training, ("pytorch", "tensorflow")):
        package, base = flow[fw, "package"], flow[fw, "baseline"]
        spread = package["images_per_second_spread"]["spread"] * 100
        assert cell == f"{package['images_per_second']:,.0f} (±{spread:.1f}%) against {base['images_per_second']:,.0f} " \
                       f"images/s: **{package['speedup']:.2f}×**"
    matmul = summary["fastest_matmuls"]["bfloat16"]["gflops"]
    (label, *gflops), = [(k, *v) for k, v in rows.items() if k.startswith("achieved GFLOP/s")]
    assert f"({matmul:,.0f})" in label
    for cell, fw in zip(gflops, ("pytorch", "tensorflow")):
        assert cell == f"{flow[fw, 'package']['gflops']:.1f} ({flow[fw, 'package']['gflops'] / matmul:.0%})"
    inference = {r["framework"]: r for r in summary["inference"]}
    for cell, fw in zip(rows["`predict` on 10,000 images"], ("pytorch", "tensorflow")):
        ips = inference[fw]["images_per_second"]
        assert cell == f"{ips['median']:,.0f} images/s (±{ips['spread'] * 100:.1f}%)"
    for cell, fw in zip(rows["`predict` on one image, median"], ("pytorch", "tensorflow")):
        assert cell == f"{inference[fw]['single_median_ms']['median']:.2f} ms"


@pytest.mark.parametrize("target", [t["target"] for t in BENCH["summary"]["targets"]])
def test_every_measured_target_is_quoted_as_measured(target):
    "Each target's measured figure, as the benchmark wrote it, appears in README (times with their epoch in the table)."
    measured = next(t["measured"] for t in BENCH["summary"]["targets"] if t["target"] == target)
    figure = re.sub(r" images/s$", "", measured)
    if "within 45 s" in target: figure = measured.split(" (")[0]
    assert figure in README, (target, measured)
