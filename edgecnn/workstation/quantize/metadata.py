"""Writing named metadata into a .tflite flatbuffer (workstation side, TensorFlow's schema tools)."""

from __future__ import annotations

import numpy as np
from tensorflow.lite.python import schema_py_generated as schema
from tensorflow.lite.tools import flatbuffer_utils

from edgecnn.card import METADATA_NAME, Card


def embed_metadata(model: bytes, name: str, payload: bytes) -> bytes:
    """Return `model` with metadata entry `name` set to `payload` (an older entry is replaced)."""
    obj = flatbuffer_utils.convert_bytearray_to_object(bytearray(model))
    obj.metadata = [m for m in (obj.metadata or []) if _name(m.name) != name]
    buffer = schema.BufferT()
    buffer.data = np.frombuffer(payload, dtype=np.uint8)
    obj.buffers.append(buffer)
    entry = schema.MetadataT()
    entry.name = name
    entry.buffer = len(obj.buffers) - 1
    obj.metadata.append(entry)
    return bytes(flatbuffer_utils.convert_object_to_bytearray(obj))


def with_card(model: bytes, card: Card) -> bytes:
    """`model` with `card` embedded under the edgecnn metadata name."""
    return embed_metadata(model, METADATA_NAME, card.to_json().encode("utf-8"))


def _name(raw: bytes | str | None) -> str:
    return raw.decode() if isinstance(raw, bytes) else (raw or "")
