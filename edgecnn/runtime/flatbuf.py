"""The two things loading a model needs from a .tflite flatbuffer, read with `struct` alone.

Loading a model needs the card (a metadata entry) and whether an Edge TPU custom op is present.
The generated TFLite schema module costs ~15 ms and ~4 MB of a cold start to import, so these
two are read here directly; `modelinfo` (inspect, the full reader) still uses the schema.
Field numbers follow tensorflow/lite/schema/schema.fbs. Every offset is checked against the
buffer: a damaged file raises FlatbufferError, never reads out of bounds or loops for long.
"""

from __future__ import annotations

import struct

# schema.fbs field numbers
MODEL_OPERATOR_CODES, MODEL_BUFFERS, MODEL_METADATA = 1, 4, 6
OPCODE_DEPRECATED_BUILTIN, OPCODE_CUSTOM, OPCODE_BUILTIN = 0, 1, 3
METADATA_NAME, METADATA_BUFFER = 0, 1
BUFFER_DATA, BUFFER_OFFSET, BUFFER_SIZE = 0, 1, 2
CUSTOM = 32  # BuiltinOperator.CUSTOM


class FlatbufferError(ValueError):
    """The bytes are not a well-formed TFLite flatbuffer."""


def _read(buf: bytes, fmt: str, pos: int) -> int:
    if pos < 0 or pos + struct.calcsize(fmt) > len(buf):
        raise FlatbufferError("offset outside the file")
    return struct.unpack_from(fmt, buf, pos)[0]


def _field(buf: bytes, table: int, field: int) -> int | None:
    """Absolute position of a table's field, or None when the field is absent."""
    vtable = table - _read(buf, "<i", table)
    size = _read(buf, "<H", vtable)
    if 4 + 2 * field >= size:
        return None
    offset = _read(buf, "<H", vtable + 4 + 2 * field)
    return table + offset if offset else None


def _deref(buf: bytes, pos: int) -> int:
    return pos + _read(buf, "<I", pos)


def _vector(buf: bytes, table: int, field: int) -> tuple[int, int]:
    """(position of the first element, length) of a vector field; (0, 0) when absent."""
    pos = _field(buf, table, field)
    if pos is None:
        return 0, 0
    start = _deref(buf, pos)
    length = _read(buf, "<I", start)
    if start + 4 + length > len(buf):
        raise FlatbufferError("vector longer than the file")
    return start + 4, length


def _tables(buf: bytes, table: int, field: int) -> list[int]:
    start, length = _vector(buf, table, field)
    if 4 * length > len(buf):
        raise FlatbufferError("vector longer than the file")
    return [_deref(buf, start + 4 * i) for i in range(length)]


def _string(buf: bytes, table: int, field: int) -> bytes:
    start, length = _vector(buf, table, field)
    return bytes(buf[start:start + length])


def _scalar(buf: bytes, table: int, field: int, fmt: str, default: int = 0) -> int:
    pos = _field(buf, table, field)
    return default if pos is None else _read(buf, fmt, pos)


def root(buf: bytes) -> int:
    """Position of the Model table; FlatbufferError when the bytes are no TFLite model."""
    if len(buf) < 8 or buf[4:8] != b"TFL3":
        raise FlatbufferError("no 'TFL3' flatbuffer identifier")
    return _deref(buf, 0)


def metadata_at(buf: bytes) -> dict[str, bytes]:
    """Every named metadata entry as {name: bytes} (data inside the flatbuffer or after it)."""
    model = root(buf)
    buffers = _tables(buf, model, MODEL_BUFFERS)
    out: dict[str, bytes] = {}
    for entry in _tables(buf, model, MODEL_METADATA):
        index = _scalar(buf, entry, METADATA_BUFFER, "<I")
        if index < len(buffers):
            out[_string(buf, entry, METADATA_NAME).decode("utf-8", "replace")] = _buffer(buf, buffers[index])
    return out


def _buffer(buf: bytes, table: int) -> bytes:
    start, length = _vector(buf, table, BUFFER_DATA)
    if length:
        return bytes(buf[start:start + length])
    offset, size = _scalar(buf, table, BUFFER_OFFSET, "<Q"), _scalar(buf, table, BUFFER_SIZE, "<Q")
    if offset > 1 and size:  # large models keep buffer data after the flatbuffer
        if offset + size > len(buf):
            raise FlatbufferError("buffer runs past the end of the file")
        return bytes(buf[offset:offset + size])
    return b""


def custom_operators_at(buf: bytes) -> list[str]:
    """The custom operator codes a model uses (such as 'edgetpu-custom-op')."""
    out = []
    for code in _tables(buf, root(buf), MODEL_OPERATOR_CODES):
        builtin = max(_scalar(buf, code, OPCODE_DEPRECATED_BUILTIN, "<b"), _scalar(buf, code, OPCODE_BUILTIN, "<i"))
        if builtin == CUSTOM:
            out.append((_string(buf, code, OPCODE_CUSTOM) or b"CUSTOM").decode("utf-8", "replace"))
    return out
