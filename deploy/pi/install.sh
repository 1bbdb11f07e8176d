#!/usr/bin/env bash
# Install edgecnn's device side (numpy, click, OpenCV headless, LiteRT; never TensorFlow) in a
# virtual environment on 64-bit Raspberry Pi OS or Debian, bookworm or newer.
#
#   bash deploy/pi/install.sh [--from WHEEL|DIR] [--prefix DIR] [--picamera] [--dry-run]
#
# --from      an edgecnn wheel (edgecnn-*.whl), a folder holding one, or a source checkout;
#             default: the checkout this script lives in
# --prefix    where the virtual environment goes (default /opt/edgecnn)
# --picamera  let the venv see python3-picamera2 (only in Raspberry Pi OS's apt repository)
# --dry-run   check everything and say what would be installed; change nothing
#
# A 64-bit userland is required (getconf LONG_BIT = 64): see deploy/pi/README.md, "32-bit".
# Third-party packages come as wheels only (pip --only-binary :all:): never a source build.
set -euo pipefail

prefix=/opt/edgecnn
picamera=0
dry_run=0
from=""

usage_error() { echo "install.sh: $1 (see --help)" >&2; exit 2; }
die() { echo "install.sh: $1" >&2; exit 1; }

while [ $# -gt 0 ]; do
    case "$1" in
        --prefix|--from)
            [ $# -ge 2 ] && [ -n "$2" ] || usage_error "$1 needs a value"
            if [ "$1" = --prefix ]; then prefix="$2"; else from="$2"; fi
            shift 2 ;;
        --picamera) picamera=1; shift ;;
        --dry-run) dry_run=1; shift ;;
        -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) usage_error "unknown option $1" ;;
    esac
done
case "$prefix" in /*) ;; *) usage_error "--prefix must be an absolute path, got $prefix" ;; esac

# 32-bit userlands stop here, whatever the kernel says (a Pi 4/5 runs a 64-bit kernel under a
# 32-bit Raspberry Pi OS, so uname -m says aarch64 there).
bits="$(getconf LONG_BIT 2>/dev/null || echo unknown)"
if [ "$bits" != 64 ]; then
    die "this userland is ${bits}-bit (kernel $(uname -m)): not supported, because PyPI has no 32-bit ARM wheels of numpy, OpenCV or LiteRT and pip would try to build them from source; install the 64-bit Raspberry Pi OS (Pi 3, 4, 5, Zero 2 W), see deploy/pi/README.md, \"32-bit\""
fi

is_checkout() { [ -f "$1/pyproject.toml" ] && grep -q '^name = "edgecnn"' "$1/pyproject.toml"; }

# What to install: a wheel file, or a checkout to build one from.
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
wheel=""
checkout=""
if [ -z "$from" ]; then
    is_checkout "$here/../.." || die "not run from an edgecnn checkout: pass --from edgecnn-VERSION-py3-none-any.whl (build it with 'pip wheel --no-deps .' in a clone)"
    checkout="$(cd "$here/../.." && pwd)"
elif [ -d "$from" ]; then
    if is_checkout "$from"; then
        checkout="$(cd "$from" && pwd)"
    else
        shopt -s nullglob
        found=("$from"/edgecnn-*.whl)
        shopt -u nullglob
        [ "${#found[@]}" -gt 0 ] || die "--from $from: no edgecnn-*.whl and no edgecnn checkout in that folder"
        [ "${#found[@]}" -eq 1 ] || die "--from $from: ${#found[@]} edgecnn wheels in that folder; pass one of them"
        wheel="${found[0]}"
    fi
elif [ -f "$from" ]; then
    case "$(basename "$from")" in
        edgecnn-*.whl) wheel="$from" ;;
        *) die "--from $from: not an edgecnn wheel (edgecnn-*.whl) or folder" ;;
    esac
else
    die "--from $from: no such file or folder"
fi
[ -z "$wheel" ] || wheel="$(cd "$(dirname "$wheel")" && pwd)/$(basename "$wheel")"

if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg-query >/dev/null 2>&1; then
    die "needs apt-get and dpkg (Raspberry Pi OS, Debian, Ubuntu); elsewhere: python3 -m venv VENV && VENV/bin/pip install edgecnn-*.whl"
fi

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || die "run as root or install sudo: apt and $prefix need root"
    sudo_cmd=(sudo)
fi

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
has_candidate() {
    local candidate
    candidate="$(apt-cache policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: *//p')"
    [ -n "$candidate" ] && [ "$candidate" != "(none)" ]
}

# OpenCV's headless wheel needs no system libraries (no libgl1, no libglib2.0-0): only Python.
packages=(python3 python3-venv)
[ "$picamera" -eq 0 ] || packages+=(python3-picamera2)
missing=()
for p in "${packages[@]}"; do installed "$p" || missing+=("$p"); done

if [ "$dry_run" -eq 1 ]; then
    echo "userland: 64-bit ($(uname -m)); interpreter: LiteRT (ai-edge-litert)"
    echo "apt packages to install: ${missing[*]:-none}"
    echo "venv: $prefix/venv$([ "$picamera" -eq 0 ] || echo ' (with system site-packages for picamera2)')"
    echo "edgecnn from: ${wheel:-checkout $checkout (a wheel is built from it)}"
    if [ "$picamera" -eq 1 ] && ! installed python3-picamera2 && ! has_candidate python3-picamera2; then
        echo "note: python3-picamera2 has no apt candidate here yet (apt lists not refreshed in a dry run)"
    fi
    exit 0
fi

if [ "${#missing[@]}" -gt 0 ]; then
    "${sudo_cmd[@]}" apt-get update
    if [ "$picamera" -eq 1 ] && ! installed python3-picamera2 && ! has_candidate python3-picamera2; then
        die "--picamera: python3-picamera2 is packaged only in Raspberry Pi OS's apt repository, which this system does not use; leave out --picamera and use a USB camera (--source 0) or a stream, or install picamera2 yourself (not verified)"
    fi
    "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi
python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || die "edgecnn needs Python 3.11 or newer (Raspberry Pi OS / Debian bookworm); this is $(python3 -V 2>&1)"

venv_flags=()
# picamera2 and libcamera come from apt, not PyPI: let the venv see them.
[ "$picamera" -eq 0 ] || venv_flags+=(--system-site-packages)
"${sudo_cmd[@]}" mkdir -p "$prefix"
"${sudo_cmd[@]}" python3 -m venv "${venv_flags[@]}" "$prefix/venv"
py="$prefix/venv/bin/python"

tmp="$(mktemp -d)"
trap '"${sudo_cmd[@]}" rm -rf "$tmp"' EXIT
if [ -n "$checkout" ]; then
    # Build from a copy, so that no build/ or *.egg-info (owned by root) lands in the checkout.
    echo "building a wheel from $checkout ..."
    mkdir "$tmp/src"
    tar -C "$checkout" --exclude='./.git' --exclude='./.venv*' --exclude='./runs' --exclude='./.ci-*' \
        --exclude='./build' --exclude='./dist' --exclude='*.egg-info' -cf - . | tar -C "$tmp/src" -xf -
    "${sudo_cmd[@]}" "$py" -m pip wheel --quiet --no-deps --wheel-dir "$tmp/dist" "$tmp/src" \
        || die "could not build a wheel from $checkout (pip's message above)"
    wheel="$(ls "$tmp"/dist/edgecnn-*.whl)"
fi
echo "installing $(basename "$wheel") and its dependencies (wheels only) into $prefix/venv ..."
"${sudo_cmd[@]}" "$py" -m pip install --only-binary=:all: "$wheel" \
    || die "pip could not install $(basename "$wheel") from wheels (pip's message above); no source build was attempted"
"${sudo_cmd[@]}" ln -sf "$prefix/venv/bin/edgecnn" /usr/local/bin/edgecnn

"$prefix/venv/bin/edgecnn" --version
echo "device side: $(du -sm "$prefix/venv" | cut -f1) MB in $prefix/venv"
echo "edgecnn installed; try: edgecnn classify MODEL.tflite IMAGE.jpg"
