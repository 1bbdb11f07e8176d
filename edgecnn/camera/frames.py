"""The one frame iterator: frames from a source with one clock, ending cleanly on Ctrl-C / SIGTERM.

Live sources (cameras, streams) are read on a capture thread that keeps only the newest frame and
are timed by the wall clock. Files and folders are timed by their frame index / frame rate, so a
recording replays the same events on any machine at any speed; with `realtime` they are played at
their own rate on the capture thread, dropping what the consumer cannot keep up with (the clock
still follows the file). Every consumer (detect, face enrol / verify / unlock) uses this.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from edgecnn.camera.capture import LatestFrameCapture
from edgecnn.camera.picamera import Paired
from edgecnn.camera.sources import Source

FILE_FPS = 10.0  # clock for files and folders that do not say their frame rate


@dataclass(frozen=True)
class Frame:
    """One BGR frame: its position in the source, its time (s) on the run's clock, and how long the
    consumer waited for it (s)."""

    index: int
    t: float
    bgr: np.ndarray
    wait: float = 0.0
    small: np.ndarray | None = None  # the same view scaled down by the camera (Pi camera lores stream)
    origin: str | None = None  # the file it came from (image folders), read when the frame was


def install_stop_signals(stop: threading.Event) -> dict[int, Any]:
    """SIGINT / SIGTERM set `stop` (main thread only); returns the old handlers."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    old = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        old[sig] = signal.signal(sig, lambda *_: stop.set())
    return old


def restore_signals(old: dict[int, Any]) -> None:
    for sig, handler in old.items():
        signal.signal(sig, handler)


class FrameStream:
    """Iterate to get `Frame`s; counters (dropped, failed reads, reconnects) stay readable after."""

    def __init__(self, source: Source, stop: threading.Event, duration: float | None = None,
                 max_frames: int | None = None, realtime: bool = False) -> None:
        self.source, self.stop = source, stop
        self.duration, self.max_frames, self.realtime = duration, max_frames, realtime
        self.capture: LatestFrameCapture | None = None
        self.fps = FILE_FPS
        self.delivered = 0

    @property
    def dropped(self) -> int:
        return self.capture.dropped if self.capture else 0

    @property
    def failed_reads(self) -> int:
        return self.capture.failed_reads if self.capture else getattr(self.source, "unreadable", 0)

    @property
    def reconnects(self) -> int:
        return self.capture.reconnects if self.capture else 0

    def start(self) -> None:
        self.source.open()
        self.fps = self.source.fps if self.source.fps and self.source.fps > 0 else FILE_FPS
        if self.source.live or self.realtime:
            pace = None if self.source.live else self.fps
            self.capture = LatestFrameCapture(self.source, pace_fps=pace).start()

    def close(self) -> None:
        if self.capture:
            self.capture.stop()
        self.source.close()

    def __iter__(self) -> Iterator[Frame]:
        start, read = time.perf_counter(), 0
        while not self.stop.is_set() and not (self.max_frames and self.delivered >= self.max_frames):
            t0 = time.perf_counter()
            if self.capture:
                got = self.capture.get(timeout=0.5)
                if got is None:
                    if self.capture.ended:
                        return
                    continue
                seq, bgr = got
            else:
                bgr, seq = self.source.read(), read
                read += 1
                if bgr is None:
                    return
            small = None
            if isinstance(bgr, Paired):
                bgr, small = bgr.main, bgr.small
            wait = time.perf_counter() - t0
            t = t0 - start if self.source.live else seq / self.fps
            if self.duration and t >= self.duration:
                return
            self.delivered += 1
            origin = getattr(self.source, "current", None)  # now: the loop handles frames one behind
            yield Frame(seq, t, bgr, wait, small, None if origin is None else str(origin))


@contextmanager
def frames(source: Source, stop: threading.Event | None = None, duration: float | None = None,
           max_frames: int | None = None, realtime: bool = False) -> Iterator[FrameStream]:
    """`with frames(src) as stream: for frame in stream: ...`: the source is opened on entry and
    released (capture thread stopped, signal handlers restored) on exit, whatever the body does."""
    stream = FrameStream(source, stop or threading.Event(), duration, max_frames, realtime)
    old = install_stop_signals(stream.stop)
    try:
        stream.start()
        yield stream
    finally:
        restore_signals(old)
        stream.close()
