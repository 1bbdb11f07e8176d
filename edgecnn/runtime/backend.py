"""Finding a TFLite interpreter without TensorFlow: LiteRT first, tflite_runtime second."""

from __future__ import annotations

import importlib
from typing import Any, NamedTuple

from edgecnn.errors import EdgeCNNError

# (backend name, module holding Interpreter, distribution for the version)
_BACKENDS = (
    ("litert", "ai_edge_litert.interpreter", "ai-edge-litert"),
    ("tflite-runtime", "tflite_runtime.interpreter", "tflite-runtime"),
)


class Backend(NamedTuple):
    """An importable interpreter implementation."""

    name: str
    version: str
    interpreter_class: Any
    module: Any


def _version(dist: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "unknown"


def load_backend() -> Backend:
    """The first interpreter that imports: ai_edge_litert, then tflite_runtime."""
    for name, module_name, dist in _BACKENDS:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        return Backend(name, _version(dist), module.Interpreter, module)
    raise EdgeCNNError(
        "no TFLite interpreter found: pip install ai-edge-litert "
        "(or tflite-runtime with numpy<2 on older Raspberry Pi OS images)"
    )
