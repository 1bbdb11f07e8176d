#!/usr/bin/env bash
# The old-Pi path: the device tests on tflite-runtime 2.14 with numpy<2, without TensorFlow
# and without ai-edge-litert.   Usage: bash tests/run_compat.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${EDGECNN_COMPAT_VENV:-.venv-compat}"
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet "tflite-runtime==2.14.0" "numpy<2" "tflite>=2.10" \
    "opencv-python-headless>=4.8,<5" "click>=8.1" "pytest>=7.4" "paho-mqtt>=2,<3"
"$venv/bin/python" -m pip install --quiet --no-deps -e .
"$venv/bin/python" - <<'PY'
import importlib.util as u
import numpy, tflite_runtime
assert u.find_spec("tensorflow") is None and u.find_spec("ai_edge_litert") is None, "not a clean legacy env"
print(f"compat env: tflite-runtime {tflite_runtime.__version__}, numpy {numpy.__version__}, no TensorFlow, no LiteRT")
PY
exec "$venv/bin/python" -m pytest tests/device "$@"
