"Training on several processes with each framework's own distributed engine."
import json


from conftest import bin_path, fresh_process_accuracy, run_cli


def test_pytorch_two_processes_stay_in_sync_and_save_a_usable_checkpoint(tmp_path):
    proc = run_cli(bin_path("torchrun"), "--nproc_per_node", "2", "--master_port", "29533", "-m", "cnn_tutorial.pytorch.train",
                   "--epochs", "2", "--max-images", "2048", "--val-size", "256", "--batch-size", "32", "--no-progress", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "in each of 2 processes" in proc.stdout
    assert "weights identical in all 2 processes" in proc.stdout
    assert proc.stdout.count("test accuracy:") == 1  # one process reports and writes
    run_dir = tmp_path / "artifacts" / "pytorch_cnn"
    assert sorted(p.name for p in run_dir.iterdir()) == ["confusion_matrix.png", "curves.png", "history.csv", "metrics.json", "model.pt"]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["epochs_completed"] == 2 and metrics["test_accuracy"] > 0.6
    assert fresh_process_accuracy("pytorch", run_dir) == metrics["test_accuracy"]
