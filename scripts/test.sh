#!/usr/bin/env bash
# Set up (first run only), then run the notebooks as tests and the pytest suite: `bash scripts/test.sh`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH" MPLBACKEND=Agg
# Each folder in its own nbdev_test call, so PyTorch and TensorFlow never share a worker process.
for folder in nbs/common nbs/pytorch nbs/tensorflow; do
  if ls "$folder"/*.ipynb >/dev/null 2>&1; then
    echo "== nbdev_test --path $folder"
    timeout 1800 nbdev_test --path "$folder" --timing
  fi
done
echo "== nbdev_test --path nbs/index.ipynb"
timeout 600 nbdev_test --path nbs/index.ipynb
echo "== docs: process every notebook as the docs build does (no Quarto needed)"
(cd nbs && timeout 600 python -c "from nbdev.quarto import refresh_quarto_yml, nbdev_sidebar; from nbdev.serve import proc_nbs
refresh_quarto_yml(); nbdev_sidebar.__wrapped__(); proc_nbs()")
echo "== pytest"
timeout 1800 python -m pytest -q tests
