"Interrupted runs: a training process killed with SIGKILL mid-epoch resumes where it stopped, with nothing lost."
import json
import os
import signal
import subprocess
import time

import pytest

from cnn_tutorial.common.report import read_history
from conftest import bin_path, run_cli, without_timing

RUN = ["--epochs", "3", "--max-images", "3072", "--val-size", "256", "--batch-size", "32", "--no-progress"]
STATE = {"pytorch": "last.pt", "tensorflow": "last.weights.h5"}

def kill_during_epoch(framework, cwd, epoch, flags=(), timeout=600):
    "Start `cnn_train`, SIGKILL it once `epoch` - 1 epochs are saved and epoch `epoch` is under way; return the history then."
    env = {**os.environ, "MPLBACKEND": "Agg", "TF_CPP_MIN_LOG_LEVEL": "2"}
    proc = subprocess.Popen([bin_path("cnn_train"), "--framework", framework, *flags, *RUN], cwd=cwd, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    run_dir = cwd / "runs" / f"{framework}_cnn"
    deadline = time.time() + timeout
    try:
        while time.time() < deadline:
            history = run_dir / "history.csv"
            rows = read_history(history) if history.exists() else []
            if len(rows) == epoch - 1 and (run_dir / STATE[framework]).exists():
                time.sleep(0.3 * rows[-1]["seconds"])  # about a third into the next epoch, however fast epochs are here
                break
            assert proc.poll() is None, f"training ended before it could be interrupted: {proc.stderr.read()}"
            time.sleep(0.05)
        else: pytest.fail("training did not reach the epoch to interrupt")
    finally:
        proc.send_signal(signal.SIGKILL); proc.wait()
    return read_history(run_dir / "history.csv")


@pytest.mark.parametrize("framework, flags", [("pytorch", []), ("tensorflow", ["--deterministic"])])
def test_killed_run_resumes_after_its_last_complete_epoch(framework, flags, tmp_path):
    (tmp_path / "whole").mkdir(); (tmp_path / "killed").mkdir()
    whole = run_cli(bin_path("cnn_train"), "--framework", framework, *flags, *RUN, cwd=tmp_path / "whole")
    assert whole.returncode == 0, whole.stderr
    before = kill_during_epoch(framework, tmp_path / "killed", epoch=3, flags=flags)
    run_dir = tmp_path / "killed" / "runs" / f"{framework}_cnn"
    assert len(before) == 2 and not (run_dir / "metrics.json").exists()
    # Starting afresh would destroy the saved state: refused.
    fresh = run_cli(bin_path("cnn_train"), "--framework", framework, *flags, *RUN, cwd=tmp_path / "killed")
    assert fresh.returncode == 2 and "holds an interrupted run" in fresh.stderr
    # Changing what is trained is refused too; then a plain --resume takes the saved configuration.
    changed = run_cli(bin_path("cnn_train"), "--framework", framework, "--resume", "--epochs", "5", cwd=tmp_path / "killed")
    assert changed.returncode == 2 and "epochs (3 -> 5)" in changed.stderr
    resumed = run_cli(bin_path("cnn_train"), "--framework", framework, "--resume", "--no-progress", cwd=tmp_path / "killed")
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming after epoch 2 of 3" in resumed.stdout
    assert not (run_dir / STATE[framework]).exists()
    history = read_history(run_dir / "history.csv")
    assert [r["epoch"] for r in history] == [1, 2, 3] and history[:2] == before
    got = json.loads((run_dir / "metrics.json").read_text())
    want = json.loads((tmp_path / "whole" / "runs" / f"{framework}_cnn" / "metrics.json").read_text())
    assert without_timing(got) == without_timing(want)  # exactly the uninterrupted run


def test_resume_without_an_interrupted_run_is_refused(tmp_path):
    proc = run_cli(bin_path("cnn_train"), "--resume", cwd=tmp_path)
    assert proc.returncode == 2 and "nothing to resume" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("framework, flags", [("pytorch", []), ("tensorflow", ["--deterministic"])])
def test_same_seed_gives_identical_metrics(framework, flags, tmp_path):
    runs = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        proc = run_cli(bin_path("cnn_train"), "--framework", framework, *flags, "--epochs", "1", *RUN[2:], cwd=tmp_path / name)
        assert proc.returncode == 0, proc.stderr
        runs.append(json.loads((tmp_path / name / "runs" / f"{framework}_cnn" / "metrics.json").read_text()))
    assert without_timing(runs[0]) == without_timing(runs[1])
