"""Which decoder reads a detection model's outputs: chosen from the card (edgecnn's own detectors)
or recognised from the output tensors (third-party families). A decoder is anything with this
protocol; `recognise` returns one for a model it knows, or None."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple, Protocol

import numpy as np

from edgecnn.card import Card
from edgecnn.runtime.tensors import TensorSpec


@dataclass(frozen=True)
class DecodeOptions:
    """What the user chose: minimum score, NMS overlap, how many detections at most."""

    threshold: float = 0.5
    iou: float = 0.5
    max_detections: int = 100


class Decoded(NamedTuple):
    """Decoder output before the frame mapping: boxes x0, y0, x1, y1 in input pixels (N, 4), scores
    (N,), class indices (N,), and optional keypoints (N, K, 2) in input pixels. Already NMS-ed.
    (A named tuple: made once a frame, it costs a fifth of a frozen dataclass.)"""

    boxes: np.ndarray
    scores: np.ndarray
    classes: np.ndarray
    keypoints: np.ndarray | None = None

    @classmethod
    def empty(cls) -> Decoded:
        """No detections: one shared instance (read-only arrays; the usual frame returns it)."""
        return _EMPTY


def _read_only(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


_EMPTY = Decoded(_read_only(np.zeros((0, 4))), _read_only(np.zeros(0)), _read_only(np.zeros(0, dtype=np.int64)))


class Decoder(Protocol):
    name: str       # the family, for inspect / bench / errors
    fit: str        # how frames become inputs: "stretch" or "letterbox"
    classes: int    # how many class scores the model gives (labels are matched to these); 0 = unknown
    background: bool  # a label list one longer than `classes` starts with a background entry

    def decode(self, outputs: list[np.ndarray], input_hw: tuple[int, int], opts: DecodeOptions) -> Decoded:
        """Dequantized outputs (float32, in the model's output order) -> detections."""
        ...


Recogniser = Callable[[list[TensorSpec], Card | None], Decoder | None]
_FAMILIES: list[tuple[str, Recogniser]] = []
KNOWN: list[str] = []


def family(description: str) -> Callable[[Recogniser], Recogniser]:
    """Register a recogniser (decorator); `description` is what an unrecognised-layout error lists."""
    def register(fn: Recogniser) -> Recogniser:
        _FAMILIES.append((description, fn))
        KNOWN.append(description)
        return fn
    return register


def recognise(outputs: list[TensorSpec], card: Card | None) -> Decoder | None:
    """The first registered family that claims these outputs, or None."""
    for _, fn in _FAMILIES:
        decoder = fn(outputs, card)
        if decoder is not None:
            return decoder
    return None
