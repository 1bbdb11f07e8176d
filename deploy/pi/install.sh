#!/usr/bin/env bash
# Install edgecnn's device runtime on Raspberry Pi OS (64-bit, bookworm or newer).
#
#   bash install.sh [--prefix DIR] [--version X.Y.Z] [--picamera] [--from PATH]
#
# --prefix    where the virtual environment goes (default /opt/edgecnn)
# --version   pin an edgecnn release (default: the newest)
# --picamera  also make Debian's python3-picamera2 visible to the venv (Pi camera modules)
# --from      install from a local wheel or source folder instead of the package index
set -euo pipefail

prefix=/opt/edgecnn
version=""
picamera=0
source_path=""

while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) prefix="$2"; shift 2 ;;
        --version) version="$2"; shift 2 ;;
        --picamera) picamera=1; shift ;;
        --from) source_path="$2"; shift 2 ;;
        -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
        *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done

sudo_cmd=""
if [ "$(id -u)" -ne 0 ]; then
    sudo_cmd="sudo"
fi

arch="$(uname -m)"
if [ "$arch" = "armv7l" ] || [ "$arch" = "armv6l" ]; then
    echo "install.sh: this is a 32-bit system ($arch); see deploy/pi/README.md, section '32-bit images'" >&2
    exit 1
fi

packages=(python3-venv python3-pip libgl1 libglib2.0-0)
if [ "$picamera" -eq 1 ]; then
    packages+=(python3-picamera2)
fi
$sudo_cmd apt-get update
$sudo_cmd apt-get install -y --no-install-recommends "${packages[@]}"

venv_flags=()
if [ "$picamera" -eq 1 ]; then
    # picamera2 and libcamera come from apt, not PyPI: let the venv see them.
    venv_flags+=(--system-site-packages)
fi
$sudo_cmd mkdir -p "$prefix"
$sudo_cmd python3 -m venv "${venv_flags[@]}" "$prefix/venv"
$sudo_cmd "$prefix/venv/bin/python" -m pip install --upgrade pip

target="edgecnn"
if [ -n "$source_path" ]; then
    target="$source_path"
elif [ -n "$version" ]; then
    target="edgecnn==$version"
fi
$sudo_cmd "$prefix/venv/bin/python" -m pip install "$target"
$sudo_cmd ln -sf "$prefix/venv/bin/edgecnn" /usr/local/bin/edgecnn

edgecnn --version
echo "edgecnn installed in $prefix/venv; try: edgecnn classify MODEL.tflite IMAGE.jpg"
