"""Make the reference run: execute the guided-run notebooks for real (full default training, about 3 and 4 minutes on
a 2-core CPU), saving their outputs in the notebooks and their artifacts in artifacts/pytorch_cnn and
artifacts/tensorflow_cnn. Usage: python scripts/reference_run.py [pytorch] [tensorflow]"""
import os
import sys
import time
from pathlib import Path

from execnb.nbio import read_nb, write_nb
from execnb.shell import CaptureShell

ROOT = Path(__file__).resolve().parent.parent


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
    for framework in sys.argv[1:] or ["pytorch", "tensorflow"]:
        start = time.perf_counter()
        run_notebook(ROOT / "nbs" / "guided" / f"cnn_{framework}.ipynb")
        print(f"{framework}: guided run executed in {time.perf_counter() - start:.0f} s")
