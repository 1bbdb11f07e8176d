"""What face finding produces: boxes with eye centres, and face crops ready for the embedder."""

from __future__ import annotations

from typing import NamedTuple, Protocol

import numpy as np

from edgecnn.errors import EdgeCNNError

Box = tuple[int, int, int, int]  # x, y, w, h
Point = tuple[float, float]


class Detection(NamedTuple):
    box: Box
    eyes: tuple[Point, Point] | None  # (left-in-image, right-in-image) centres, when both were found


class Face(NamedTuple):
    """A face ready for the embedder: BGR crop, where it was, how many faces the frame held."""

    image: np.ndarray
    box: Box
    aligned: bool
    angle: float
    faces_in_frame: int


class Detector(Protocol):
    def find(self, bgr: np.ndarray) -> list[Detection]: ...


class NoFaceError(EdgeCNNError):
    """No face where one was needed."""
