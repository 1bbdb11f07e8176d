"""Capture on its own thread, keeping only the newest frame; reopen a failing source with backoff."""

from __future__ import annotations

import threading
import time

import numpy as np

from edgecnn.camera.sources import Source, SourceError, sleep_until

FAILURES_BEFORE_REOPEN = 5


class LatestFrameCapture:
    """Reads `source` continuously; `get()` returns the newest frame not yet taken.

    Frames overwritten before anyone took them are counted as dropped: the loop never works on a
    stale frame and no queue builds up. A live source that stops delivering is closed and reopened
    with exponential backoff; a file (played with --realtime) just ends.
    """

    def __init__(self, source: Source, backoff: tuple[float, float] = (0.25, 8.0),
                 pace_fps: float | None = None) -> None:
        self.source = source
        self.backoff = backoff
        self.pace_fps = pace_fps
        self.captured = self.dropped = self.failed_reads = self.reconnects = 0
        self.ended = False
        self._frame: np.ndarray | None = None
        self._seq = -1
        self._fresh = False
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="edgecnn-capture", daemon=True)

    def start(self) -> "LatestFrameCapture":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        self._thread.join(timeout=5.0)

    def get(self, timeout: float = 1.0) -> tuple[int, np.ndarray] | None:
        """(sequence number, frame) of the newest untaken frame, waiting up to `timeout` s; None if
        none came (or the source ended). The sequence number counts every frame read, dropped or not."""
        with self._cond:
            if not self._fresh:
                self._cond.wait_for(lambda: self._fresh or self.ended or self._stop.is_set(), timeout)
            if not self._fresh or self._frame is None:
                return None
            self._fresh = False
            return self._seq, self._frame

    def _publish(self, frame: np.ndarray) -> None:
        with self._cond:
            if self._fresh:
                self.dropped += 1
            self._frame, self._seq, self._fresh = frame, self.captured, True
            self.captured += 1
            self._cond.notify_all()

    def _run(self) -> None:
        start, failures = time.perf_counter(), 0
        while not self._stop.is_set():
            frame = self.source.read()
            if frame is None:
                self.failed_reads += 1
                failures += 1
                if not self.source.live:
                    break
                if failures >= FAILURES_BEFORE_REOPEN:
                    self._reopen()
                    failures = 0
                continue
            failures = 0
            self._publish(frame)
            if self.pace_fps:
                sleep_until(start + self.captured / self.pace_fps)
        with self._cond:
            self.ended = True
            self._cond.notify_all()

    def _reopen(self) -> None:
        delay = self.backoff[0]
        while not self._stop.is_set():
            self.source.close()
            self._stop.wait(delay)
            try:
                self.source.open()
                self.reconnects += 1
                return
            except SourceError:
                delay = min(delay * 2, self.backoff[1])
