#!/usr/bin/env bash
# An emulated Raspberry Pi 4 / 5: Debian bookworm arm64 under qemu-user-static with the Pi's CPU
# model (cortex-a72 = Pi 4, cortex-a76 = Pi 5). Builds edgecnn's wheel, installs it with
# deploy/pi/install.sh inside the root as a Pi user would, runs tests/device there (but the gallery
# race, which no CPU changes), and checks
# that the int8 outputs are bit-identical to this machine's for identical input tensors.
#
#   bash deploy/pi/emulate.sh [--host-python PY] [--model FILE]... [--cpus "cortex-a72 cortex-a76"]
#                             [--work DIR] [--root-cache FILE.tar] [--keep] [--no-tests]
#   bash deploy/pi/emulate.sh --root-only --root-cache FILE.tar     (only debootstrap, into FILE.tar)
#
# --host-python  a Python with edgecnn and LiteRT on this machine: builds the wheel and runs the
#                reference (default: the checkout's .venv-ci, then .venv)
# --model        one more .tflite for the bit-identity check (Coral's CPU MobileNets from the
#                reference data are always in it)
# --cpus         qemu CPU models; the first runs tests/device, each runs the identity check
# --work         a new or empty scratch folder (default: one under ${TMPDIR:-/tmp}), removed at the end
# --root-cache   unpack the debootstrapped root from this tarball, or write it there (re-runs)
# --keep         leave the work folder (and the root in it) in place
# --no-tests     skip tests/device (install and identity check only)
# --root-only    only make the root and write it to --root-cache (CI starts this early, in the
#                background, while the x86 tests run)
#
# Needs root, apt, binfmt_misc and the package registries; installs debootstrap, qemu-user-static
# and binfmt-support when missing. Timings under emulation are not Raspberry Pi timings.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"

host_py=""
models=()
cpus="cortex-a72 cortex-a76"
work=""
root_cache=""
keep=0
run_tests=1
root_only=0
usage_error() { echo "emulate.sh: $1 (see --help)" >&2; exit 2; }
die() { echo "emulate.sh: $1" >&2; exit 1; }
while [ $# -gt 0 ]; do
    case "$1" in
        --host-python|--model|--cpus|--work|--root-cache)
            [ $# -ge 2 ] && [ -n "$2" ] || usage_error "$1 needs a value"
            case "$1" in
                --host-python) host_py="$2" ;;
                --model) [ -f "$2" ] || usage_error "--model $2: no such file"; models+=("$(realpath "$2")") ;;
                --cpus) cpus="$2" ;;
                --work) work="$2" ;;
                --root-cache) root_cache="$(realpath -m "$2")" ;;
            esac
            shift 2 ;;
        --keep) keep=1; shift ;;
        --no-tests) run_tests=0; shift ;;
        --root-only) root_only=1; shift ;;
        -h|--help) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) usage_error "unknown option $1" ;;
    esac
done
read -r -a cpu_list <<< "$cpus"
[ "${#cpu_list[@]}" -gt 0 ] || usage_error "--cpus is empty"
[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, chroot, mount)"
[ "$root_only" -eq 0 ] || [ -n "$root_cache" ] || usage_error "--root-only needs --root-cache FILE.tar"
[ "$root_only" -eq 0 ] || [ ! -f "$root_cache" ] || { echo "emulate.sh: $root_cache exists"; exit 0; }
if [ "$root_only" -eq 1 ]; then
    :  # no host Python or reference data needed to make the root
elif [ -z "$host_py" ]; then
    for v in .venv-ci .venv; do [ -x "$repo/$v/bin/python" ] && { host_py="$repo/$v/bin/python"; break; }; done
fi
if [ "$root_only" -eq 0 ] && { [ -z "$host_py" ] || ! "$host_py" -c 'import edgecnn.runtime.model, ai_edge_litert' 2>/dev/null; }; then
    die "no host Python with edgecnn and LiteRT: pass --host-python (e.g. .venv/bin/python after bash tests/run.sh)"
fi
shared="${EDGECNN_SHARED_DATA:-$repo/../shared/data}"
coral=()
for m in mobilenet_v1_0.25_128_quant.tflite mobilenet_v1_0.5_160_quant.tflite; do
    [ -f "$shared/coral/$m" ] && coral+=("$shared/coral/$m")
done
if [ "${#coral[@]}" -eq 0 ] && [ "$root_only" -eq 0 ]; then
    [ -z "${CI:-}" ] || die "reference data missing: $shared/coral (CI runs with ../shared/data beside the repo)"
    echo "emulate.sh: no reference data at $shared: tests/device will skip what needs it, Coral models left out" >&2
fi
[ "$root_only" -eq 1 ] || [ "${#coral[@]}" -gt 0 ] || [ "${#models[@]}" -gt 0 ] || die "no model for the bit-identity check: pass --model FILE"

t0=$SECONDS
step() { echo "--- emulate.sh [$((SECONDS - t0)) s]: $*"; }

# --- tools and binfmt_misc --------------------------------------------------------------------
need=()
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
command -v qemu-aarch64-static >/dev/null 2>&1 || need+=(qemu-user-static)
command -v update-binfmts >/dev/null 2>&1 || need+=(binfmt-support)
if [ "${#need[@]}" -gt 0 ]; then
    step "installing ${need[*]}"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
binfmt=/proc/sys/fs/binfmt_misc
[ -e "$binfmt/status" ] || mount -t binfmt_misc binfmt_misc "$binfmt" \
    || die "cannot mount binfmt_misc on $binfmt (a container without it cannot run foreign binaries)"
[ -e "$binfmt/qemu-aarch64" ] || update-binfmts --enable qemu-aarch64 \
    || die "cannot register qemu-aarch64 with binfmt_misc (update-binfmts --enable qemu-aarch64)"
grep -q '^enabled' "$binfmt/qemu-aarch64" || die "binfmt entry qemu-aarch64 is disabled"
# F (fix binary): the kernel holds the interpreter open, so the root needs no copy of qemu.
grep -q '^flags:.*F' "$binfmt/qemu-aarch64" || die "binfmt entry qemu-aarch64 lacks the F flag (qemu-user-static registers it with F)"

# --- work folder, cleanup that always unmounts --------------------------------------------------
if [ -z "$work" ]; then
    work="$(mktemp -d "${TMPDIR:-/tmp}/edgecnn-pi.XXXXXX")"
elif [ -e "$work" ] && [ -n "$(ls -A "$work")" ]; then
    usage_error "--work $work is not empty (it is removed at the end: give a new folder)"
else
    mkdir -p "$work"
fi
work="$(realpath "$work")"
root="$work/root"
mounted=()
# shellcheck disable=SC2329  # called by the EXIT trap
cleanup() {
    local status=$? i
    for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
        umount "${mounted[i]}" 2>/dev/null || umount -l "${mounted[i]}" || true
    done
    if awk '{print $2}' /proc/mounts | grep -qF "$root/"; then
        echo "emulate.sh: still mounted under $root, left in place:" >&2
        awk '{print $2}' /proc/mounts | grep -F "$root/" >&2
        exit 1
    fi
    if [ "$keep" -eq 1 ]; then echo "emulate.sh: kept $work"; else rm -rf "$work"; fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
bind() {  # bind SOURCE TARGET [ro]
    if [ -d "$1" ]; then mkdir -p "$2"; elif [ ! -e "$2" ]; then mkdir -p "$(dirname "$2")" && touch "$2"; fi
    mount --bind "$1" "$2"
    mounted+=("$2")
    [ "${3:-}" != ro ] || mount -o remount,bind,ro "$2"
}

# --- the wheel (what we publish) ----------------------------------------------------------------
if [ "$root_only" -eq 0 ]; then
step "building the wheel with $host_py"
# from a copy of what the wheel is made of: setuptools builds in the source folder (build/,
# *.egg-info), and CI runs this beside the test suite, which builds the wheel too
mkdir -p "$work/src"
tar -C "$repo" --exclude=__pycache__ -cf - pyproject.toml README.md edgecnn | tar -C "$work/src" -xf -
"$host_py" -m pip wheel --quiet --no-deps --wheel-dir "$work/dist" "$work/src"
wheel="$(find "$work/dist" -name 'edgecnn-*.whl' | head -1)"
[ -n "$wheel" ] || die "pip wheel made no edgecnn wheel"
fi

# --- Debian bookworm arm64 root -----------------------------------------------------------------
mkdir -p "$root"
if [ -n "$root_cache" ] && [ -f "$root_cache" ]; then
    step "unpacking the root from $root_cache"
    tar -C "$root" -xf "$root_cache"
else
    # The host's own Debian mirror (apt's configuration), or debootstrap's default.
    # shellcheck disable=SC2016  # $(REPO_URI) is apt's field syntax, not the shell's
    mirror="$(apt-get indextargets --format '$(REPO_URI) $(RELEASE)' 2>/dev/null | awk '$2 == "bookworm" {print $1; exit}')"
    step "debootstrap bookworm arm64 (minbase + python3, as on Raspberry Pi OS Lite; no python3-venv)"
    s=$SECONDS
    debootstrap --arch=arm64 --variant=minbase --include=python3,ca-certificates bookworm "$root" \
        ${mirror:+"$mirror"} > "$work/debootstrap.log" 2>&1 \
        || { tail -20 "$work/debootstrap.log" >&2; die "debootstrap failed (log above)"; }
    echo "debootstrap: $((SECONDS - s)) s"
    if [ -n "$root_cache" ]; then  # to a temporary name first: a reader never unpacks half a root
        tar -C "$root" -cf "$root_cache.part" . && mv "$root_cache.part" "$root_cache" \
            && echo "root cached in $root_cache"
    fi
fi
[ "$root_only" -eq 0 ] || { step "root ready in $root_cache"; exit 0; }

# What pip and apt need to reach the same registries as this machine: DNS, CA bundle, pip's
# configuration with the files it names, and any local index or find-links folder (read-only).
copy_in() { [ -f "$1" ] || return 0; mkdir -p "$root$(dirname "$1")"; cp -L "$1" "$root$1"; }
copy_in /etc/resolv.conf
for f in /etc/ssl/certs/ca-certificates.crt "${PIP_CERT:-}" "${SSL_CERT_FILE:-}" "${REQUESTS_CA_BUNDLE:-}" \
         /etc/pip.conf /etc/xdg/pip/pip.conf /etc/xdg/pip/constraints.txt "$HOME/.config/pip/pip.conf" \
         "$HOME/.pip/pip.conf" "${PIP_CONFIG_FILE:-}"; do
    [ -z "$f" ] || copy_in "$f"
done
while read -r value; do
    for token in $value; do
        path="${token#file://}"
        case "$path" in /*) ;; *) continue ;; esac
        if [ -f "$path" ]; then copy_in "$path"
        elif [ -d "$path" ]; then
            # a local simple index links to ../../files: bind the folder that holds both
            [ "$(basename "$path")" != simple ] || path="$(dirname "$path")"
            awk '{print $2}' /proc/mounts | grep -qxF "$root$path" || bind "$path" "$root$path" ro
        fi
    done
done < <("$host_py" -m pip config list 2>/dev/null | sed -n "s/^[^=]*='\(.*\)'$/\1/p"; env | sed -n 's/^PIP_[A-Z_]*=//p')

root_env=(HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "CI=${CI:-}" EDGECNN_EMULATED_PI=1
          PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
          EDGECNN_SHARED_DATA=/srv/edgecnn-shared)
while IFS= read -r kv; do root_env+=("$kv"); done < <(env | grep -E '^(PIP_[A-Z_]+|SSL_CERT_FILE|REQUESTS_CA_BUNDLE)=' || true)

# /proc with a Pi-style cpuinfo (LiteRT crashes on the host's x86 text under qemu), and /sys:
# without /sys/devices/system/cpu XNNPACK's cpuinfo fails, LiteRT silently runs its builtin
# kernels instead, and those round differently on ARM than on x86 (a real Pi has /sys).
mount -t proc proc "$root/proc"
mounted+=("$root/proc")
mount -t sysfs -o ro sysfs "$root/sys"
mounted+=("$root/sys")
cpuinfo="$work/cpuinfo"
write_cpuinfo() {  # cortex-a72 | cortex-a76
    local part=0xd08 variant=0x0 revision=3 model="Raspberry Pi 4 Model B Rev 1.4" n
    local features="fp asimd evtstrm crc32 cpuid"
    if [ "$1" = cortex-a76 ]; then
        part=0xd0b variant=0x4 revision=1 model="Raspberry Pi 5 Model B Rev 1.0"
        features="fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp"
    fi
    for n in 0 1 2 3; do
        printf 'processor\t: %s\nBogoMIPS\t: 108.00\nFeatures\t: %s\nCPU implementer\t: 0x41\n' "$n" "$features"
        printf 'CPU architecture: 8\nCPU variant\t: %s\nCPU part\t: %s\nCPU revision\t: %s\n\n' "$variant" "$part" "$revision"
    done
    printf 'Revision\t: c03114\nSerial\t\t: 10000000deadbeef\nModel\t\t: %s\n' "$model"
}
write_cpuinfo "${cpu_list[0]}" > "$cpuinfo"
bind "$cpuinfo" "$root/proc/cpuinfo" ro
[ -c "$root/dev/null" ] || bind /dev "$root/dev"
[ ! -d "$shared" ] || bind "$shared" "$root/srv/edgecnn-shared" ro

in_root() {  # CPU COMMAND... : run in the root, QEMU_CPU set for the first process and all after
    local cpu="$1"
    shift
    write_cpuinfo "$cpu" > "$cpuinfo"   # same inode: the bind mount shows the new text
    QEMU_CPU="$cpu" chroot "$root" /usr/bin/env -i "${root_env[@]}" QEMU_CPU="$cpu" "$@"
}

# --- what goes onto the "Pi": the wheel and install.sh; models and photos for the identity check -
pi="$root/root/edgecnn-pi"
mkdir -p "$pi/models" "$pi/images"
cp "$wheel" "$repo/deploy/pi/install.sh" "$pi/"
for m in "${coral[@]}" "${models[@]}"; do cp "$m" "$pi/models/"; done
for f in cat.bmp parrot.jpg face.jpg; do [ ! -f "$shared/coral/$f" ] || cp "$shared/coral/$f" "$pi/images/"; done
mkdir -p "$root/root/edgecnn-tests/tests"
cp "$repo/pyproject.toml" "$root/root/edgecnn-tests/"   # pytest's settings only; no source code
cp -r "$repo/tests/conftest.py" "$repo/tests/device" "$repo/tests/data" "$root/root/edgecnn-tests/tests/"

status=0
cpu="${cpu_list[0]}"
step "$cpu: CPU features as numpy sees them, and the machine"
in_root "$cpu" /usr/bin/python3 -c 'import platform; print("machine:", platform.machine(), platform.python_version())'
in_root "$cpu" dpkg-query -W "-f=\${Package}\n" | sort > "$work/dpkg-before.txt"

step "$cpu: bash install.sh --from $(basename "$wheel")   (as on a Pi: apt, venv, pip)"
s=$SECONDS
in_root "$cpu" bash /root/edgecnn-pi/install.sh --from "/root/edgecnn-pi/$(basename "$wheel")" \
    || die "install.sh failed inside the emulated Pi (exit $?)"
install_s=$((SECONDS - s))
in_root "$cpu" dpkg-query -W "-f=\${Package}\n" | sort > "$work/dpkg-after.txt"
mapfile -t added < <(comm -13 "$work/dpkg-before.txt" "$work/dpkg-after.txt")
apt_kb=0
if [ "${#added[@]}" -gt 0 ]; then
    apt_kb="$(in_root "$cpu" dpkg-query -W "-f=\${Installed-Size}\n" "${added[@]}" | awk '{s += $1} END {print s + 0}')"
fi
venv_mb="$(du -sm "$root/opt/edgecnn/venv" | cut -f1)"
for p in libgl1 libglib2.0-0; do
    if grep -qx "$p" "$work/dpkg-after.txt"; then echo "emulate.sh: $p is installed but should not be" >&2; status=1; fi
done
in_root "$cpu" /opt/edgecnn/venv/bin/python -c '
import importlib.metadata as md, importlib.util as u, sys
print("device side:", ", ".join(f"{d} {md.version(d)}" for d in
      ("edgecnn", "ai-edge-litert", "numpy", "opencv-python-headless", "click")))
bad = [m for m in ("tensorflow", "keras") if u.find_spec(m)]
sys.exit(f"TensorFlow/Keras installed: {bad}" if bad else 0)' || status=1
echo "device side on arm64: venv ${venv_mb} MB in /opt/edgecnn/venv; apt added $((apt_kb / 1024)) MB: ${added[*]:-nothing}"
du -sm "$root"/opt/edgecnn/venv/lib/python3*/site-packages/* | sort -rn | head -6 | sed "s|$root/opt/edgecnn/venv/lib/||"

check_cpu='
import os, sys
try:
    from numpy._core._multiarray_umath import __cpu_features__ as f
except ImportError:  # numpy < 2
    from numpy.core._multiarray_umath import __cpu_features__ as f
cpu, have = os.environ["QEMU_CPU"], " ".join(sorted(k for k, v in f.items() if v))
print(f"QEMU_CPU={cpu}: numpy sees {have}")
sve, hp = bool(f.get("SVE")), bool(f.get("ASIMDHP"))
if sve or hp != (cpu == "cortex-a76"):
    sys.exit(f"the emulated CPU is not {cpu} (SVE {sve}, ASIMDHP {hp}): QEMU_CPU did not reach this process")
'
tests_status=skipped
tests_s=0
if [ "$run_tests" -eq 1 ]; then
    step "$cpu: pytest tests/device inside the arm64 root (emulated: its timings are not Pi timings)"
    in_root "$cpu" /opt/edgecnn/venv/bin/python -m pip install --quiet --only-binary=:all: "pytest>=7.4" \
        || die "could not install pytest in the emulated Pi"
    s=$SECONDS
    tests_status=0
    # Left to the x86 run: the gallery race (two processes racing on files, pure Python) and the
    # tests marked x86_only (BlazeFace on 300 photos, detect + bench on a detector in a TensorFlow-free
    # child): minutes under qemu, and nothing an ARM CPU changes (BlazeFace still runs here, on the
    # full-range photo). The model fuzzing stays (LiteRT's ARM kernels run the mutated models).
    in_root "$cpu" /usr/bin/env -C /root/edgecnn-tests /opt/edgecnn/venv/bin/python -m pytest -q \
        -p no:cacheprovider --durations=8 --ignore=tests/device/test_hostile_gallery.py -m "not x86_only" \
        tests/device || tests_status=$?
    tests_s=$((SECONDS - s))
    [ "$tests_status" -eq 0 ] || status=1
fi

# --- bit-identity: the same input tensors on x86_64 (this machine) and on each emulated CPU ------
read -r -d '' identity <<'PY' || true
"""inputs DIR | run DIR TAG | compare DIR REF TAG...: raw outputs of every model in DIR/models."""
import platform
import sys
from pathlib import Path

import numpy as np

mode, folder = sys.argv[1], Path(sys.argv[2])
models = sorted((folder / "models").glob("*.tflite"))
if mode == "inputs":
    from edgecnn.runtime.model import load_model

    rng, arrays = np.random.default_rng(14), {}
    for m in models:
        spec = load_model(m).input
        info = np.iinfo(spec.dtype)
        for i in range(32):
            arrays[f"{m.stem}__random{i}"] = rng.integers(info.min, info.max, spec.shape, spec.dtype, endpoint=True)
    np.savez(folder / "inputs.npz", **arrays)
elif mode == "run":
    import cv2

    from edgecnn.images import load_image
    from edgecnn.runtime.classify import Classifier

    inputs, out = np.load(folder / "inputs.npz"), {}
    for m in models:
        clf = Classifier(m)
        for key in (k for k in inputs.files if k.startswith(f"{m.stem}__")):
            out[key] = clf.invoke(inputs[key])
        for image in sorted((folder / "images").iterdir()):
            tensor = clf.preprocess(load_image(image, clf.color))
            out[f"{m.stem}__{image.name}__input"] = tensor
            out[f"{m.stem}__{image.name}"] = clf.invoke(tensor)
    np.savez(folder / f"outputs-{sys.argv[3]}.npz", **out)
    b = clf.model.backend
    print(f"{sys.argv[3]}: {platform.machine()}, {b.name} {b.version}, numpy {np.__version__}, "
          f"OpenCV {cv2.__version__}: {len(out)} arrays from {len(models)} models")
else:
    # edgecnn's int8 models (card inside; per-channel int8, requantized in fp32 by XNNPACK on both
    # ISAs) must match bit for bit on every tensor. Third-party uint8 models (Coral's, per-tensor
    # asymmetric) must match on the photos; on random noise their ARM and x86 kernels may round a
    # rare tie one step apart: counted and printed, more than one step fails.
    from edgecnn.runtime.model import read_card

    ref, failed = np.load(folder / f"outputs-{sys.argv[3]}.npz"), False
    for tag in sys.argv[4:]:
        got = np.load(folder / f"outputs-{tag}.npz")
        for m in models:
            ours = read_card(m) is not None
            keys = [k for k in ref.files if k.startswith(f"{m.stem}__")]
            step = {k: int(np.abs(got[k].astype(np.int64) - ref[k].astype(np.int64)).max())
                    if k in got.files and got[k].shape == ref[k].shape else 99 for k in keys}
            rnd = [k for k in keys if "__random" in k]
            photos = [k for k in keys if k not in rnd]
            off = [k for k in rnd if step[k]]
            ok = not any(step[k] for k in photos) and not (off and (ours or max(step[k] for k in off) > 1))
            failed |= not ok
            elements = sum(int((got[k] != ref[k]).sum()) for k in off)
            print(f"{tag} vs {sys.argv[3]}: {m.name} ({'edgecnn int8' if ours else 'third-party'}): "
                  f"photos (input tensors and outputs) {sum(not step[k] for k in photos)}/{len(photos)} identical; "
                  f"random tensors {len(rnd) - len(off)}/{len(rnd)} identical"
                  + (f", {len(off)} off by <= {max(step[k] for k in off)} step in {elements} elements" if off else "")
                  + f"  -> {'ok' if ok else 'FAILED'}")
    sys.exit(1 if failed else 0)
PY
step "bit-identity of int8 outputs: x86_64 reference on this machine"
"$host_py" -c "$identity" inputs "$pi"
"$host_py" -c "$identity" run "$pi" x86_64
tags=()
for cpu in "${cpu_list[@]}"; do
    step "$cpu: the same tensors in the emulated Pi, and edgecnn classify on the cat"
    in_root "$cpu" /opt/edgecnn/venv/bin/python -c "$check_cpu" || status=1
    in_root "$cpu" /opt/edgecnn/venv/bin/python -c "$identity" run /root/edgecnn-pi "$cpu" && tags+=("$cpu") || status=1
    if [ -f "$pi/images/cat.bmp" ] && [ "${#coral[@]}" -gt 0 ]; then
        in_root "$cpu" edgecnn classify "/root/edgecnn-pi/models/$(basename "${coral[0]}")" /root/edgecnn-pi/images/cat.bmp \
            --labels /srv/edgecnn-shared/coral/imagenet_labels.txt --top-k 1 || status=1
    fi
done
identity_status=0
if [ "${#tags[@]}" -gt 0 ]; then
    "$host_py" -c "$identity" compare "$pi" x86_64 "${tags[@]}" || identity_status=1
fi
[ "${#tags[@]}" -eq "${#cpu_list[@]}" ] || identity_status=1
[ "$identity_status" -eq 0 ] || status=1

echo "=== emulated Raspberry Pi (qemu-user on $(uname -m); emulated timings are not Pi timings) ==="
echo "install.sh from the wheel: ok, ${install_s} s emulated; device side ${venv_mb} MB venv + $((apt_kb / 1024)) MB apt"
echo "tests/device under ${cpu_list[0]}: exit ${tests_status}, ${tests_s} s emulated"
echo "int8 bit-identity vs x86_64 under ${cpu_list[*]}: $([ "$identity_status" -eq 0 ] && echo ok || echo FAILED)"
echo "emulate.sh: exit ${status} after $((SECONDS - t0)) s"
exit "$status"
