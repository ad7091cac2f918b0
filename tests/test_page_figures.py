"Figures quoted in the prose of the pages and README, checked against the committed artifacts they come from."
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
ACCURACY = {fw: json.loads((ROOT / "artifacts" / f"{fw}_cnn" / "metrics.json").read_text())["test_accuracy"]
            for fw in ("pytorch", "tensorflow")}
VARIANTS = json.loads((ROOT / "benchmarks" / "results" / "variants.json").read_text())["rows"]


def prose(page: str) -> str:
    "The markdown of a page, its lines joined by spaces, so that a quoted sentence may wrap anywhere."
    cells = json.loads((ROOT / "nbs" / page).read_text(encoding="utf-8"))["cells"]
    return re.sub(r"\s+", " ", " ".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown"))


def variant(framework: str, name: str, batch: int = 128) -> float:
    "Images per second of one row of the committed table of variants."
    return next(r["images_per_second"] for r in VARIANTS
                if r["framework"] == framework and r["variant"] == name and r["batch_size"] == batch)


def test_the_reference_accuracies_quoted_on_the_pages():
    quoted = f"{ACCURACY['pytorch']:.2%} and {ACCURACY['tensorflow']:.2%}"
    assert f"their `metrics.json` files say {quoted}" in prose("learnt.ipynb")
    assert (f"reaches {ACCURACY['pytorch']:.2%} on Fashion-MNIST in PyTorch and {ACCURACY['tensorflow']:.2%} in "
            f"TensorFlow") in prose("resnet/pytorch.ipynb")


def test_keras_batch_norm_figures():
    unfused = variant("tensorflow", "mixed bfloat16, Keras's own (unfused) `BatchNormalization`")
    fused = variant("tensorflow", "mixed bfloat16")
    assert unfused < fused / 2 and "less than half the speed with Keras's own layer" in prose("tensorflow/03_model.ipynb")
    pytorch = variant("pytorch", "channels-last, mixed bfloat16")
    assert round(unfused / pytorch, 1) == 0.5 and "it was about half as fast before its batch norm ran" in README


def test_bfloat16_speed_up_quoted_on_the_config_page():
    pytorch = variant("pytorch", "channels-last, mixed bfloat16") / variant("pytorch", "channels-last, float32")
    keras = variant("tensorflow", "mixed bfloat16") / variant("tensorflow", "float32")
    assert (f"bfloat16 trained this network {pytorch:.1f} times as fast as float32 in PyTorch and {keras:.1f} times in "
            "Keras") in prose("common/01_config.ipynb")
    assert json.loads((ROOT / "benchmarks" / "results" / "variants.json").read_text())["machine"].startswith("Intel(R) Xeon(R)")
    assert "Intel Xeon of the committed benchmark (`benchmarks/results/variants.md`), which computes bfloat16 natively" \
        in prose("common/01_config.ipynb")
    native = [r for r in VARIANTS if r["variant"] in ("channels-last, mixed bfloat16", "mixed bfloat16") and r["batch_size"] == 128]
    assert native and all(r.get("default") for r in native), native  # the run chose bfloat16 itself: the processor has it
