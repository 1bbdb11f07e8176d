"""The detect loop: frames -> region -> preprocess -> inference -> smoothing/events -> draw/serve."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from edgecnn.camera.events import Fanout, JsonLines, RecentEvents, Snapshots
from edgecnn.camera.frames import Frame, FrameStream, frames
from edgecnn.camera.overlay import draw, encode_jpeg, gui_available
from edgecnn.camera.regions import Region, RegionFinder, crop
from edgecnn.camera.smoothing import Event, EventTracker, Smoother
from edgecnn.camera.sources import Source, open_source
from edgecnn.camera.timings import StageTimer
from edgecnn.camera.web import LiveView, WebServer, parse_serve
from edgecnn.runtime import Classifier


@dataclass(frozen=True)
class DetectOptions:
    """Everything `edgecnn detect` can be told."""

    model: str
    source: str
    window: int = 5
    threshold: float = 0.5
    ignore: tuple[str, ...] = ("background",)
    events: str | None = None
    snapshots: str | None = None
    serve: str | None = None
    max_frames: int | None = None
    duration: float | None = None
    realtime: bool = False
    threads: int | None = None
    backend: str | None = None
    device: str | None = None
    labels: str | None = None
    mean: float | None = None
    std: float | None = None
    window_view: bool = True  # show a window when a display and a GUI-enabled OpenCV exist
    allow_hosts: tuple[str, ...] = ()  # Host names the web view answers to besides IP literals


class Detector:
    """Owns the model, the frame stream, the web view and the counters.

    `regions` chooses where to classify (None: the whole frame); it is wired by the caller.
    """

    def __init__(self, opts: DetectOptions, source: Source | None = None,
                 regions: RegionFinder | None = None) -> None:
        self.opts = opts
        self.server_addr = parse_serve(opts.serve) if opts.serve else None
        self.source = source or open_source(opts.source)
        self.clf = Classifier(opts.model, opts.threads, backend=opts.backend, device=opts.device,
                              labels=opts.labels, mean=opts.mean, std=opts.std)
        self.regions = regions
        self.smoother = Smoother(self.clf.labels, opts.window, opts.threshold, opts.ignore)
        self.tracker = EventTracker()
        self.timer = StageTimer()
        self.stop = threading.Event()
        self.label: str | None = None
        self.score = 0.0
        self.stream: FrameStream | None = None
        self.recent = RecentEvents()
        self.snapshots = Snapshots(opts.snapshots) if opts.snapshots else None
        self.url: str | None = None
        self.show = opts.window_view and gui_available()

    def status(self) -> dict[str, Any]:
        """What /status serves and what the run returns."""
        s = self.stream
        return {"source": self.source.name, "frames": self.timer.frames, "fps": round(self.timer.fps, 2),
                "label": self.label, "score": round(self.score, 4),
                "dropped": s.dropped if s else 0, "reconnects": s.reconnects if s else 0,
                "failed_reads": s.failed_reads if s else 0, "events_total": self.recent.count,
                "events": list(self.recent.latest), "timings": self.timer.summary()}

    def run(self) -> dict[str, Any]:
        """Run until the source ends, --max-frames / --duration, Ctrl-C or SIGTERM; return the status."""
        server = view = None
        lines = JsonLines(self.opts.events)
        sink = Fanout(lines, self.recent)
        try:
            if self.server_addr:
                view = LiveView(self.status)
                server = WebServer(*self.server_addr, view, self.opts.allow_hosts)
                self.url = server.url
            with frames(self.source, self.stop, self.opts.duration, self.opts.max_frames,
                        self.opts.realtime) as stream:
                self.stream = stream
                self.timer.begin()
                try:
                    for frame in stream:
                        self.timer.add("capture_wait", frame.wait)
                        event = self.step(frame, view)
                        if event is not None:
                            sink.emit(event)
                finally:
                    self.timer.stop()
        finally:
            if server:
                server.close()
            lines.close()
        return self.status()

    def step(self, frame: Frame, view: LiveView | None) -> Event | None:
        """One frame through every stage; the event it caused, if any."""
        t1 = time.perf_counter()
        region = self._region(frame.bgr)
        patch = crop(frame.bgr, region) if region is not None or self.regions is None else None
        tensor = None if patch is None else self.clf.preprocess(patch, bgr=True)
        t2 = time.perf_counter()
        raw = None if tensor is None else self.clf.invoke(tensor)
        t3 = time.perf_counter()
        scores = None if raw is None else self.clf.postprocess(raw)
        self.label, self.score = self.smoother.push(scores)
        event = self.tracker.update(self.label, self.score, frame.index, frame.t, region)
        t4 = time.perf_counter()
        publish = view is not None and view.wants_frame(t4)
        if publish or self.show or (event and self.snapshots):
            stage_ms = {k: v[-1] * 1e3 for k, v in self.timer.samples.items() if v}
            annotated = draw(frame.bgr, self.label, self.score, region, self.timer.recent_fps, stage_ms)
            if self.show:
                self._window(annotated)
            jpeg = encode_jpeg(annotated) if publish or (event and self.snapshots) else b""
            if publish and view is not None:
                view.publish(jpeg)
            if event and self.snapshots and jpeg:
                path = self.snapshots.save(f"{event.frame:08d}", event.kind, event.label or event.previous, jpeg)
                event = replace(event, snapshot=str(path))
        t5 = time.perf_counter()
        for stage, seconds in (("preprocess", t2 - t1), ("inference", t3 - t2),
                               ("postprocess", t4 - t3), ("draw_encode", t5 - t4)):
            self.timer.add(stage, seconds)
        self.timer.frame_done()
        return event

    def _window(self, annotated: np.ndarray) -> None:
        import cv2

        cv2.imshow("edgecnn detect", annotated)
        if cv2.waitKey(1) & 0xFF in (ord("q"), 27):  # q or Esc ends the run
            self.stop.set()

    def _region(self, frame: np.ndarray) -> Region | None:
        if self.regions is None:
            return None
        found = self.regions.find(frame)
        return found[0] if found else None
