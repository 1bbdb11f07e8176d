"""What a .tflite file holds, read from the flatbuffer alone (no interpreter needed).

Works on models no CPU interpreter can load, such as `*_edgetpu.tflite`.
"""

from __future__ import annotations

import struct
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from edgecnn.runtime import flatbuf
from edgecnn.runtime.schema_names import op_name, type_name

EDGETPU_CUSTOM_OP = "edgetpu-custom-op"
# Model: operator_codes=1 subgraphs=2.  OperatorCode: deprecated_builtin_code=0 custom_code=1
# version=2 builtin_code=3.  SubGraph: tensors=0 inputs=1 outputs=2 operators=3.
# Operator: opcode_index=0.  Tensor: shape=0 type=1 buffer=2 name=3 quantization=4
# shape_signature=7.  QuantizationParameters: scale=2 zero_point=3.
CUSTOM = 32


@dataclass(frozen=True)
class TensorInfo:
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


@dataclass(frozen=True)
class OpInfo:
    """One operator: its name (builtin or custom code), version and tensor indices."""

    name: str
    version: int
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]


@dataclass
class ModelInfo:
    """Inputs, outputs, operators and metadata of a TFLite model."""

    inputs: list[TensorInfo]
    outputs: list[TensorInfo]
    ops: list[tuple[str, int]]  # (name, version) for each operator of subgraph 0, in order
    subgraphs: int
    metadata: dict[str, bytes] = field(default_factory=dict)
    tensors: list[TensorInfo] = field(default_factory=list)  # all tensors of subgraph 0
    operators: list[OpInfo] = field(default_factory=list)  # subgraph 0, execution order

    @property
    def op_histogram(self) -> dict[str, int]:
        return dict(Counter(name for name, _ in self.ops).most_common())

    @property
    def has_edgetpu_ops(self) -> bool:
        return any(name == EDGETPU_CUSTOM_OP for name, _ in self.ops)


def read_model_info(buf: bytes, source: str = "model") -> ModelInfo:
    """Parse `buf`; FlatbufferError when it is not a readable TFLite model."""
    model = flatbuf.root(buf, source)
    try:
        codes = [_op_code(t) for t in model.tables(1)]
        subgraphs = model.tables(2)
        if not subgraphs:
            raise flatbuf.FlatbufferError(f"{source} has no subgraph: not a runnable TFLite model")
        main = subgraphs[0]
        filled = [_has_data(b) for b in model.tables(flatbuf.MODEL_BUFFERS)]
        tensors = [_tensor(t, filled) for t in main.tables(0)]
        operators = [OpInfo(*codes[int(op.scalar(0, "I"))], tuple(op.ints(1)), tuple(op.ints(2)))
                     for op in main.tables(3)]
        inputs = [tensors[i] for i in main.ints(1)]
        outputs = [tensors[i] for i in main.ints(2)]
    except (struct.error, IndexError):
        raise flatbuf.FlatbufferError(f"{source} is truncated or corrupt (model structure unreadable)") from None
    return ModelInfo(inputs, outputs, [(o.name, o.version) for o in operators], len(subgraphs),
                     flatbuf.read_metadata(buf, source), tensors, operators)


def _has_data(buffer: flatbuf.Table) -> bool:
    return buffer.vector(0)[1] > 0 or int(buffer.scalar(2, "Q")) > 0


def _op_code(table: flatbuf.Table) -> tuple[str, int]:
    code = max(int(table.scalar(0, "b")), int(table.scalar(3, "i")))
    version = int(table.scalar(2, "i", 1))
    if code == CUSTOM:
        return table.string(1) or "CUSTOM", version
    return op_name(code), version


def _tensor(table: flatbuf.Table, filled: list[bool]) -> TensorInfo:
    shape = tuple(table.ints(0))
    signature = tuple(table.ints(7)) or shape
    quant = table._indirect(4)
    scales: tuple[float, ...] = ()
    zero_points: tuple[int, ...] = ()
    if quant is not None:
        q = flatbuf.Table(table.buf, quant)
        start, n = q.vector(2)
        scales = struct.unpack_from(f"<{n}f", table.buf, start) if n else ()
        zero_points = tuple(q.ints(3, "q"))
    buffer = int(table.scalar(2, "I"))
    return TensorInfo(table.string(3) or "", shape, signature, type_name(int(table.scalar(1, "b"))),
                      tuple(float(s) for s in scales), zero_points, 0 < buffer < len(filled) and filled[buffer])
