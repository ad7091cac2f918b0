#!/usr/bin/env bash
# Set up (first run only), then train and evaluate: `bash scripts/train.sh [cnn_train options]`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
exec .venv/bin/cnn_train "$@"
