"""Stage timings of the detect loop: p50 / p95 per stage, end-to-end FPS."""

from __future__ import annotations

import time
from collections import defaultdict, deque
from typing import Any

from edgecnn.stats import percentiles_ms

STAGES = ("capture_wait", "preprocess", "inference", "postprocess", "draw_encode")


class StageTimer:
    """Keeps the last `keep` durations of each stage (seconds) and counts frames."""

    def __init__(self, keep: int = 5000) -> None:
        self.samples: dict[str, deque[float]] = defaultdict(lambda: deque(maxlen=keep))
        self.frames = 0
        self.start = time.perf_counter()
        self.end: float | None = None
        self.recent: deque[float] = deque(maxlen=60)

    def begin(self) -> None:
        """The loop starts now (opening the source and the web server are not loop time)."""
        self.start, self.end = time.perf_counter(), None

    def stop(self) -> None:
        """The loop ended: later summaries do not count shutdown time as loop time."""
        self.end = time.perf_counter()

    def add(self, stage: str, seconds: float) -> None:
        self.samples[stage].append(seconds)

    def frame_done(self) -> None:
        self.frames += 1
        self.recent.append(time.perf_counter())

    @property
    def fps(self) -> float:
        """Frames per second over the whole run."""
        elapsed = self.elapsed
        return self.frames / elapsed if elapsed > 0 else 0.0

    @property
    def elapsed(self) -> float:
        """Loop seconds so far, or of the whole loop once it stopped."""
        return (self.end or time.perf_counter()) - self.start

    @property
    def recent_fps(self) -> float:
        """Frames per second over the last 60 frames (for the overlay)."""
        if len(self.recent) < 2:
            return 0.0
        return (len(self.recent) - 1) / max(self.recent[-1] - self.recent[0], 1e-9)

    def summary(self) -> dict[str, Any]:
        stages = {name: percentiles_ms(self.samples.get(name, ()), (50, 95)) for name in STAGES}
        means = {name: (sum(v) / len(v) * 1e3 if (v := self.samples.get(name)) else None) for name in STAGES}
        return {"frames": self.frames, "seconds": round(self.elapsed, 6),
                "fps": round(self.fps, 2), "stages": stages, "means_ms": means}


def format_summary(summary: dict[str, Any]) -> str:
    """The table printed when a run ends."""
    lines = [f"{'stage':14}{'p50 ms':>10}{'p95 ms':>10}"]
    for name, s in summary["stages"].items():
        p50 = "-" if s["p50_ms"] is None else f"{s['p50_ms']:.3f}"
        p95 = "-" if s["p95_ms"] is None else f"{s['p95_ms']:.3f}"
        lines.append(f"{name:14}{p50:>10}{p95:>10}")
    return "\n".join(lines)
