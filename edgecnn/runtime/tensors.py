"""Tensor specs and the one place that quantizes inputs and dequantizes outputs."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np


class TensorSpec(NamedTuple):
    """An interpreter tensor: index, shape, dtype and per-tensor quantization (scale 0 = none)."""

    index: int
    name: str
    shape: tuple[int, ...]
    dtype: np.dtype
    scale: float
    zero_point: int

    @property
    def quantized(self) -> bool:
        return self.scale != 0.0 and self.dtype.kind in "iu"


def tensor_spec(detail: dict[str, Any]) -> TensorSpec:
    """Build a TensorSpec from one entry of get_input_details()/get_output_details()."""
    scale, zero_point = detail.get("quantization", (0.0, 0))
    return TensorSpec(
        index=int(detail["index"]),
        name=str(detail.get("name", "")),
        shape=tuple(int(d) for d in detail["shape"]),
        dtype=np.dtype(detail["dtype"]),
        scale=float(scale),
        zero_point=int(zero_point),
    )


def quantize(x: np.ndarray, spec: TensorSpec) -> np.ndarray:
    """Float input -> the tensor's dtype: q = round(x / scale) + zero_point, clipped.

    Float tensors pass through as float32. This is the only input quantization in edgecnn.
    """
    if not np.issubdtype(spec.dtype, np.integer):
        return np.asarray(x, dtype=spec.dtype)
    if not spec.quantized:
        raise ValueError(f"integer input tensor {spec.name!r} has no quantization parameters")
    info = np.iinfo(spec.dtype)
    q = np.rint(np.asarray(x, dtype=np.float64) / spec.scale) + spec.zero_point
    return np.clip(q, info.min, info.max).astype(spec.dtype)


def dequantize(q: np.ndarray, spec: TensorSpec) -> np.ndarray:
    """Tensor output -> float32: (q - zero_point) * scale, the subtraction done in int32.

    This is the only output dequantization in edgecnn.
    """
    if not spec.quantized:
        return np.asarray(q, dtype=np.float32)
    centred = np.asarray(q).astype(np.int32) - spec.zero_point  # exact for 8- and 16-bit tensors
    return centred.astype(np.float32) * np.float32(spec.scale)
