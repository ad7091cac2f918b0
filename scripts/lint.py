"""Lint the package as `.ci/run` does: ruff, configured in pyproject.toml (lines of at most 120 characters), on every
module that `nbdev_export` writes from the notebooks.

    python scripts/lint.py

One statement of each module is nbdev's, not the notebook's: `__all__`, which nbdev wraps at 120 characters before it
puts `__all__ = ` in front, so that its first line can run to 130. No notebook can change it, and ruff can only be told
to pass over a line by a comment on it, so findings on the lines of that generated statement are set aside; every
other finding fails the run."""
import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "cnn_tutorial"


def nbdev_all_lines(path: Path) -> set[int]:
    "The line numbers of the `__all__ = [...]` statement nbdev writes under `# %% auto #0` in the module at `path`."
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    for node in ast.parse(text).body:
        generated = node.lineno >= 2 and lines[node.lineno - 2].strip() == "# %% auto #0"
        if generated and isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["__all__"]:
            return set(range(node.lineno, node.end_lineno + 1))
    return set()


def findings(package: Path = PACKAGE) -> list[dict]:
    "What ruff, with the project's settings, reports on the modules under `package`, nbdev's `__all__` aside."
    ruff = [sys.executable, "-m", "ruff", "check", "--config", str(ROOT / "pyproject.toml"), "--output-format", "json",
            "--exit-zero", str(package)]
    proc = subprocess.run(ruff, cwd=ROOT, capture_output=True, text=True, check=True)
    found = json.loads(proc.stdout)
    generated = {name: nbdev_all_lines(Path(name)) for name in {f["filename"] for f in found}}
    return [f for f in found if f["location"]["row"] not in generated[f["filename"]]]


if __name__ == "__main__":
    found = findings()
    for f in found:
        print(f"{Path(f['filename']).relative_to(ROOT)}:{f['location']['row']}:{f['location']['column']}: "
              f"{f['code']} {f['message']}")
    print(f"lint: {len(found)} finding(s) in cnn_tutorial/ (ruff, pyproject.toml)")
    sys.exit(1 if found else 0)
