#!/usr/bin/env bash
# Set up (first run only), then run the notebooks as tests and the pytest suite: `bash scripts/test.sh`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH" MPLBACKEND=Agg
# Each folder in its own nbdev_test call, so PyTorch and TensorFlow never share a worker process.
for folder in nbs/common nbs/pytorch nbs/tensorflow nbs/commands; do
  if ls "$folder"/*.ipynb >/dev/null 2>&1; then
    echo "== nbdev_test --path $folder"
    timeout 1800 nbdev_test --path "$folder" --timing
  fi
done
# Pages outside the tracks (home, theory, guided runs, comparisons, model families, several processes) one by one:
# some use both frameworks.
for nb in nbs/*.ipynb nbs/guided/*.ipynb nbs/resnet/*.ipynb nbs/distributed/*.ipynb; do
  echo "== nbdev_test --path $nb"
  timeout 900 nbdev_test --path "$nb"
done
echo "== docs: process every notebook as the docs build does, check titles, sidebar and docstrings"
timeout 900 python scripts/check_docs.py
echo "== saved outputs: every page executed afresh in a Jupyter kernel and compared with what it shows (timings aside)"
timeout 2400 python scripts/execute_notebooks.py --check
echo "== docs preview: every page rendered to _preview/ with nbconvert and checked in headless Chromium"
timeout 900 python -m pytest -q tests/test_preview.py
echo "== pytest"
timeout 1800 python -m pytest -q tests --ignore=tests/test_preview.py
