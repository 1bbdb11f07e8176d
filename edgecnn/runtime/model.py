"""Loading a .tflite model with its embedded card, and invoking it safely."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from edgecnn.card import METADATA_NAME, Card
from edgecnn.errors import EdgeCNNError, EdgeCNNUsageError, read_file
from edgecnn.log import get_logger, native_stderr_silenced
from edgecnn.runtime.backend import Backend, load_backend
from edgecnn.runtime.edgetpu import Device, cpu_build_hint, library_name, load_edgetpu_delegate, parse_device
from edgecnn.runtime.modelinfo import EDGETPU_CUSTOM_OP, custom_operators, read_metadata, read_model_info
from edgecnn.runtime.tensors import TensorSpec, tensor_spec

if TYPE_CHECKING:
    from pathlib import Path

log = get_logger(__name__)


class ModelError(EdgeCNNError):
    """A model file cannot be loaded or run."""


def read_card_bytes(data: bytes, source: str = "model") -> Card | None:
    """The edgecnn card embedded in TFLite bytes, or None for other people's models."""
    raw = read_metadata(data, source).get(METADATA_NAME)
    return None if raw is None else Card.from_json(raw, f"card embedded in {source}")


def read_card(path: str | Path) -> Card | None:
    """The edgecnn card embedded in a .tflite file, or None when it has none."""
    return read_card_bytes(read_model_bytes(path), str(path))


def read_model_bytes(path: str | Path) -> bytes:
    """The bytes of a model file; one ModelError for missing, empty or unreadable files."""
    data = read_file(path, "model", ModelError)
    if not data:
        raise ModelError(f"{path} is empty (0 bytes): not a TFLite model")
    return data


@dataclass
class LoadedModel:
    """An allocated interpreter, its backend, its card, its input and its outputs (in the model's
    output order; `output` is the first)."""

    path: str
    interpreter: Any
    backend: Backend
    card: Card | None
    input: TensorSpec
    outputs: tuple[TensorSpec, ...]
    size_bytes: int
    device: str = "cpu"

    @property
    def name(self) -> str:
        """The model's file name."""
        return os.path.basename(self.path)

    @property
    def output(self) -> TensorSpec:
        return self.outputs[0]

    def invoke(self, tensor: np.ndarray) -> np.ndarray:
        """Set the input, invoke, return a copy of the first output (raw dtype)."""
        return self.invoke_all(tensor)[0]

    def invoke_all(self, tensor: np.ndarray) -> list[np.ndarray]:
        """Set the input, invoke, return copies of every output (raw dtypes)."""
        try:
            self.interpreter.set_tensor(self.input.index, tensor)
            self.interpreter.invoke()
            return [self.interpreter.get_tensor(o.index).copy() for o in self.outputs]
        except (RuntimeError, ValueError) as exc:
            raise ModelError(f"{self.name} failed to run: {_first_line(exc)}") from None


def load_model(path: str | Path, threads: int | None = None, backend: str | None = None,
               device: str | None = None) -> LoadedModel:
    """Open a .tflite file, read its card and allocate tensors; one clear error on failure.

    `backend`: auto | litert | tflite-runtime | tensorflow. `device`: cpu | edgetpu[:usb|:pci][:N].
    """
    path = os.fspath(path)
    if threads is not None and threads < 1:
        raise EdgeCNNUsageError(f"--threads must be 1 or more, got {threads}")
    target = parse_device(device)
    chosen = load_backend(backend)
    data = read_model_bytes(path)
    card = read_card_bytes(data, str(path))
    if chosen.name != "litert":  # LiteRT verifies the flatbuffer itself; older interpreters crash on damage
        read_model_info(data, str(path))
    delegates = _delegates(path, EDGETPU_CUSTOM_OP in custom_operators(data, str(path)), target, chosen)
    try:
        with native_stderr_silenced():
            interpreter = chosen.interpreter_class(model_path=path, num_threads=threads,
                                                   experimental_delegates=delegates or None)
            interpreter.allocate_tensors()
    except (RuntimeError, ValueError) as exc:
        raise ModelError(f"cannot load {path}: {_first_line(exc)}") from None
    inputs, outputs = interpreter.get_input_details(), interpreter.get_output_details()
    if len(inputs) != 1 or not outputs:
        raise ModelError(f"{path} has {len(inputs)} inputs; edgecnn runs single-input image models")
    spec = tensor_spec(inputs[0])
    if len(spec.shape) != 4 or spec.shape[-1] not in (1, 3):
        raise ModelError(f"{path} input has shape {spec.shape}; expected an image (1, H, W, 1 or 3)")
    return LoadedModel(path, interpreter, chosen, card, spec, tuple(tensor_spec(o) for o in outputs), len(data),
                       target.name if delegates else "cpu")


def _delegates(path: str, edgetpu_ops: bool, target: Device, backend: Backend) -> list[Any]:
    name = os.path.basename(path)
    if target.kind == "cpu":
        if edgetpu_ops:
            raise ModelError(f"{name} is compiled for the Edge TPU (edgetpu-custom-op): run it with "
                             f"--device edgetpu (needs {library_name()}), or use the CPU build "
                             f"({os.path.basename(cpu_build_hint(path))})")
        return []
    if not edgetpu_ops:
        log.warning(f"{name} has no Edge TPU ops, so nothing will be delegated; it runs on the CPU "
                    f"(compile it with edgetpu_compiler for the Edge TPU)")
        return []
    return [load_edgetpu_delegate(backend, target)]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[0] if lines else text
