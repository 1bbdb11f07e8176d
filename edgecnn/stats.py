"""Statistics shared across the package: latency percentiles (the benchmark, the camera loop's
stage timings) and whether a classifier beats chance (train, parity)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


def percentiles_ms(samples_s: Iterable[float], qs: Sequence[int] = (50, 90, 99)) -> dict[str, float | None]:
    """{"p50_ms": ..., ...} of durations given in seconds; None for each when there are none."""
    ms = np.asarray(list(samples_s), dtype=np.float64) * 1e3
    if not ms.size:
        return {f"p{q}_ms": None for q in qs}
    values = np.percentile(ms, qs)
    return {f"p{q}_ms": float(v) for q, v in zip(qs, values, strict=True)}


SIGNIFICANCE = 0.01  # a model is "above chance" when chance would score this well less than 1 % of the time


def binomial_tail(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p): how often guessing at rate `p` gets `k` or more of `n` right."""
    if k <= 0:
        return 1.0
    if k > n or p <= 0:
        return 0.0
    if p >= 1:
        return 1.0
    logs = [math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * math.log(p)
            + (n - i) * math.log1p(-p) for i in range(k, n + 1)]
    top = max(logs)
    return min(1.0, math.exp(top) * sum(math.exp(v - top) for v in logs))


@dataclass(frozen=True)
class ChanceCheck:
    """Is a classifier's accuracy better than chance, and than a minimum asked for?

    Chance is the best a constant answer scores: the share of the most common class among the
    images (1 / classes when they are balanced). `above_chance` is None when the images are too
    few for even a perfect score to tell a model from guessing at the 1 % level."""

    accuracy: float
    n: int
    chance: float
    p_value: float
    min_accuracy: float | None = None

    @property
    def decidable(self) -> bool:
        return binomial_tail(self.n, self.n, self.chance) < SIGNIFICANCE

    @property
    def above_chance(self) -> bool | None:
        return None if not self.decidable else self.p_value < SIGNIFICANCE

    @property
    def meets_minimum(self) -> bool:
        return self.min_accuracy is None or self.accuracy >= self.min_accuracy

    @property
    def failed(self) -> bool:
        return self.above_chance is False or not self.meets_minimum

    def verdict(self) -> str:
        """One line for people."""
        acc, chance = f"{self.accuracy * 100:.2f} %", f"{self.chance * 100:.2f} %"
        if not self.meets_minimum:
            return f"accuracy {acc} is below the minimum of {self.min_accuracy * 100:.2f} %"  # type: ignore[operator]
        if self.above_chance is None:
            return (f"{self.n} test images are too few to tell {acc} from chance ({chance}): even all "
                    f"right would happen by guessing {binomial_tail(self.n, self.n, self.chance) * 100:.1f} % "
                    f"of the time")
        if self.above_chance:
            return f"accuracy {acc} is above chance ({chance}; guessing scores this in {self.p_value:.1e} of tries)"
        return (f"accuracy {acc} is no better than chance ({chance}, the most common class) on {self.n} test "
                f"images: guessing scores this well {self.p_value * 100:.2g} % of the time (the bar is "
                f"{SIGNIFICANCE * 100:g} %)")

    def to_dict(self) -> dict[str, Any]:
        return {"accuracy": self.accuracy, "n": self.n, "chance": self.chance, "p_chance": self.p_value,
                "above_chance": self.above_chance, "min_accuracy": self.min_accuracy,
                "meets_minimum": self.meets_minimum}


def chance_check(predicted: np.ndarray, targets: np.ndarray, min_accuracy: float | None = None) -> ChanceCheck:
    """Compare predictions with the best constant answer on the same images."""
    targets = np.asarray(targets)
    n = int(targets.size)
    correct = int((np.asarray(predicted) == targets).sum())
    chance = float(np.bincount(targets).max() / n) if n else 1.0
    return ChanceCheck(correct / n if n else 0.0, n, chance, binomial_tail(correct, n, chance), min_accuracy)
