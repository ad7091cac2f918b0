"""Make the reference runs: execute the guided-run notebooks for real (full default training), saving their outputs
in the notebooks and their artifacts in artifacts/<framework>_<model>. On a 2-core CPU the CNN takes about 3 minutes in
each framework, the residual network about 13 and 16 minutes (PyTorch, TensorFlow).
Usage: python scripts/reference_run.py [RUN ...], RUN one of cnn_pytorch, cnn_tensorflow, resnet_pytorch,
resnet_tensorflow (default: all four)"""
import os
import sys
import time
from pathlib import Path

from execnb.nbio import read_nb, write_nb
from execnb.shell import CaptureShell

ROOT = Path(__file__).resolve().parent.parent
GUIDED = ROOT / "nbs" / "guided"
RUNS = ("cnn_pytorch", "cnn_tensorflow", "resnet_pytorch", "resnet_tensorflow")


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
        run_notebook(GUIDED / f"{run}.ipynb")
        print(f"{run}: guided run executed in {time.perf_counter() - start:.0f} s")
