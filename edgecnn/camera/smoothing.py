"""Temporal smoothing of classifier scores (no I/O)."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

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
