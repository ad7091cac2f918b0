#!/usr/bin/env bash
# Set up a fresh machine for cnn_tutorial: a virtual environment in .venv with the package, its
# frameworks and its development tools at the versions in constraints.txt, and Fashion-MNIST where
# the system can provide it. Safe to run again; sourced by train.sh and test.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $($PYTHON --version)"
  "$PYTHON" -m venv .venv
fi
if ! .venv/bin/python -c "import cnn_tutorial, torch, torchvision, tensorflow, nbdev" 2>/dev/null \
   || [ setup.py -nt .venv/.installed ] || [ settings.ini -nt .venv/.installed ] || [ constraints.txt -nt .venv/.installed ]; then
  echo "setup: installing cnn_tutorial and its dependencies (constraints.txt)"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[dev]"
  touch .venv/.installed
fi

# Fashion-MNIST: Debian and Ubuntu package it; elsewhere the package downloads and verifies it on first use.
if [ ! -d /usr/share/datasets/fashion-mnist ] && [ -z "${CNN_TUTORIAL_DATA:-}" ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  echo "setup: refreshing apt lists and installing dataset-fashion-mnist"
  (apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist >/dev/null) || echo "setup: not available; the data will be downloaded on first use"
fi
