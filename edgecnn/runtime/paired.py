"""Comparing two contenders on a busy machine: interleaved calls, per-call paired ratios.

A ratio of two medians (p50(b) / p50(a)) measured one after the other swings with whatever else
the machine does (0.5x to 3x on a loaded 2-core machine). Here the two run as pairs of calls
next to each other in time, the order alternating from pair to pair, so both calls of a pair see
the same machine; the estimate is the median over pairs of b_i / a_i (and of b_i - a_i), taken
in several repeats whose spread says how far to trust it. Before each timed call the contender
runs `switch_warmup` untimed calls: when the two use different interpreters, those absorb the
other's thread pool still spinning after its last call.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Paired:
    """b against a: medians over pairs per repeat, then the median and range over repeats."""

    ratio: float  # median over repeats of median_i(b_i / a_i)
    ratio_min: float
    ratio_max: float
    diff_ms: float  # median over repeats of median_i(b_i - a_i), in ms
    diff_min_ms: float
    diff_max_ms: float
    ratios: tuple[float, ...]  # one per repeat
    pairs: int  # per repeat

    @property
    def repeats(self) -> int:
        return len(self.ratios)

    def to_dict(self) -> dict[str, Any]:
        return {"ratio": self.ratio, "ratio_min": self.ratio_min, "ratio_max": self.ratio_max,
                "diff_ms": self.diff_ms, "diff_min_ms": self.diff_min_ms, "diff_max_ms": self.diff_max_ms,
                "ratios": list(self.ratios), "repeats": self.repeats, "pairs_per_repeat": self.pairs}

    def describe(self, digits: int = 3) -> str:
        """'1.041x (1.032-1.050 over 5 repeats)'."""
        return (f"{self.ratio:.{digits}f}x ({self.ratio_min:.{digits}f}-{self.ratio_max:.{digits}f} "
                f"over {self.repeats} repeats)")


def paired_stats(a: Sequence[Sequence[float]], b: Sequence[Sequence[float]]) -> Paired:
    """The paired estimate from per-repeat samples (seconds): a[r][i] and b[r][i] form pair i of
    repeat r. Raises ValueError when a repeat is empty or the two sides differ in shape."""
    if not a or len(a) != len(b):
        raise ValueError("paired_stats needs the same number of repeats (1 or more) on both sides")
    ratios, diffs = [], []
    for ra, rb in zip(a, b, strict=True):
        xa, xb = np.asarray(ra, dtype=np.float64), np.asarray(rb, dtype=np.float64)
        if not xa.size or xa.shape != xb.shape:
            raise ValueError("every repeat needs the same number of pairs (1 or more) on both sides")
        if (xa <= 0).any():
            raise ValueError("durations must be positive")
        ratios.append(float(np.median(xb / xa)))
        diffs.append(float(np.median(xb - xa)) * 1e3)
    return Paired(float(np.median(ratios)), min(ratios), max(ratios), float(np.median(diffs)), min(diffs),
                  max(diffs), tuple(ratios), len(a[0]))


def time_pairs(a: Callable[[], Any], b: Callable[[], Any], pairs: int, switch_warmup: int = 0,
               on_pair: Callable[[], None] | None = None) -> tuple[list[float], list[float]]:
    """`pairs` pairs of timed calls (seconds), a first in even pairs and b first in odd ones."""
    ta, tb = [0.0] * pairs, [0.0] * pairs
    clock = time.perf_counter
    for i in range(pairs):
        order = ((a, ta), (b, tb)) if i % 2 == 0 else ((b, tb), (a, ta))
        for fn, out in order:
            for _ in range(switch_warmup):
                fn()
            t0 = clock()
            fn()
            out[i] = clock() - t0
        if on_pair is not None:
            on_pair()
    return ta, tb


def compare(a: Callable[[], Any], b: Callable[[], Any], pairs: int, repeats: int = 5, warmup: int = 10,
            switch_warmup: int = 0, on_pair: Callable[[], None] | None = None
            ) -> tuple[Paired, list[float], list[float]]:
    """Time a and b interleaved: `warmup` untimed rounds of both, then `repeats` x `pairs` pairs.
    Returns the paired estimate of b against a and all samples of each side (seconds)."""
    if pairs < 1 or repeats < 1 or warmup < 0 or switch_warmup < 0:
        raise ValueError("pairs and repeats must be 1 or more, warm-ups 0 or more")
    for _ in range(warmup):
        a(), b()
    runs_a, runs_b = [], []
    for _ in range(repeats):
        ta, tb = time_pairs(a, b, pairs, switch_warmup, on_pair)
        runs_a.append(ta)
        runs_b.append(tb)
    return paired_stats(runs_a, runs_b), [t for r in runs_a for t in r], [t for r in runs_b for t in r]
