"""Where to classify: the whole frame, a fixed --roi, or whatever a region finder returns.

A region finder is anything with `find(bgr) -> list[Region]` (largest or most relevant first);
the CLI chooses one (a fixed box, or faces from edgecnn.face) and hands it to the detect loop.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from edgecnn.errors import EdgeCNNUsageError
from edgecnn.log import get_logger

Region = tuple[int, int, int, int]  # x, y, w, h in pixels of the frame
log = get_logger(__name__)


class RegionFinder(Protocol):
    def find(self, bgr: np.ndarray) -> list[Region]: ...


class FixedRegion:
    """The same box on every frame (--roi x,y,w,h); a box outside the frame is a usage error, one
    that sticks out is clipped (said once)."""

    def __init__(self, region: Region) -> None:
        self.region = region
        self._checked: tuple[int, int] | None = None

    def find(self, bgr: np.ndarray) -> list[Region]:
        size = bgr.shape[:2]
        if size != self._checked:
            self._checked = size
            self.region = _fit(self.region, size)
        return [self.region]


def _fit(region: Region, size: tuple[int, ...]) -> Region:
    x, y, w, h = region
    fh, fw = size[0], size[1]
    x0, y0, x1, y1 = max(0, x), max(0, y), min(fw, x + w), min(fh, y + h)
    if x1 <= x0 or y1 <= y0:
        raise EdgeCNNUsageError(f"--roi {x},{y},{w},{h} lies outside the {fw}x{fh} frame")
    if (x0, y0, x1, y1) != (x, y, x + w, y + h):
        log.warning(f"--roi {x},{y},{w},{h} sticks out of the {fw}x{fh} frame; using {x0},{y0},{x1 - x0},{y1 - y0}")
    return x0, y0, x1 - x0, y1 - y0


def parse_roi(text: str | None) -> str | Region | None:
    """None (whole frame), "faces", or (x, y, w, h) with w, h > 0."""
    if text is None or text == "full":
        return None
    if text == "faces":
        return "faces"
    try:
        x, y, w, h = (int(v) for v in text.split(","))
    except ValueError:
        raise EdgeCNNUsageError(f"--roi must be x,y,w,h in pixels, 'faces' or 'full', got {text!r}") from None
    if x < 0 or y < 0 or w < 1 or h < 1:
        raise EdgeCNNUsageError(f"--roi needs x, y >= 0 and w, h >= 1, got {text!r}")
    return x, y, w, h


def crop(frame: np.ndarray, region: Region | None) -> np.ndarray | None:
    """The region clipped to the frame; None when nothing of it lies inside."""
    if region is None:
        return frame
    x, y, w, h = region
    fh, fw = frame.shape[:2]
    x0, y0, x1, y1 = max(0, x), max(0, y), min(fw, x + w), min(fh, y + h)
    if x1 <= x0 or y1 <= y0:
        return None
    return frame[y0:y1, x0:x1]
