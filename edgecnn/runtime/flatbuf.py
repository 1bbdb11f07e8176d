"""A minimal, dependency-free reader for the TFLite flatbuffer.

The device side needs a few facts the interpreter does not expose (the embedded
edgecnn card above all); this reads them straight from the bytes without the
`flatbuffers` package or TensorFlow. Field numbers follow tensorflow/lite/schema.fbs.
"""

from __future__ import annotations

import struct

from edgecnn.errors import EdgeCNNError

FILE_IDENTIFIER = b"TFL3"

# Model table fields (schema.fbs): version=0 operator_codes=1 subgraphs=2 description=3
# buffers=4 metadata_buffer=5 metadata=6 signature_defs=7
MODEL_BUFFERS, MODEL_METADATA = 4, 6
# Metadata: name=0 buffer=1.  Buffer: data=0 offset=1 size=2.


class FlatbufferError(EdgeCNNError):
    """The bytes are not a well-formed TFLite flatbuffer."""


class Table:
    """A flatbuffer table at absolute position `pos` of `buf`."""

    def __init__(self, buf: bytes, pos: int) -> None:
        self.buf, self.pos = buf, pos
        self.vtable = pos - struct.unpack_from("<i", buf, pos)[0]
        self.vtable_len = struct.unpack_from("<H", buf, self.vtable)[0]

    def _offset(self, field: int) -> int:
        slot = 4 + 2 * field
        if slot + 2 > self.vtable_len:
            return 0
        return struct.unpack_from("<H", self.buf, self.vtable + slot)[0]

    def scalar(self, field: int, fmt: str, default: int | float = 0) -> int | float:
        off = self._offset(field)
        return struct.unpack_from("<" + fmt, self.buf, self.pos + off)[0] if off else default

    def _indirect(self, field: int) -> int | None:
        off = self._offset(field)
        if not off:
            return None
        at = self.pos + off
        return at + struct.unpack_from("<I", self.buf, at)[0]

    def vector(self, field: int) -> tuple[int, int]:
        """(start, length) of a vector field; (0, 0) when absent."""
        at = self._indirect(field)
        if at is None:
            return 0, 0
        return at + 4, struct.unpack_from("<I", self.buf, at)[0]

    def tables(self, field: int) -> list["Table"]:
        start, n = self.vector(field)
        out = []
        for i in range(n):
            at = start + 4 * i
            out.append(Table(self.buf, at + struct.unpack_from("<I", self.buf, at)[0]))
        return out

    def string(self, field: int) -> str | None:
        start, n = self.vector(field)
        return bytes(self.buf[start:start + n]).decode("utf-8", "replace") if start else None

    def ubytes(self, field: int) -> bytes:
        start, n = self.vector(field)
        if start + n > len(self.buf):
            raise struct.error("vector runs past the end of the buffer")
        return bytes(self.buf[start:start + n])

    def ints(self, field: int, fmt: str = "i") -> list[int]:
        start, n = self.vector(field)
        return list(struct.unpack_from(f"<{n}{fmt}", self.buf, start)) if n else []


def root(buf: bytes, source: str = "model") -> Table:
    """The root Model table; FlatbufferError when `buf` is not a TFLite flatbuffer."""
    if len(buf) < 8 or buf[4:8] != FILE_IDENTIFIER:
        raise FlatbufferError(f"{source} is not a TFLite model (no 'TFL3' flatbuffer identifier)")
    try:
        return Table(buf, struct.unpack_from("<I", buf, 0)[0])
    except struct.error:
        raise FlatbufferError(f"{source} is truncated or corrupt (bad root table)") from None


def read_metadata(buf: bytes, source: str = "model") -> dict[str, bytes]:
    """All named metadata entries of a TFLite model as {name: bytes}."""
    model = root(buf, source)
    try:
        buffers = model.tables(MODEL_BUFFERS)
        out: dict[str, bytes] = {}
        for entry in model.tables(MODEL_METADATA):
            name = entry.string(0) or ""
            index = int(entry.scalar(1, "I"))
            if index >= len(buffers):
                continue
            out[name] = _buffer_bytes(buf, buffers[index])
        return out
    except struct.error:
        raise FlatbufferError(f"{source} is truncated or corrupt (metadata unreadable)") from None


def _buffer_bytes(buf: bytes, table: Table) -> bytes:
    data = table.ubytes(0)
    if data:
        return data
    offset, size = int(table.scalar(1, "Q")), int(table.scalar(2, "Q"))
    if offset > 1 and size:  # large models keep buffer data after the flatbuffer
        if offset + size > len(buf):
            raise struct.error("buffer runs past the end of the file")
        return bytes(buf[offset:offset + size])
    return b""
