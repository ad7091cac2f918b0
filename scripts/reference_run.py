"""Make the reference runs: execute the guided-run notebooks for real (full default training), saving their outputs
in the notebooks and their artifacts in artifacts/<framework>_<model>. On a 2-core CPU the CNN takes about 3 minutes in
each framework, the residual network about 13 and 16 minutes (PyTorch, TensorFlow).
Usage: python scripts/reference_run.py [RUN ...], RUN `<family>_<framework>` for a model family of the registry
(cnn_pytorch, resnet_tensorflow, ...; default: every family in both frameworks)"""
import os
import sys
import time
from pathlib import Path

from execnb.nbio import read_nb, write_nb
from execnb.shell import CaptureShell

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from cnn_tutorial.common.config import FRAMEWORKS  # noqa: E402
from cnn_tutorial.common.registry import MODEL_FAMILIES  # noqa: E402
from cnn_tutorial.common.report import clear_run, run_dir_lock  # noqa: E402
from cnn_tutorial.common.utils import check_writable_dir  # noqa: E402

GUIDED = ROOT / "nbs" / "guided"
RUNS = tuple(f"{model}_{framework}" for model in MODEL_FAMILIES for framework in FRAMEWORKS)


def clear_reference_run(run: str) -> Path:
    "Remove the committed reference run `run` (its report first), holding its folder's lock: only this script replaces it."
    model, framework = run.split("_")
    run_dir = check_writable_dir(ROOT / "artifacts" / f"{framework}_{model}")
    with run_dir_lock(run_dir): clear_run(run_dir, framework)
    return run_dir


def run_notebook(path: Path) -> None:
    "Execute every cell of `path` in its own folder, stopping at the first error, and save it with its outputs."
    nb = read_nb(path)
    cwd = os.getcwd()
    os.chdir(path.parent)  # notebooks find the repository's files relative to their own folder
    try: CaptureShell(path=path.parent).run_all(nb, exc_stop=True)
    finally: os.chdir(cwd)
    write_nb(nb, path)


if __name__ == "__main__":
    os.environ.pop("IN_TEST", None)
    runs = sys.argv[1:] or RUNS
    unknown = [r for r in runs if r not in RUNS]
    if unknown: sys.exit(f"reference_run.py: unknown run {', '.join(unknown)}; choose from {', '.join(RUNS)}")
    for run in runs:
        start = time.perf_counter()
        clear_reference_run(run)
        run_notebook(GUIDED / f"{run}.ipynb")
        print(f"{run}: guided run executed in {time.perf_counter() - start:.0f} s")
