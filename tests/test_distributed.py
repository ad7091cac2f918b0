"Training on several processes with each framework's own distributed engine."
import json
import os
import re
import socket
import subprocess
import sys
import time

import pytest

from cnn_tutorial.common.report import read_history
from conftest import bin_path, fresh_process_accuracy, run_cli, without_timing


def test_pytorch_two_processes_stay_in_sync_and_save_a_usable_checkpoint(tmp_path):
    proc = run_cli(bin_path("torchrun"), "--nproc_per_node", "2", "--master_port", str(free_ports(1)[0]), "-m",
                   "cnn_tutorial.pytorch.train", "--epochs", "2", "--max-images", "2048", "--val-size", "256", "--batch-size",
                   "32", "--no-progress", "--artifacts-dir", "artifacts", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "in each of 2 processes" in proc.stdout
    assert re.search(r"weights identical in all 2 processes \(SHA-256 [0-9a-f]{12}…\)", proc.stdout), proc.stdout
    assert proc.stdout.count("test accuracy:") == 1  # one process reports and writes
    run_dir = tmp_path / "artifacts" / "pytorch_cnn"
    assert sorted(p.name for p in run_dir.iterdir()) == ["confusion_matrix.png", "curves.png", "history.csv", "metrics.json", "model.pt"]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["epochs_completed"] == 2 and metrics["test_accuracy"] > 0.6
    assert fresh_process_accuracy("pytorch", run_dir) == metrics["test_accuracy"]


# TensorFlow: MultiWorkerMirroredStrategy, each worker started with its own TF_CONFIG.
TF_RUN = ["--epochs", "2", "--max-images", "2048", "--val-size", "256", "--batch-size", "32", "--no-progress", "--deterministic",
          "--artifacts-dir", "artifacts"]
ARTIFACTS = ["confusion_matrix.png", "curves.png", "history.csv", "metrics.json", "model.weights.h5"]


def free_ports(count):
    "Ports of localhost that nothing listens on now, chosen by the system."
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets: s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets: s.close()
    return ports


def start_tensorflow_workers(folders, worker_args):
    "Start `python -m cnn_tutorial.tensorflow.train` as the workers of one TF_CONFIG cluster on localhost: worker i runs in `folders[i]` (as on a machine of its own, with its own temporary folder) with `worker_args[i]`."
    cluster = {"worker": [f"localhost:{port}" for port in free_ports(len(folders))]}
    procs = []
    for index, (folder, args) in enumerate(zip(folders, worker_args)):
        (folder / "tmp").mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "MPLBACKEND": "Agg", "TF_CPP_MIN_LOG_LEVEL": "2", "TMPDIR": str(folder / "tmp"),
               "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})}
        with open(folder / "stdout.txt", "w") as out, open(folder / "stderr.txt", "w") as err:
            procs.append(subprocess.Popen([sys.executable, "-m", "cnn_tutorial.tensorflow.train", *args], cwd=folder, env=env,
                                          stdout=out, stderr=err))
    return procs


def stop(procs):
    "Kill the workers still running: one whose peers are gone can wait for them for ever."
    for p in procs:
        if p.poll() is None: p.kill()
        p.wait()


def finish(procs, folders, timeout=300):
    "Wait for the workers (all killed after `timeout` seconds); the exit code, output and errors of each."
    deadline = time.monotonic() + timeout
    try:
        for p in procs: p.wait(timeout=max(deadline - time.monotonic(), 0.1))
    except subprocess.TimeoutExpired: pytest.fail(f"the workers did not finish within {timeout}s")
    finally: stop(procs)
    return [(p.returncode, (f / "stdout.txt").read_text(), (f / "stderr.txt").read_text()) for p, f in zip(procs, folders)]


def weights_digest_line(stdout):
    "The digest of the final weights a worker printed."
    found = re.search(r"weights identical in all 2 workers: sha256 ([0-9a-f]{64})", stdout)
    assert found, stdout
    return found.group(1)


def comparable(metrics):
    "The metrics without what differs between identical runs: timing, the machine, where the artifacts went."
    return {**without_timing(metrics), "config": {k: v for k, v in metrics["config"].items() if k != "artifacts_dir"}}


@pytest.fixture(scope="module")
def tensorflow_workers(tmp_path_factory):
    "Two TensorFlow workers trained together, each in a folder of its own: their (exit code, output, errors) and folders."
    folders = [tmp_path_factory.mktemp(f"worker{i}") for i in range(2)]
    return finish(start_tensorflow_workers(folders, [TF_RUN, TF_RUN]), folders), folders


def test_tensorflow_two_workers_stay_in_sync_and_only_the_chief_writes(tensorflow_workers):
    (chief, other), folders = tensorflow_workers
    for code, _, errors in (chief, other): assert code == 0, errors[-3000:]
    assert "32 batches of 64 per epoch across 2 replicas on 2 workers" in chief[1]  # --batch-size is per replica
    assert weights_digest_line(chief[1]) == weights_digest_line(other[1])
    assert "test accuracy:" in chief[1] and "test accuracy" not in other[1]  # one worker reports and writes
    run_dir = folders[0] / "artifacts" / "tensorflow_cnn"
    assert sorted(p.name for p in run_dir.iterdir()) == ARTIFACTS
    assert sorted(p.name for p in folders[1].iterdir()) == ["stderr.txt", "stdout.txt", "tmp"]  # worker 1 wrote no artifacts
    assert [list((f / "tmp").iterdir()) for f in folders] == [[], []]  # and removed the folder it saved into
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert (metrics["workers"], metrics["replicas"], metrics["global_batch_size"], metrics["epochs_completed"]) == (2, 2, 64, 2)
    assert len(read_history(run_dir / "history.csv")) == 2
    assert metrics["test_accuracy"] > 0.6
    assert fresh_process_accuracy("tensorflow", run_dir) == metrics["test_accuracy"]


def test_tensorflow_workers_resume_an_interrupted_run_exactly(tensorflow_workers, tmp_path):
    (chief, _), folders = tensorflow_workers
    assert chief[0] == 0, chief[2][-3000:]
    uninterrupted = json.loads((folders[0] / "artifacts" / "tensorflow_cnn" / "metrics.json").read_text())
    shared = tmp_path / "shared"  # the artifacts folder, on storage both workers can read
    folders = [tmp_path / "worker0", tmp_path / "worker1"]
    for folder in folders: folder.mkdir()
    run_dir = shared / "tensorflow_cnn"
    procs = start_tensorflow_workers(folders, [[*TF_RUN, "--artifacts-dir", str(shared)]] * 2)
    deadline = time.monotonic() + 300
    try:  # kill both workers as soon as epoch 1 is saved, during epoch 2
        while not ((run_dir / "last.weights.h5").exists() and len(read_history(run_dir / "history.csv")) == 1):
            assert all(p.poll() is None for p in procs), "a worker ended before the run could be interrupted"
            assert time.monotonic() < deadline, "the workers did not complete epoch 1"
            time.sleep(0.05)
    finally: stop(procs)
    before = read_history(run_dir / "history.csv")
    # The saved state belongs to 2 replicas: a single process refuses it.
    single = run_cli(sys.executable, "-m", "cnn_tutorial.tensorflow.train", "--resume", "--artifacts-dir", str(shared), cwd=tmp_path)
    assert single.returncode == 2 and "trained on 2 replica(s); resume it on as many, not 1" in single.stderr, single.stderr[-3000:]
    resumed = finish(start_tensorflow_workers(folders, [["--resume", "--artifacts-dir", str(shared), "--no-progress"]] * 2), folders)
    for code, _, errors in resumed: assert code == 0, errors[-3000:]
    assert "resuming after epoch 1 of 2" in resumed[0][1]
    assert weights_digest_line(resumed[0][1]) == weights_digest_line(resumed[1][1]) == weights_digest_line(chief[1])
    history = read_history(run_dir / "history.csv")
    assert [r["epoch"] for r in history] == [1, 2] and history[:1] == before
    assert not (run_dir / "last.weights.h5").exists()
    assert comparable(json.loads((run_dir / "metrics.json").read_text())) == comparable(uninterrupted)


def test_tensorflow_workers_refuse_different_options(tmp_path):
    folders = [tmp_path / "worker0", tmp_path / "worker1"]
    for folder in folders: folder.mkdir()
    results = finish(start_tensorflow_workers(folders, [TF_RUN, [*TF_RUN, "--epochs", "3"]]), folders)
    for code, _, errors in results:
        assert code == 2 and "the workers were started with different options" in errors, errors[-3000:]
    assert list((folders[1] / "tmp").iterdir()) == []
