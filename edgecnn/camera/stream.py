"""Frames from a source with a clock, ending cleanly on Ctrl-C / SIGTERM, a duration or a count.

Live sources are read on a capture thread (newest frame only) and timed by the wall clock; files
and folders are read in order and timed by frame index / fps, so a recorded video replays the
same events on any machine at any speed.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from edgecnn.camera.capture import LatestFrameCapture
from edgecnn.camera.sources import Source

FILE_FPS = 10.0  # clock for files and folders that do not say their frame rate


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


@contextmanager
def frames(source: Source, stop: threading.Event, duration: float | None = None,
           max_frames: int | None = None) -> Iterator[Iterator[tuple[int, float, np.ndarray]]]:
    """`with frames(src, stop) as it: for index, t, bgr in it: ...`; the source is opened on entry
    and released (capture thread stopped) on exit, whatever happens in the body."""
    source.open()
    old = install_stop_signals(stop)
    capture = LatestFrameCapture(source).start() if source.live else None
    try:
        yield _iterate(source, capture, stop, duration, max_frames)
    finally:
        restore_signals(old)
        if capture:
            capture.stop()
        source.close()


def _iterate(source: Source, capture: LatestFrameCapture | None, stop: threading.Event,
             duration: float | None, max_frames: int | None) -> Iterator[tuple[int, float, np.ndarray]]:
    start = time.perf_counter()
    fps = source.fps if source.fps and source.fps > 0 else FILE_FPS
    index = 0
    while not stop.is_set() and not (max_frames and index >= max_frames):
        t = time.perf_counter() - start if source.live else index / fps
        if duration and t >= duration:
            break
        frame = capture.get(timeout=0.5) if capture else source.read()
        if frame is None:
            if capture is None or capture.ended:
                break
            continue
        yield index, t, frame
        index += 1
