"""Zones (polygons) and counting lines, in pixels or fractions of the frame.

`--zone NAME:x,y;x,y;x,y` and `--line NAME:x0,y0;x1,y1`: coordinates all within 0..1 are fractions
of the frame, otherwise pixels. An object's position is the bottom centre of its box (where it
stands). A line counts an object once each time its position crosses it: "in" when it crosses from
the right of the line (walking from the first point to the second) to its left, "out" the other way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from edgecnn.errors import EdgeCNNUsageError
from edgecnn.text import has_control

_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,40}$")


@dataclass
class Zone:
    name: str
    points: np.ndarray  # (N, 2), pixels once fitted to a frame
    fractions: bool

    def contains(self, xy: tuple[float, float]) -> bool:
        return cv2.pointPolygonTest(self.points.astype(np.float32), (float(xy[0]), float(xy[1])), False) >= 0


@dataclass
class Line:
    name: str
    points: np.ndarray  # (2, 2)
    fractions: bool
    inward: int = 0
    outward: int = 0

    def side(self, xy: tuple[float, float]) -> float:
        (x0, y0), (x1, y1) = self.points
        return (x1 - x0) * (xy[1] - y0) - (y1 - y0) * (xy[0] - x0)

    def crossed(self, a: tuple[float, float], b: tuple[float, float]) -> int:
        """+1 crossed right -> left ("in"), -1 left -> right ("out"), 0 not crossed (within the segment)."""
        sa, sb = self.side(a), self.side(b)
        if sa == 0 or sb == 0 or (sa > 0) == (sb > 0):
            return 0
        p, q = self.points
        # the move and the line must intersect within the line's segment too
        da, db = _cross(q - p, np.subtract(a, p)), _cross(q - p, np.subtract(b, p))
        ea, eb = _cross(np.subtract(b, a), p - np.asarray(a)), _cross(np.subtract(b, a), q - np.asarray(a))
        if (da > 0) == (db > 0) or (ea > 0) == (eb > 0):
            return 0
        return 1 if sb < 0 else -1  # image coordinates: y grows downwards


def _cross(u: Any, v: Any) -> float:
    return float(u[0] * v[1] - u[1] * v[0])


def _parse(text: str, what: str, count: tuple[int, int]) -> tuple[str, np.ndarray, bool]:
    name, sep, rest = text.partition(":")
    example = "NAME:x,y;x,y;x,y" if what == "--zone" else "NAME:x0,y0;x1,y1"
    if not sep or not _NAME.match(name) or has_control(text):
        raise EdgeCNNUsageError(f"{what} must be {example} (a name of letters, digits, '.', '_', '-'), got {text!r}")
    try:
        points = np.array([[float(v) for v in p.split(",")] for p in rest.split(";")], np.float64)
    except ValueError:
        raise EdgeCNNUsageError(f"{what} {name}: points must be x,y pairs separated by ';', got {rest!r}") from None
    low, high = count
    if points.ndim != 2 or points.shape[1] != 2 or not low <= len(points) <= high or not np.isfinite(points).all():
        need = f"{low} points" if low == high else f"{low} to {high} points"
        raise EdgeCNNUsageError(f"{what} {name} needs {need} as x,y pairs, got {rest!r}")
    if (points < 0).any():
        raise EdgeCNNUsageError(f"{what} {name} has a negative coordinate")
    return name, points, bool((points <= 1).all())


def parse_zone(text: str) -> Zone:
    return Zone(*_parse(text, "--zone", (3, 64)))


def parse_line(text: str) -> Line:
    name, points, fractions = _parse(text, "--line", (2, 2))
    if np.allclose(points[0], points[1]):
        raise EdgeCNNUsageError(f"--line {name} needs two different points")
    return Line(name, points, fractions)


@dataclass
class Areas:
    """Every zone and line of a run, fitted to the frame size on the first frame."""

    zones: list[Zone] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    size: tuple[int, int] | None = None
    last: dict[int, tuple[float, float]] = field(default_factory=dict)
    counting: set[int] = field(default_factory=set)  # confirmed tracks whose moves are being counted

    def fit(self, width: int, height: int) -> None:
        if self.size == (width, height):
            return
        for area in [*self.zones, *self.lines]:
            if area.fractions:
                area.points = area.points * (width, height)
                area.fractions = False
            inside = (area.points[:, 0] <= width) & (area.points[:, 1] <= height)
            if not inside.any():
                kind = "--zone" if isinstance(area, Zone) else "--line"
                raise EdgeCNNUsageError(f"{kind} {area.name} lies outside the {width}x{height} frame")
        self.size = (width, height)

    def zones_of(self, box: np.ndarray) -> tuple[str, ...]:
        foot = position(box)
        return tuple(z.name for z in self.zones if z.contains(foot))

    def count(self, tracks: list[Any]) -> None:
        """Advance every line's counts by the moves of confirmed tracks since the last frame. While a
        track is tentative its first position is kept, so a crossing before it was confirmed counts."""
        seen = {}
        for track in tracks:
            here = position(track.box)
            before = self.last.get(track.id)
            if before is not None and track.confirmed:
                for line in self.lines:
                    step = line.crossed(before, here)
                    line.inward += step > 0
                    line.outward += step < 0
                self.counting.add(track.id)
            confirmed_now = track.confirmed or track.id in self.counting
            seen[track.id] = here if confirmed_now else (before if before is not None else here)
        self.last = seen
        self.counting &= set(seen)

    def occupancy(self, tracks: list[Any]) -> dict[str, int]:
        return {z.name: sum(1 for t in tracks if t.confirmed and z.name in t.zones) for z in self.zones}

    def counts(self, tracks: list[Any]) -> dict[str, Any]:
        return {"zones": self.occupancy(tracks),
                "lines": {line.name: {"in": line.inward, "out": line.outward} for line in self.lines}}


def position(box: Any) -> tuple[float, float]:
    """Where an object stands: the bottom centre of its box."""
    return (float(box[0]) + float(box[2])) / 2, float(box[3])
