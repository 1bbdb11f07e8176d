"""Latency statistics shared by the benchmark and the camera loop's stage timings."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np


def percentiles_ms(samples_s: Iterable[float], qs: Sequence[int] = (50, 90, 99)) -> dict[str, float | None]:
    """{"p50_ms": ..., ...} of durations given in seconds; None for each when there are none."""
    ms = np.asarray(list(samples_s), dtype=np.float64) * 1e3
    if not ms.size:
        return {f"p{q}_ms": None for q in qs}
    values = np.percentile(ms, qs)
    return {f"p{q}_ms": float(v) for q, v in zip(qs, values, strict=True)}
