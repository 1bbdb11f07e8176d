"""Choosing a TFLite interpreter without importing TensorFlow unless asked.

auto = ai_edge_litert (LiteRT) first, tflite_runtime second. `tensorflow` (the
interpreter bundled in TensorFlow, deprecated there) is used only when named.
The EDGECNN_BACKEND environment variable sets the default.
"""

from __future__ import annotations

import importlib
import os
from typing import Any, NamedTuple

from edgecnn.errors import EdgeCNNError, EdgeCNNUsageError

ENV_VAR = "EDGECNN_BACKEND"
# name -> (module holding Interpreter and load_delegate, distribution, install hint)
BACKENDS = {
    "litert": ("ai_edge_litert.interpreter", "ai-edge-litert", "pip install ai-edge-litert"),
    "tflite-runtime": ("tflite_runtime.interpreter", "tflite-runtime",
                       "pip install tflite-runtime 'numpy<2' (Python <= 3.11)"),
    "tensorflow": ("tensorflow.lite.python.interpreter", "tensorflow", "pip install 'edgecnn[train]'"),
}
AUTO_ORDER = ("litert", "tflite-runtime")
NAMES = ("auto", *BACKENDS)


class Backend(NamedTuple):
    """An importable interpreter implementation."""

    name: str
    version: str
    interpreter_class: Any
    module: Any

    def load_delegate(self, library: str, options: dict[str, str]) -> Any:
        return self.module.load_delegate(library, options)


def _version(module: Any, dist: str) -> str:
    top = importlib.import_module(module.__name__.split(".")[0])
    if isinstance(getattr(top, "__version__", None), str):
        return top.__version__  # cheap; importlib.metadata costs ~40 ms of start-up
    from importlib import metadata

    for name in (dist, "tensorflow-cpu") if dist == "tensorflow" else (dist,):
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return "unknown"


def _import(name: str) -> Backend | None:
    module_name, dist, _ = BACKENDS[name]
    if name == "tensorflow":
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    return Backend(name, _version(module, dist), module.Interpreter, module)


def load_backend(name: str | None = None) -> Backend:
    """The backend `name` (default: $EDGECNN_BACKEND or auto); one clear error if unavailable."""
    name = (name or os.environ.get(ENV_VAR) or "auto").strip().lower()
    if name not in NAMES:
        raise EdgeCNNUsageError(f"unknown backend {name!r}: use one of {', '.join(NAMES)}")
    if name != "auto":
        backend = _import(name)
        if backend is None:
            raise EdgeCNNError(f"backend {name} is not installed: {BACKENDS[name][2]}")
        return backend
    for candidate in AUTO_ORDER:
        backend = _import(candidate)
        if backend is not None:
            return backend
    raise EdgeCNNError(
        "no TFLite interpreter found: pip install ai-edge-litert "
        "(or tflite-runtime with numpy<2 on older Raspberry Pi OS images)"
    )
