"""Execute the course's notebooks through a Jupyter kernel and save their outputs, so that the docs site and GitHub
show every page with its results.

    python scripts/execute_notebooks.py                  # every page, in sidebar order, outputs saved in place
    python scripts/execute_notebooks.py nbs/00_theory.ipynb
    python scripts/execute_notebooks.py --check          # execute afresh and compare with the saved outputs

Each notebook runs in a kernel of its own, in its own folder, with `IN_TEST=1`: training cells then run on the same
small slice as under `nbdev_test`, so a page executes in seconds and gives the same outputs every time. Cells that
`nbdev_test` skips (`#| eval: false`, and the flags in settings.ini's `tst_flags`) are skipped here too.

The guided runs are not executed here: their outputs come from the full default runs that `scripts/reference_run.py`
makes. `--check` verifies them against the committed artifacts instead.

Training in mixed bfloat16 rounds differently on different processors (AMX tiles, AVX-512 BF16 instructions, vendors'
libraries), and a few steps of training turn the last bit into the third digit. So `nbs/_outputs_made_on.json` records,
for each page, the processor traits its outputs were made with. `--check` on a processor with the same traits compares
every character (timings aside); on another it compares the outputs with their numbers and the facts of the processor
masked (the arithmetic a run trains in, `mixed bfloat16` or `float32`, whether bfloat16 is native, the device): the same
cells, lines, words and figures. Lines of the frameworks' native logs on standard error (TensorFlow's C++ messages,
which also depend on the processor) are left out on both sides, and out of the pages saved. `CNN_TUTORIAL_CPUINFO=tests/cpuinfo/float32` (or `.../bfloat16`) makes the package and
this check read that file instead of /proc/cpuinfo, so a machine of one kind proves the pages on the other.
"""
from __future__ import annotations

import argparse
import base64
import configparser
import csv
import difflib
import json
import os
import re
import struct
import sys
import time
from pathlib import Path

import nbformat
import yaml
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from cnn_tutorial.common.config import FRAMEWORKS  # noqa: E402
from cnn_tutorial.common.registry import MODEL_FAMILIES  # noqa: E402
from cnn_tutorial.common.utils import processor_traits  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
NBS = ROOT / "nbs"
FULL_RUN_PAGES = {f"guided/{model}_{framework}.ipynb": f"{framework}_{model}"
                  for model in MODEL_FAMILIES for framework in FRAMEWORKS}
MADE_ON = NBS / "_outputs_made_on.json"
CELL_TIMEOUT = 900
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def read_made_on() -> dict[str, str]:
    "For each page, the processor traits its saved outputs were made with."
    return json.loads(MADE_ON.read_text()) if MADE_ON.exists() else {}


def record_made_on(pages: list[str]) -> None:
    "Record that the saved outputs of `pages` were made on this processor."
    made_on = {**read_made_on(), **{page: processor_traits() for page in pages}}
    MADE_ON.write_text(json.dumps(dict(sorted(made_on.items())), indent=1) + "\n")


def sidebar_pages() -> list[str]:
    "Every page of the sidebar, relative to nbs/, in the order a reader meets them."
    def walk(node):
        if isinstance(node, str): yield node
        elif isinstance(node, list):
            for item in node: yield from walk(item)
        elif isinstance(node, dict): yield from walk(node.get("contents", node.get("href", [])))
    return list(walk(yaml.safe_load((NBS / "sidebar.yml").read_text())["website"]["sidebar"]["contents"]))


def skipped_flags() -> set[str]:
    "The cell flags that `nbdev_test` skips by default (settings.ini's `tst_flags`)."
    config = configparser.ConfigParser()
    config.read(ROOT / "settings.ini")
    return set(config["DEFAULT"].get("tst_flags", "").split())


def directives(source: str) -> dict[str, str]:
    "The `#| key: value` lines at the top of a cell, as nbdev reads them."
    found = {}
    for line in source.splitlines():
        if not line.startswith("#|"): break
        key, _, value = line[2:].strip().partition(":")
        found[key.strip()] = value.strip()
    return found


def is_skipped(cell, flags: set[str]) -> bool:
    "True for a code cell that `nbdev_test` does not run."
    d = directives(cell.source)
    return d.get("eval", "").lower() == "false" or any(k in flags for k in d)


class CourseClient(NotebookClient):
    "An nbclient `NotebookClient` that leaves alone the cells `nbdev_test` skips."
    flags: set[str] = set()

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        if cell.cell_type == "code" and is_skipped(cell, self.flags):
            cell.outputs = []
            return cell
        return await super().async_execute_cell(cell, cell_index, execution_count, store_history)


def execute(path: Path) -> nbformat.NotebookNode:
    "Execute the notebook at `path` in a fresh kernel, in its own folder, with `IN_TEST=1`; return it with outputs."
    nb = nbformat.read(path, as_version=4)
    saved_env = dict(os.environ)
    os.environ["IN_TEST"] = "1"  # the kernel inherits the environment
    os.environ.pop("MPLBACKEND", None)  # the kernel's own inline backend shows the figures
    try:
        client = CourseClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3", allow_errors=False,
                              resources={"metadata": {"path": str(path.parent)}})
        client.flags = skipped_flags()
        client.execute()
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.execution_count = None
            for out in cell.outputs:
                if "execution_count" in out: out.execution_count = None
    return without_native_logs(nb)


def without_native_logs(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    "`nb` with the frameworks' native log lines (`NATIVE_LOG`) taken out of its standard error, which then may be empty."
    for cell in nb.cells:
        if cell.cell_type != "code": continue
        for out in cell.outputs:
            if out.output_type == "stream" and out.name == "stderr":
                out.text = "".join(line for line in out.text.splitlines(keepends=True) if not NATIVE_LOG.match(line))
        cell.outputs = [o for o in cell.outputs if not (o.output_type == "stream" and not o.text)]
    return nb


def save(nb: nbformat.NotebookNode, path: Path) -> None:
    "Write `nb` to `path` as `nbdev_clean` leaves it, so that cleaning it again changes nothing."
    from execnb.nbio import dict2nb, write_nb
    from nbdev.clean import clean_nb
    d = dict2nb(json.loads(nbformat.writes(nb)))
    clean_nb(d, clear_all=False)
    write_nb(d, path)


# --- comparing outputs ------------------------------------------------------------------------------------------

TIMING = [
    (re.compile(r"\d[\d,]*(?:\.\d+)?\s?(?:ms|µs|us|ns|s|sec|seconds|min)\b"), "<time>"),
    (re.compile(r"\d[\d,]*(?:\.\d+)?\s?(?:it/s|s/it|images/s|img/s)"), "<rate>"),
    (re.compile(r"(['\"]?\w*(?:seconds|time|elapsed|duration)\w*['\"]?\s*[:=]\s*)[\d.e+-]+"), r"\1<time>"),
    (re.compile(r"0x[0-9a-f]{6,}"), "0x…"),
]


NUMBER = re.compile(r"[-+]?\d[\d,]*(?:\.\d+)?(?:e[-+]?\d+)?")
PROCESSOR_FACTS = [  # what a page's outputs say about the processor that made them, masked with the numbers
    (re.compile(r"\b(?:torch\.|mixed[ _])?bfloat16\b|\bfloat32\b"), "<arithmetic>"),
    (re.compile(r"(\bnative\W{1,4})(?:True|False)\b"), r"\1<bool>"),
    (re.compile(r"\b(?:cpu|cuda(?::\d+)?|mps)\b|/(?:CPU|GPU):\d+"), "<device>"),
]


def without_processor_facts(line: str) -> str:
    "`line` with the facts that depend on the processor masked: the arithmetic, whether bfloat16 is native, the device."
    for pattern, repl in PROCESSOR_FACTS: line = pattern.sub(repl, line)
    return line


def without_numbers(lines: list[str]) -> list[str]:
    "Output lines with numbers and processor facts masked, runs of spaces made one (padding follows the numbers' widths)."
    return [re.sub(r" +", " ", NUMBER.sub("<n>", without_processor_facts(line))) for line in lines]


def without_timings(text: str) -> str:
    "Text with durations, rates and memory addresses masked: the parts of an output that change from run to run."
    for pattern, repl in TIMING: text = pattern.sub(repl, text)
    return text


def png_size(data: str) -> tuple[int, int]:
    "Width and height of a base64 PNG, read from its header."
    raw = base64.b64decode(data[:64] + "=" * (-len(data[:64]) % 4))
    return struct.unpack(">II", raw[16:24])


# A line of the frameworks' native (C++) logs, in absl's format: `E0000 00:00:1796654192.292150   11479 util.cc:131] ...`.
# What they say depends on the processor (TensorFlow's "oneDNN supports DT_BFLOAT16 only on platforms with AVX-512"),
# and Python never sees them: they are left out of standard error on both sides.
NATIVE_LOG = re.compile(r"^[IWEF]\d{4} [\d:.]+ +\d+ [\w.-]+:\d+\] ")


def output_summary(out) -> list[str]:
    "What a reader sees of one output, timings masked, the frameworks' native log lines left out; images by their size only."
    kind = out.output_type
    if kind == "stream":
        lines = without_timings(out.text).splitlines()
        if out.name == "stderr": lines = [line for line in lines if not NATIVE_LOG.match(line)]
        return [f"{out.name}: {line}" for line in lines]
    if kind == "error": return [f"error: {out.ename}: {out.evalue}"]
    lines = []
    for mime, data in sorted(out.get("data", {}).items()):
        if mime == "image/png": lines.append(f"{mime} {png_size(data)[0]}×{png_size(data)[1]}")
        elif mime.startswith("text/") or mime.endswith("json"):
            text = data if isinstance(data, str) else json.dumps(data)
            lines += [f"{mime}: {line}" for line in without_timings(text).splitlines()]
        else: lines.append(mime)
    return lines


def cell_outputs(nb) -> list[list[str]]:
    "For each code cell, the summary of its outputs, streams joined as a reader sees them."
    cells = []
    for cell in nb.cells:
        if cell.cell_type != "code": continue
        merged = []
        for out in cell.outputs:
            if out.output_type == "stream" and merged and merged[-1].output_type == "stream" and merged[-1].name == out.name:
                merged[-1] = nbformat.from_dict({**merged[-1], "text": merged[-1].text + out.text})
            else: merged.append(out)
        cells.append([line for out in merged for line in output_summary(out)])
    return cells


ABSOLUTE_PATH = re.compile(r"(?<![\w.])(?:/(?:home|root|tmp|work|Users|private|var/folders)/\S+|[A-Z]:\\\S+)")


def absolute_paths(nb) -> list[str]:
    "Absolute paths of the machine that made the outputs, found in them."
    found = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            texts = [out.get("text", ""), out.get("evalue", "")] + [
                v for k, v in out.get("data", {}).items() if k.startswith("text/") and isinstance(v, str)]
            for text in texts: found += ABSOLUTE_PATH.findall(text)
    return found


def compare(saved, fresh, name: str, exact: bool = True) -> list[str]:
    "Problems that make the saved outputs of page `name` differ from a fresh execution, timings aside (and numbers too unless `exact`)."
    problems = [f"{name}: output holds an absolute path: {p}" for p in sorted(set(absolute_paths(saved)))]
    sources = [c.source for c in saved.cells if c.cell_type == "code"]
    for i, (src, s, f) in enumerate(zip(sources, cell_outputs(saved), cell_outputs(fresh))):
        if not exact: s, f = without_numbers(s), without_numbers(f)
        if s == f: continue
        first = src.strip().splitlines()[0][:70] if src.strip() else ""
        if f and not s: problems.append(f"{name}: code cell {i + 1} ({first!r}) produces output but has none saved")
        else:
            diff = "\n".join(difflib.unified_diff(s, f, "saved", "fresh", lineterm="", n=1))
            problems.append(f"{name}: code cell {i + 1} ({first!r}): saved output is stale\n{diff[:2000]}")
    return problems


# --- the guided runs: checked against the committed artifacts -------------------------------------------------

def full_run_problems(saved, fresh, name: str, run: str) -> list[str]:
    "Problems of a page whose outputs come from a full run: missing outputs, and figures that disagree with `artifacts/run`."
    problems = [f"{name}: output holds an absolute path: {p}" for p in sorted(set(absolute_paths(saved)))]
    for i, (s, f) in enumerate(zip(cell_outputs(saved), cell_outputs(fresh))):
        if f and not s: problems.append(f"{name}: code cell {i + 1} produces output but has none saved")
    text = "\n".join("\n".join(c) for c in cell_outputs(saved))
    history = list(csv.DictReader(open(ROOT / "artifacts" / run / "history.csv")))
    metrics = json.loads((ROOT / "artifacts" / run / "metrics.json").read_text())
    for row in history:
        if f"{float(row['val_accuracy']):.4f}" not in text:
            problems.append(f"{name}: epoch {row['epoch']}'s validation accuracy {float(row['val_accuracy']):.4f} "
                            f"(artifacts/{run}/history.csv) is not in the saved training log")
    if f"test accuracy of epoch {metrics['best_epoch']}: {metrics['test_accuracy']:.4f}" not in text:
        problems.append(f"{name}: the test accuracy {metrics['test_accuracy']:.4f} (epoch {metrics['best_epoch']}) of "
                        f"artifacts/{run}/metrics.json is not in the saved training log")
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", type=Path, help="notebooks to execute (default: every page in the sidebar)")
    parser.add_argument("--check", action="store_true", help="execute afresh and fail where the saved outputs differ")
    args = parser.parse_args(argv)
    pages = [p.resolve().relative_to(NBS).as_posix() for p in args.notebooks] or sidebar_pages()
    problems, start, made_on, executed, here = [], time.perf_counter(), read_made_on(), [], processor_traits()
    for page in pages:
        path, t0 = NBS / page, time.perf_counter()
        if page in FULL_RUN_PAGES and not args.check:
            print(f"{page}: skipped, its outputs come from the full run (python scripts/reference_run.py)")
            continue
        try: fresh = execute(path)
        except CellExecutionError as e:
            problems.append(f"{page}: a cell failed\n{ANSI.sub('', str(e))[-3000:]}")
            print(f"{page}: FAILED", flush=True)
            continue
        if args.check:
            saved = nbformat.read(path, as_version=4)
            exact = made_on.get(page, here) == here
            found = (full_run_problems(saved, fresh, page, FULL_RUN_PAGES[page]) if page in FULL_RUN_PAGES
                     else compare(saved, fresh, page, exact))
            problems += found
            how = "" if exact or page in FULL_RUN_PAGES else ", made on another processor: numbers masked"
            print(f"{page}: {'ok' if not found else f'{len(found)} problem(s)'} ({time.perf_counter() - t0:.0f} s{how})", flush=True)
        else:
            save(fresh, path)
            executed.append(page)
            paths = absolute_paths(fresh)
            if paths: problems.append(f"{page}: output holds an absolute path: {paths[0]}")
            print(f"{page}: executed, outputs saved ({time.perf_counter() - t0:.0f} s)", flush=True)
    if executed: record_made_on(executed)
    for p in problems: print(p, file=sys.stderr)
    print(f"{len(pages)} notebooks in {time.perf_counter() - start:.0f} s; {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
