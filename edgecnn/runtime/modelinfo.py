"""What a .tflite file holds, read from the flatbuffer alone (no interpreter needed).

The file is read with the TFLite schema's generated Python code: the copy LiteRT ships
(`ai_edge_litert.schema_py_generated`), or the `tflite` package where LiteRT is absent
(tflite-runtime installs). Works on models no CPU interpreter can load, such as `*_edgetpu.tflite`.
A damaged file ends in one ModelFormatError, never a traceback or a hang.
"""

from __future__ import annotations

import functools
import struct
from collections import Counter
from types import ModuleType
from typing import Any, NamedTuple

import numpy as np

from edgecnn.errors import EdgeCNNError
from edgecnn.runtime.flatbuf import FlatbufferError, custom_operators_at, metadata_at

EDGETPU_CUSTOM_OP = "edgetpu-custom-op"


class ModelFormatError(EdgeCNNError):
    """The bytes are not a readable TFLite flatbuffer."""


@functools.lru_cache(maxsize=1)
def schema() -> ModuleType:
    """The generated TFLite schema module (LiteRT's copy first, then the `tflite` package)."""
    try:
        from ai_edge_litert import schema_py_generated

        return schema_py_generated
    except ImportError:
        pass
    try:
        import tflite

        return tflite
    except ImportError:
        raise EdgeCNNError("reading .tflite files needs the TFLite schema: pip install ai-edge-litert, "
                           "or pip install tflite next to tflite-runtime") from None


@functools.lru_cache(maxsize=2)
def _names(enum: str) -> dict[int, str]:
    table = getattr(schema(), enum)
    return {v: k for k, v in vars(table).items() if not k.startswith("_") and isinstance(v, int)}


class TensorInfo(NamedTuple):
    """A tensor as the file declares it."""

    name: str
    shape: tuple[int, ...]
    shape_signature: tuple[int, ...]
    dtype: str
    scales: tuple[float, ...]
    zero_points: tuple[int, ...]
    constant: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "shape": list(self.shape), "shape_signature": list(self.shape_signature),
                "dtype": self.dtype, "scale": list(self.scales), "zero_point": list(self.zero_points)}


class OpInfo(NamedTuple):
    """One operator: its name (builtin or custom code), version and tensor indices."""

    name: str
    version: int
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]


class ModelInfo(NamedTuple):
    """Inputs, outputs, operators and metadata of subgraph 0 of a TFLite model."""

    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]
    subgraphs: int
    metadata: dict[str, bytes]
    tensors: tuple[TensorInfo, ...]
    operators: tuple[OpInfo, ...]

    @property
    def op_histogram(self) -> dict[str, int]:
        return dict(Counter(op.name for op in self.operators).most_common())

    @property
    def has_edgetpu_ops(self) -> bool:
        return any(op.name == EDGETPU_CUSTOM_OP for op in self.operators)


def _root(buf: bytes, source: str) -> Any:
    fb = schema()
    if len(buf) < 8 or buf[4:8] != b"TFL3":
        raise ModelFormatError(f"{source} is not a TFLite model (no 'TFL3' flatbuffer identifier)")
    return fb.Model.GetRootAs(buf, 0)


def _count(length: int, buf: bytes) -> int:
    """A vector length that fits in the file (a corrupt length would loop for hours)."""
    if length < 0 or length * 4 > len(buf):
        raise IndexError("vector longer than the file")
    return length


def _ints(getter: Any) -> tuple[int, ...]:
    values = getter()
    return () if isinstance(values, int) else tuple(int(v) for v in values)


def read_metadata(buf: bytes, source: str = "model") -> dict[str, bytes]:
    """All named metadata entries of a TFLite model as {name: bytes} (read without the schema)."""
    if len(buf) < 8 or buf[4:8] != b"TFL3":
        raise ModelFormatError(f"{source} is not a TFLite model (no 'TFL3' flatbuffer identifier)")
    try:
        return metadata_at(buf)
    except (FlatbufferError, struct.error, UnicodeError):
        raise ModelFormatError(f"{source} is truncated or corrupt (metadata unreadable)") from None


def custom_operators(buf: bytes, source: str = "model") -> list[str]:
    """The custom operator codes a model uses, such as 'edgetpu-custom-op' (read without the schema)."""
    if len(buf) < 8 or buf[4:8] != b"TFL3":
        raise ModelFormatError(f"{source} is not a TFLite model (no 'TFL3' flatbuffer identifier)")
    try:
        return custom_operators_at(buf)
    except (FlatbufferError, struct.error, UnicodeError):
        raise ModelFormatError(f"{source} is truncated or corrupt (operator codes unreadable)") from None


def read_model_info(buf: bytes, source: str = "model") -> ModelInfo:
    """Parse `buf`; ModelFormatError when it is not a readable TFLite model."""
    model = _root(buf, source)
    try:
        n_subgraphs = _count(model.SubgraphsLength(), buf)
        if not n_subgraphs:
            raise ModelFormatError(f"{source} has no subgraph: not a runnable TFLite model")
        codes = [_op_code(model.OperatorCodes(i)) for i in range(_count(model.OperatorCodesLength(), buf))]
        filled = [_has_data(model.Buffers(i)) for i in range(_count(model.BuffersLength(), buf))]
        main = model.Subgraphs(0)
        tensors = tuple(_tensor(main.Tensors(i), filled) for i in range(_count(main.TensorsLength(), buf)))
        operators = []
        for i in range(_count(main.OperatorsLength(), buf)):
            op = main.Operators(i)
            operators.append(OpInfo(*codes[op.OpcodeIndex()], _ints(op.InputsAsNumpy), _ints(op.OutputsAsNumpy)))
        inputs = tuple(tensors[i] for i in _ints(main.InputsAsNumpy))
        outputs = tuple(tensors[i] for i in _ints(main.OutputsAsNumpy))
        if any(not -1 <= i < len(tensors) for op in operators for i in op.inputs + op.outputs):
            raise IndexError("an operator names a tensor that does not exist")
    except ModelFormatError:
        raise
    except Exception:  # struct.error, IndexError, TypeError, ... from a damaged file
        raise ModelFormatError(f"{source} is truncated or corrupt (model structure unreadable)") from None
    return ModelInfo(inputs, outputs, n_subgraphs, read_metadata(buf, source), tensors, tuple(operators))


def operator_names(buf: bytes, source: str = "model") -> list[str]:
    """The operator codes a model uses (cheaper than read_model_info: no tensors are read)."""
    model = _root(buf, source)
    try:
        return [_op_code(model.OperatorCodes(i))[0] for i in range(_count(model.OperatorCodesLength(), buf))]
    except Exception:  # damage, as in read_model_info
        raise ModelFormatError(f"{source} is truncated or corrupt (operator codes unreadable)") from None


def _has_data(buffer: Any) -> bool:
    return buffer.DataLength() > 0 or int(buffer.Size()) > 0


def _op_code(code: Any) -> tuple[str, int]:
    value = max(int(code.DeprecatedBuiltinCode()), int(code.BuiltinCode()))
    version = int(code.Version())
    names = _names("BuiltinOperator")
    if names.get(value) == "CUSTOM":
        return (code.CustomCode() or b"CUSTOM").decode("utf-8", "replace"), version
    return names.get(value, f"OP_{value}"), version


def _tensor(t: Any, filled: list[bool]) -> TensorInfo:
    shape = _ints(t.ShapeAsNumpy)
    signature = _ints(t.ShapeSignatureAsNumpy) or shape
    scales: tuple[float, ...] = ()
    zero_points: tuple[int, ...] = ()
    quant = t.Quantization()
    if quant is not None:
        raw = quant.ScaleAsNumpy()
        scales = () if isinstance(raw, int) else tuple(float(s) for s in np.asarray(raw, np.float32))
        zero_points = _ints(quant.ZeroPointAsNumpy)
    buffer = int(t.Buffer())
    dtype = _names("TensorType").get(int(t.Type()), f"TYPE_{t.Type()}")
    return TensorInfo((t.Name() or b"").decode("utf-8", "replace"), shape, signature, dtype,
                      scales, zero_points, 0 < buffer < len(filled) and filled[buffer])
