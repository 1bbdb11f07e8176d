#!/usr/bin/env bash
# Set up a virtual environment with edgecnn[train,test], lint with ruff, run the whole test suite.
# Usage: bash tests/run.sh [pytest args...]     (EDGECNN_VENV picks the venv folder;
#        EDGECNN_SETUP_ONLY=1 stops after the install and the lint: CI prepares the venv first)
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${EDGECNN_VENV:-.venv}"
# The web-view tests drive Debian's headless Chromium and the MQTT test a real broker (mosquitto);
# install them where we may (root with apt).
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
[ -x /usr/sbin/mosquitto ] || command -v mosquitto >/dev/null 2>&1 || missing+=(mosquitto)
if [ "${#missing[@]}" -gt 0 ] && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian's ${missing[*]} for the web-view and MQTT tests ..."
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet -e ".[train,test]"
# TrackEval (MOT metrics for the tracking test) requires opencv-python, which would replace the
# headless OpenCV 4 edgecnn needs (Haar cascades) with OpenCV 5: take it without its dependencies.
"$venv/bin/python" -m pip install --quiet --no-deps "trackeval==1.3.0"
# Lint first: a new finding fails the run like a failing test (rules in pyproject.toml).
"$venv/bin/ruff" check edgecnn tests benchmarks
[ "${EDGECNN_SETUP_ONLY:-0}" != 1 ] || exit 0
exec "$venv/bin/python" -m pytest "$@"
