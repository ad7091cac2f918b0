"The checklist script: one experiment in one framework, one epoch on a slice, run by `cnn_train` and collected."
import json
import subprocess
import sys
from pathlib import Path

import pytest

from cnn_tutorial.common.data import find_dataset_dir
from cnn_tutorial.common.report import HISTORY_COLUMNS
from conftest import run_cli

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "run_checklist.py"
sys.path.insert(0, str(ROOT / "scripts"))
import run_checklist  # noqa: E402

TINY = ["--epochs", "1", "--max-images", "2048", "--val-size", "256"]


def checklist(folder, *args, budget=TINY):
    "Run the script as a user would, its results and runs in `folder`."
    return run_cli(sys.executable, str(SCRIPT), *budget, "--out", str(folder / "results.json"), "--runs-dir", str(folder / "runs"), *args)


def parameters(channels, kernel=3, hidden=128, classes=10, side=28):
    "Parameters of the network: convolutions with biases, batch norms (scale and shift), two dense layers."
    n, c_in = 0, 1
    for c in channels:
        n += c_in * c * kernel * kernel + c + 2 * c
        c_in, side = c, side // 2
    return n + (c_in * side * side + 1) * hidden + (hidden + 1) * classes


@pytest.fixture(scope="module")
def narrow_run(tmp_path_factory):
    "The narrow network trained once in PyTorch by the script: (folder, completed process, results)."
    folder = tmp_path_factory.mktemp("checklist")
    proc = checklist(folder, "--only", "narrow", "--framework", "pytorch")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return folder, proc, json.loads((folder / "results.json").read_text())


def test_the_run_is_collected_with_real_values(narrow_run):
    folder, proc, results = narrow_run
    assert results["budget"] == {"epochs": 1, "max_images": 2048, "val_size": 256}
    assert [e["name"] for e in results["experiments"]] == [e.name for e in run_checklist.CHECKLIST]
    entries = {e["name"]: e for e in results["experiments"]}
    r = entries["narrow"]["runs"]["pytorch"]
    assert r["status"] == "done", r
    assert 0.3 < r["test_accuracy"] <= 1  # chance is 0.1; one epoch on 1,792 images reaches about 0.6
    h = r["history"]
    assert set(h) == set(HISTORY_COLUMNS) and h["epoch"] == [1]
    assert (r["best_epoch"], r["epochs_completed"], r["best_val_accuracy"]) == (1, 1, h["val_accuracy"][0])
    assert 0 < h["val_loss"][0] < 2.31 and 0 < h["train_loss"][0]  # below the loss of a uniform guess, ln 10
    assert r["parameter_count"] == parameters((8, 16)) == 103_066
    assert r["config"]["channels"] == [8, 16] and r["config"]["epochs"] == 1 and r["config"]["max_images"] == 2048
    assert 0 < r["seconds_per_epoch"] <= r["train_seconds"] < r["wall_seconds"]
    assert r["command"].startswith("cnn_train --framework pytorch --epochs 1 --channels 8 16 --artifacts-dir ")
    assert r["framework_version"] and r["arithmetic"] and r["finished"] >= results["started"]
    assert sum(r["per_class_accuracy"].values()) > 0
    options = run_checklist.run_options(run_checklist.EXPERIMENTS["narrow"], "pytorch", 1, "x", 2048, 256)
    assert r["recipe"] == run_checklist.intended_recipe(options) and len(r["recipe"]) == 16
    assert r["commit"] == run_checklist.package_commit()["commit"] and isinstance(r["dirty"], bool)
    assert r["dirty"] == bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--",
                                              *run_checklist.TRAINING_PATHS], cwd=ROOT, capture_output=True,
                                             text=True).stdout.strip())
    assert r["processor"]["traits"].split()[0] and r["processor"]["description"] == results["machine"]["description"]
    assert (folder / "runs" / "narrow" / "pytorch_cnn" / "metrics.json").is_file()
    assert "narrow" in proc.stdout and "test accuracy" in proc.stdout
    # what was not run is recorded as such; the second entry shares the baseline's runs
    assert entries["narrow"]["runs"]["tensorflow"] == {"status": "not run", "reason": "not run yet"}
    assert entries["other_framework"]["same_runs_as"] == "baseline" and entries["other_framework"]["runs"] == {}
    assert results["machine"]["cores"] >= 1 and results["machine"]["description"]


def test_a_second_invocation_continues_instead_of_rerunning(narrow_run):
    folder, _, results = narrow_run
    again = checklist(folder, "--only", "narrow", "--framework", "pytorch")
    assert again.returncode == 0, again.stderr
    assert "complete, skipped" in again.stdout and "training" not in again.stdout
    kept = json.loads((folder / "results.json").read_text())
    assert kept["experiments"] == results["experiments"]
    # a finished run that the results file lacks is collected from its folder, not trained again
    (folder / "results.json").unlink()
    collected = checklist(folder, "--only", "narrow", "--framework", "pytorch")
    assert collected.returncode == 0 and "training" not in collected.stdout, collected.stdout
    narrow = lambda r: next(e for e in r["experiments"] if e["name"] == "narrow")["runs"]["pytorch"]
    assert narrow(json.loads((folder / "results.json").read_text()))["test_accuracy"] == narrow(results)["test_accuracy"]
    # a record of another recipe is not complete: the run is trained again
    intended = run_checklist.intended_config(run_checklist.run_options(run_checklist.EXPERIMENTS["narrow"], "pytorch", 1,
                                                                       "x", 2048, 256))
    record = narrow(results)
    assert run_checklist.is_complete(record, intended, record["recipe"])
    assert not run_checklist.is_complete(record, intended, "0123456789abcdef")
    # another budget would mix incomparable results: refused
    other = checklist(folder, "--only", "narrow", budget=["--epochs", "2"])
    assert other.returncode == 2 and "another budget" in other.stderr


def test_dry_run_lists_every_run_and_what_it_would_do(tmp_path):
    for name, recipe in (("kernel5", None), ("kernel1", "0123456789abcdef")):  # interrupted: of today's recipe, of another
        run_dir = tmp_path / "runs" / name / "pytorch_cnn"
        options = run_checklist.run_options(run_checklist.EXPERIMENTS[name], "pytorch", 1, str(run_dir.parent), 2048, 256)
        run_dir.mkdir(parents=True)
        (run_dir / "last.pt").touch()
        marker = dict(recipe=recipe or run_checklist.intended_recipe(options), commit=None, dirty=None)
        (run_dir / run_checklist.RECIPE_MARKER).write_text(json.dumps(marker))
    proc = checklist(tmp_path, "--dry-run")
    assert proc.returncode == 0, proc.stderr
    lines = [line.split() for line in proc.stdout.splitlines()[1:]]
    assert len(lines) == 2 * (len(run_checklist.CHECKLIST) - 1)  # both frameworks; the second entry has no runs of its own
    actions = {(w[0], w[1]): w[2] for w in lines}
    assert actions["baseline", "pytorch"] == "run" and actions["kernel5", "pytorch"] == "resume"
    assert actions["kernel1", "pytorch"] == "run"  # made with another recipe: trained again
    if find_dataset_dir(dataset="mnist") is None:
        assert actions["mnist", "tensorflow"] == "not" and "needs data not on the machine" in proc.stdout
    assert "--epochs 2 " in " ".join(" ".join(w) for w in lines if w[0] == "longer")  # twice the budget
    assert not (tmp_path / "results.json").exists()


def test_the_budget_replaces_the_epochs_of_every_command():
    e = run_checklist.EXPERIMENTS
    assert run_checklist.run_options(e["baseline"], "pytorch", 10, "d") == [
        "--framework", "pytorch", "--epochs", "10", "--artifacts-dir", "d", "--no-progress"]
    assert run_checklist.run_options(e["longer"], "tensorflow", 10, "d")[:4] == ["--framework", "tensorflow", "--epochs", "20"]
    cifar = run_checklist.run_options(e["cifar10"], "pytorch", 10, "d", max_images=64)
    assert cifar.count("--epochs") == 1 and cifar[cifar.index("--epochs") + 1] == "10" and cifar[-2:] == ["--max-images", "64"]
    assert run_checklist.shared_runs() == {"other_framework": "baseline"}
