"""The course runs in Jupyter as a reader opens it: a notebook executed through a real Jupyter kernel (nbclient), from
the set-up's environment."""
import os
import subprocess
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent


def run_in_kernel(path: Path) -> nbformat.NotebookNode:
    "Execute the notebook at `path` in a fresh `python3` Jupyter kernel, in its own folder, as JupyterLab would."
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("import sys; print(sys.prefix)"))
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    env["IN_TEST"] = "1"
    client = NotebookClient(nb, kernel_name="python3", timeout=600, resources={"metadata": {"path": str(path.parent)}})
    old = dict(os.environ)
    os.environ.clear(); os.environ.update(env)
    try: client.execute()
    finally: os.environ.clear(); os.environ.update(old)
    return nb


def text_of(nb) -> str:
    return "\n".join(o.get("text", "") + str(o.get("data", {}).get("text/plain", ""))
                     for c in nb.cells if c.cell_type == "code" for o in c.outputs)


def test_model_notebook_runs_in_a_jupyter_kernel():
    nb = run_in_kernel(ROOT / "nbs" / "pytorch" / "03_model.ipynb")
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = text_of(nb)
    assert "421834" in text.replace(",", "")                     # the parameter count the page shows
    assert "(64, 7, 7)" in text                                  # the second block's output shape
    assert Path(text.strip().splitlines()[-1]).resolve() == Path(sys.prefix).resolve()  # the set-up's environment


def test_jupyter_lab_is_installed():
    jupyter = Path(sys.prefix) / "bin" / "jupyter"
    result = subprocess.run([str(jupyter), "lab", "--version"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().split(".")[0].isdigit()
    kernels = subprocess.run([str(jupyter), "kernelspec", "list"], capture_output=True, text=True, timeout=120)
    assert "python3" in kernels.stdout
