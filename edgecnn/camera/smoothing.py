"""Temporal smoothing of classifier scores and the events it produces (pure functions, no I/O)."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


class Smoother:
    """Mean of the last `window` score vectors; a label only when its mean score >= threshold."""

    def __init__(self, labels: Sequence[str], window: int = 5, threshold: float = 0.5,
                 ignore: Sequence[str] = ("background",)) -> None:
        self.labels, self.threshold = list(labels), threshold
        self.ignore = set(ignore)
        self.window = max(1, window)
        self.history: deque[np.ndarray] = deque()
        self.total = np.zeros(len(self.labels), np.float64)

    def push(self, scores: np.ndarray | None) -> tuple[str | None, float]:
        """Add one frame's scores (None: nothing seen, counts as all-zero); return (label, score)."""
        size = len(self.labels)
        new = np.zeros(size, np.float32) if scores is None else np.asarray(scores, np.float32)
        self.history.append(new)
        self.total += new
        if len(self.history) > self.window:
            self.total -= self.history.popleft()
        mean = self.total / len(self.history)  # running sum: O(classes) per frame
        best = int(np.argmax(mean))
        label = self.labels[best] if best < size else str(best)
        if mean[best] < self.threshold or label in self.ignore:
            return None, float(mean[best])
        return label, float(mean[best])


@dataclass(frozen=True)
class Event:
    """A label appeared, changed or disappeared."""

    kind: str  # "appear" | "change" | "disappear"
    label: str | None
    previous: str | None
    score: float
    frame: int
    time: float
    region: tuple[int, int, int, int] | None
    snapshot: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {"event": self.kind, "label": self.label, "previous": self.previous,
               "score": round(self.score, 4), "frame": self.frame, "time": round(self.time, 3),
               "region": list(self.region) if self.region else None}
        if self.snapshot:
            out["snapshot"] = self.snapshot
        return out


class EventTracker:
    """Turns the smoothed label stream into appear / change / disappear events."""

    def __init__(self) -> None:
        self.current: str | None = None

    def update(self, label: str | None, score: float, frame: int, when: float,
               region: tuple[int, int, int, int] | None) -> Event | None:
        if label == self.current:
            return None
        previous, self.current = self.current, label
        kind = "appear" if previous is None else ("disappear" if label is None else "change")
        return Event(kind, label, previous, score, frame, when, region)
