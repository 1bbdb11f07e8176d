#!/usr/bin/env bash
# Set up a virtual environment with edgecnn[train,test] and run the whole test suite.
# Usage: bash tests/run.sh [pytest args...]     (EDGECNN_VENV picks the venv folder)
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${EDGECNN_VENV:-.venv}"
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet -e ".[train,test]"
exec "$venv/bin/python" -m pytest "$@"
