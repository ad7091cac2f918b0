"""Pages and runs on both kinds of processor, whichever kind this machine is: with native bfloat16 (AVX-512 BF16 or
AMX) and without it (float32 only). `CNN_TUTORIAL_CPUINFO` names the cpuinfo file the package and the saved-outputs
check read, so this machine runs as the other kind would."""
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from cnn_tutorial.common.utils import CPUINFO_ENV, cpu_supports_bfloat16

ROOT = Path(__file__).resolve().parent.parent
KINDS = {True: ROOT / "tests" / "cpuinfo" / "bfloat16", False: ROOT / "tests" / "cpuinfo" / "float32"}
sys.path.insert(0, str(ROOT / "scripts"))
import execute_notebooks  # noqa: E402

# The pages whose outputs state the arithmetic: bfloat16 detection, both tracks' precision, a training run.
ARITHMETIC_PAGES = ["common/02_utils.ipynb", "pytorch/00_config.ipynb", "tensorflow/00_config.ipynb",
                    "pytorch/05_train.ipynb"]


def page(*outputs: str) -> nbformat.NotebookNode:
    "A one-cell notebook whose cell printed `outputs`."
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "train()", outputs=[nbformat.v4.new_output("stream", name="stdout", text=t) for t in outputs])])


@pytest.mark.parametrize("native", [True, False])
def test_the_cpuinfo_file_decides_the_arithmetic(native, monkeypatch):
    "With `CNN_TUTORIAL_CPUINFO` set, the package and the check both see the processor that file describes."
    monkeypatch.setenv(CPUINFO_ENV, str(KINDS[native]))
    assert cpu_supports_bfloat16() is native
    assert ("avx512_bf16" in execute_notebooks.processor_traits()) is native


def test_masking_covers_the_arithmetic_and_nothing_else():
    "Made on another processor, a page may differ in its numbers and arithmetic, not in its words."
    saved = page("training on cpu (mixed bfloat16): 64 batches\n", "{'bfloat16 native': True}\n", "'mixed_bfloat16'\n")
    fresh = page("training on cpu (float32): 64 batches\n", "{'bfloat16 native': False}\n", "'float32'\n")
    assert execute_notebooks.compare(saved, fresh, "p", exact=False) == []
    assert execute_notebooks.compare(saved, fresh, "p", exact=True) != []
    other_words = page("training on cpu (float32): 64 images\n", "{'bfloat16 native': False}\n", "'float32'\n")
    assert "stale" in execute_notebooks.compare(saved, other_words, "p", exact=False)[0]
    other_bool = page("training on cpu (float32): 64 batches\n", "{'resumed': False}\n", "'float32'\n")
    assert execute_notebooks.compare(page("x\n", "{'resumed': True}\n", "y\n"), other_bool, "p", exact=False) != []


def test_native_log_lines_on_stderr_are_left_out_and_nothing_else():
    "TensorFlow's C++ log lines depend on the processor; Python's own warnings on standard error still count."
    def err_page(*texts):
        return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
            "build()", outputs=[nbformat.v4.new_output("stream", name="stderr", text=t) for t in texts])])
    log = ("E0000 00:00:1796654192.292150   11479 util.cc:131] oneDNN supports DT_BFLOAT16 only on platforms with "
           "AVX-512. Falling back to the default Eigen-based implementation if present.\n")
    assert execute_notebooks.compare(err_page(), err_page(log), "p") == []
    assert execute_notebooks.compare(err_page("W1207 14:05:54.000001 42 cpu_feature_guard.cc:210] x\n"), err_page(), "p") == []
    assert execute_notebooks.compare(err_page(), err_page("UserWarning: the dropout rate is odd\n"), "p") != []


def test_pages_pass_on_the_other_kind_of_processor():
    "The pages that state the arithmetic re-execute on the kind of processor this machine is not, and match."
    other = KINDS[not cpu_supports_bfloat16()]
    env = {**os.environ, CPUINFO_ENV: str(other), "MPLBACKEND": "Agg", "TF_CPP_MIN_LOG_LEVEL": "2"}
    pages = [f"nbs/{p}" for p in ARITHMETIC_PAGES]
    done = subprocess.run([sys.executable, "scripts/execute_notebooks.py", "--check", *pages], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    assert done.stdout.count("made on another processor: numbers masked") == len(ARITHMETIC_PAGES), done.stdout
