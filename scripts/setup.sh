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

# System packages, as root where apt-get exists, after one apt-get update: Fashion-MNIST, which Debian and Ubuntu
# package (elsewhere the package downloads and verifies it on first use), and Chromium with its WebDriver, which
# tests/test_preview.py drives to check the documentation pages.
need_data=false; need_browser=false
if [ ! -d /usr/share/datasets/fashion-mnist ] && [ -z "${CNN_TUTORIAL_DATA:-}" ]; then need_data=true; fi
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then need_browser=true; fi
if { $need_data || $need_browser; } && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  echo "setup: refreshing apt lists"
  apt-get update -qq || echo "setup: apt-get update failed"
  if $need_data; then
    echo "setup: installing dataset-fashion-mnist"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist >/dev/null \
      || echo "setup: not available; the data will be downloaded on first use"
  fi
  if $need_browser; then
    echo "setup: installing chromium and chromium-driver"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null \
      || echo "setup: chromium not available; tests/test_preview.py will skip its browser checks"
  fi
fi
