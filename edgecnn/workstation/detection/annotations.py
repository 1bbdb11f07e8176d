"""What every detection format is read into: images with boxes, and the problems met on the way.

Boxes are x0, y0, x1, y1 in pixels of the image as stored. Bad annotations (a box outside the
image, an unknown class, a missing image, an empty or unreadable file) are counted and skipped;
only a data set with nothing usable left is an error.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edgecnn.errors import EdgeCNNError
from edgecnn.imagesize import dimensions
from edgecnn.log import get_logger

log = get_logger(__name__)
FORMATS = ("coco", "yolo", "voc", "builtin")


class AnnotationError(EdgeCNNError):
    """A detection data set that cannot be read at all."""


@dataclass(frozen=True)
class ImageBoxes:
    """One image and its objects: `id` is the image's path relative to the image root (the same
    in every format, so COCO, YOLO and VOC copies of a data set split the same way)."""

    id: str
    path: Path
    boxes: np.ndarray  # (k, 4) float32, x0 y0 x1 y1 in pixels of the stored image
    classes: np.ndarray  # (k,) int64


@dataclass
class Problems:
    """Counts of skipped annotations by kind, with one example each."""

    counts: Counter = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)

    def add(self, kind: str, example: str) -> None:
        self.counts[kind] += 1
        self.examples.setdefault(kind, example)

    def report(self, source: str) -> None:
        for kind, n in self.counts.items():
            log.warning(f"{source}: skipped {n} {kind} (e.g. {self.examples[kind]})")

    def to_dict(self) -> dict[str, int]:
        return dict(self.counts)


@dataclass(frozen=True)
class DetectionSet:
    """A whole detection data set as read from disk."""

    source: str
    format: str
    labels: tuple[str, ...]
    items: tuple[ImageBoxes, ...]
    problems: Problems

    @property
    def objects(self) -> int:
        return sum(len(i.classes) for i in self.items)


def clean_box(box: list[float], width: int, height: int, problems: Problems, where: str) -> list[float] | None:
    """A box clipped to the image; None (counted) when it is degenerate or lies outside."""
    x0, y0, x1, y1 = box
    if not all(np.isfinite(box)) or x1 <= x0 or y1 <= y0:
        problems.add("empty or inverted boxes", where)
        return None
    cx0, cy0, cx1, cy1 = max(0.0, x0), max(0.0, y0), min(float(width), x1), min(float(height), y1)
    if cx1 - cx0 < 1 or cy1 - cy0 < 1 or (cx1 - cx0) * (cy1 - cy0) < 0.5 * (x1 - x0) * (y1 - y0):
        problems.add("boxes outside the image", where)
        return None
    return [cx0, cy0, cx1, cy1]


def image_size(path: Path) -> tuple[int, int] | None:
    """(width, height) from the file header without decoding; None when unreadable."""
    try:
        with open(path, "rb") as fh:
            return dimensions(fh.read(1 << 16))
    except OSError:
        return None


def finish(source: str, fmt: str, labels: list[str], items: list[ImageBoxes], problems: Problems) -> DetectionSet:
    problems.report(source)
    if not items:
        raise AnnotationError(f"{source}: no usable annotated image ({sum(problems.counts.values())} problems, "
                              f"{', '.join(problems.counts) or 'nothing listed'})")
    if not any(len(i.classes) for i in items):
        raise AnnotationError(f"{source}: the images carry no usable box")
    return DetectionSet(source, fmt, tuple(labels), tuple(sorted(items, key=lambda i: i.id)), problems)
