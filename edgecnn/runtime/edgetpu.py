"""The Coral Edge TPU: device names, the delegate library, and clear failures."""

from __future__ import annotations

import ctypes
import platform
import re
from typing import Any, NamedTuple

from edgecnn.errors import EdgeCNNError, EdgeCNNUsageError

LIBRARIES = {"Linux": "libedgetpu.so.1", "Darwin": "libedgetpu.1.dylib", "Windows": "edgetpu.dll"}
_DEVICE = re.compile(r"^edgetpu(?::(usb|pci))?(?::(\d+))?$")


class Device(NamedTuple):
    """Where a model runs: the CPU, or an Edge TPU with the delegate's device option."""

    kind: str  # "cpu" or "edgetpu"
    option: str | None  # libedgetpu's "device" option: "usb", "pci:0", ":1", ... or None (first found)

    @property
    def name(self) -> str:
        return "cpu" if self.kind == "cpu" else "edgetpu" + (f":{self.option.lstrip(':')}" if self.option else "")


def parse_device(text: str | None) -> Device:
    """cpu | edgetpu | edgetpu:usb | edgetpu:pci | edgetpu:N | edgetpu:usb:N | edgetpu:pci:N."""
    text = (text or "cpu").strip().lower()
    if text == "cpu":
        return Device("cpu", None)
    m = _DEVICE.match(text)
    if not m:
        raise EdgeCNNUsageError(f"unknown device {text!r}: use cpu, edgetpu, edgetpu:usb, edgetpu:pci "
                                f"or edgetpu:N (N-th Edge TPU)")
    bus, index = m.groups()
    if bus and index is not None:
        return Device("edgetpu", f"{bus}:{index}")
    if bus:
        return Device("edgetpu", bus)
    return Device("edgetpu", f":{index}" if index is not None else None)


def library_name() -> str:
    """The Edge TPU runtime library for this operating system."""
    return LIBRARIES.get(platform.system(), LIBRARIES["Linux"])


def load_edgetpu_delegate(backend: Any, device: Device) -> Any:
    """Load libedgetpu through the backend's load_delegate; one clear error when it is missing."""
    library = library_name()
    options = {"device": device.option} if device.option else {}
    try:
        ctypes.CDLL(library)  # check first: a failed load_delegate leaves a half-built object behind
    except OSError:
        raise EdgeCNNError(f"{library} not found: install libedgetpu1-std (see deploy/coral), "
                           f"or pass --device cpu") from None
    try:
        return backend.load_delegate(library, options)
    except (ValueError, OSError, RuntimeError, AttributeError) as exc:
        missing = "not found" in str(exc).lower() or "cannot open" in str(exc).lower() or "dlopen" in str(exc).lower()
        why = f"{library} not found" if missing else f"no Edge TPU answered as {device.name} ({exc})"
        raise EdgeCNNError(f"{why}: install libedgetpu1-std (see deploy/coral), plug in the "
                           f"Edge TPU, or pass --device cpu") from None


def cpu_build_hint(path: str) -> str:
    """For foo_edgetpu.tflite, the CPU model name users usually have beside it."""
    if path.endswith("_edgetpu.tflite"):
        return path.replace("_edgetpu.tflite", ".tflite")
    return "the model before edgetpu_compiler"
