"Faults at process level: a second run into a busy folder, a killed run, Ctrl-C and SIGTERM, with real `cnn_train` processes."
import json
import os
import shlex
import signal
import subprocess
import time

import pytest

from cnn_tutorial.common.report import read_history
from conftest import bin_path

SLICE = ["--max-images", "1024", "--val-size", "128", "--batch-size", "64", "--num-threads", "1", "--no-progress"]
STATE = {"pytorch": "last.pt", "tensorflow": "last.weights.h5"}
CHECKPOINT = {"pytorch": "model.pt", "tensorflow": "model.weights.h5"}
REPORT = ["confusion_matrix.png", "curves.png", "history.csv", "metrics.json"]
FRAMEWORKS = ["pytorch", "tensorflow"]


@pytest.fixture
def cnn_train(tmp_path):
    "Start real `cnn_train` processes in `tmp_path`, as a user would from a terminal (stdin closed); any left running at the end is killed."
    env = {**os.environ, "MPLBACKEND": "Agg", "TF_CPP_MIN_LOG_LEVEL": "2"}
    started = []
    def start(*args):
        started.append(subprocess.Popen([bin_path("cnn_train"), *args], cwd=tmp_path, env=env, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)))  # whatever the runner ignores
        return started[-1]
    yield start
    for proc in started:
        if proc.poll() is None: proc.kill(); proc.communicate()


def finish(proc, timeout=300):
    "Wait for `proc`; return its exit code, standard output and standard error."
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def wait_for_epochs(proc, run_dir, framework, epochs, timeout=300):
    "Return as soon as `run_dir` holds the saved state of exactly `epochs` complete epochs: the next epoch has just begun."
    history, state, deadline = run_dir / "history.csv", run_dir / STATE[framework], time.time() + timeout
    while time.time() < deadline:
        rows = read_history(history) if history.exists() else []
        assert len(rows) <= epochs, f"cnn_train went past epoch {epochs} before the test saw it"
        saved = state.exists() and state.stat().st_mtime_ns >= history.stat().st_mtime_ns  # each epoch saves its state after its history row
        if len(rows) == epochs and saved: return
        if proc.poll() is not None: pytest.fail(f"cnn_train ended before epoch {epochs}: {proc.communicate()[1]}")
        time.sleep(0.02)
    pytest.fail(f"cnn_train did not complete epoch {epochs} in {timeout} s")


def folder_state(run_dir):
    "Every file in `run_dir` with its size and modification time: equal states, untouched folder."
    return {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in run_dir.iterdir()}


def run_resume_command(message, cnn_train):
    "Start the command an interrupted `cnn_train` printed, as if pasted into a shell in the same folder."
    words = shlex.split(message.split("Continue with: ", 1)[1])
    assert words[0] == "cnn_train"
    return cnn_train(*words[1:])


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_second_run_into_a_busy_folder_is_refused(framework, tmp_path, cnn_train):
    first_options = ["--framework", framework, "--epochs", "3", "--seed", "1", *SLICE]
    first = cnn_train(*first_options)
    run_dir = tmp_path / "runs" / f"{framework}_cnn"
    try:
        wait_for_epochs(first, run_dir, framework, 1)
        first.send_signal(signal.SIGSTOP)  # still alive and holding the folder, however long the second takes to start
        before = folder_state(run_dir)
        code, out, err = finish(cnn_train("--framework", framework, "--epochs", "2", "--seed", "2", *SLICE))
        assert folder_state(run_dir) == before  # the refused run touched nothing
    finally:
        first.send_signal(signal.SIGCONT)
    assert (code, out) == (2, "")
    assert err == (f"cnn_train: error: runs/{framework}_cnn is in use by another run (process {first.pid}: "
                   f"cnn_train {shlex.join(first_options)}); wait for it to finish or choose another --artifacts-dir\n")
    code, out, err = finish(first)
    assert code == 0, err
    assert sorted(p.name for p in run_dir.iterdir()) == sorted([*REPORT, CHECKPOINT[framework]])
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert (metrics["config"]["seed"], metrics["config"]["epochs"], metrics["epochs_completed"]) == (1, 3, 3)
    assert [r["epoch"] for r in read_history(run_dir / "history.csv")] == [1, 2, 3]


def interrupt(proc, run_dir, framework, sig, epochs_done):
    "Send `sig` to the resumed run `proc` once it has completed epoch `epochs_done`; check it stops cleanly, and return its message."
    wait_for_epochs(proc, run_dir, framework, epochs_done)
    proc.send_signal(sig)
    code, out, err = finish(proc)
    assert code == 128 + sig and "Traceback" not in err, err
    assert f"resuming after epoch {epochs_done - 1} of " in out
    saved = "epoch 1 is" if epochs_done == 1 else f"epochs 1–{epochs_done} are"
    assert err == (f"cnn_train: interrupted during epoch {epochs_done + 1}; {saved} saved in runs/{framework}_cnn/"
                   f"{STATE[framework]}. Continue with: cnn_train --framework {framework} --resume --artifacts-dir runs\n")
    assert sorted(p.name for p in run_dir.iterdir()) == sorted(["history.csv", CHECKPOINT[framework], STATE[framework]])
    assert [r["epoch"] for r in read_history(run_dir / "history.csv")] == list(range(1, epochs_done + 1))
    return err


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_run_stopped_by_sigkill_ctrl_c_and_sigterm_resumes_to_the_end(framework, tmp_path, cnn_train):
    options = ["--framework", framework, "--epochs", "4", "--seed", "3", *SLICE]
    run_dir = tmp_path / "runs" / f"{framework}_cnn"
    killed = cnn_train(*options)
    wait_for_epochs(killed, run_dir, framework, 1)
    killed.send_signal(signal.SIGKILL); killed.communicate()
    # A killed run cannot remove its lock file, but the lock died with it: the next run takes the folder.
    assert (run_dir / ".lock").read_text() == f"process {killed.pid}: cnn_train {shlex.join(options)}\n"
    resumed = cnn_train("--framework", framework, "--resume")
    message = interrupt(resumed, run_dir, framework, signal.SIGINT, epochs_done=2)
    continued = run_resume_command(message, cnn_train)
    message = interrupt(continued, run_dir, framework, signal.SIGTERM, epochs_done=3)
    code, out, err = finish(run_resume_command(message, cnn_train))
    assert code == 0 and err == "", err
    assert "resuming after epoch 3 of 4" in out
    assert sorted(p.name for p in run_dir.iterdir()) == sorted([*REPORT, CHECKPOINT[framework]])
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert (metrics["config"]["seed"], metrics["config"]["epochs"], metrics["epochs_completed"]) == (3, 4, 4)
    assert [r["epoch"] for r in read_history(run_dir / "history.csv")] == [1, 2, 3, 4]
