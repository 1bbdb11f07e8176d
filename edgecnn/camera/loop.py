"""The detect loop: capture -> region -> preprocess -> inference -> smoothing/events -> draw/serve."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from edgecnn.camera.capture import LatestFrameCapture
from edgecnn.camera.events import EventSink
from edgecnn.camera.overlay import draw, encode_jpeg, gui_available
from edgecnn.camera.regions import FaceFinder, Region, crop, parse_roi, to_model_colour
from edgecnn.camera.smoothing import EventTracker, Smoother
from edgecnn.camera.sources import Source, open_source
from edgecnn.camera.stream import install_stop_signals, restore_signals
from edgecnn.camera.timings import StageTimer
from edgecnn.camera.web import LiveView, WebServer, parse_serve
from edgecnn.runtime import Classifier
from edgecnn.runtime.tensors import dequantize


@dataclass(frozen=True)
class DetectOptions:
    """Everything `edgecnn detect` can be told."""

    model: str
    source: str
    roi: str | None = None
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


class Detector:
    """Owns the model, the source, the capture thread, the web view and the counters."""

    def __init__(self, opts: DetectOptions, source: Source | None = None) -> None:
        self.opts = opts
        self.roi = parse_roi(opts.roi)
        self.server_addr = parse_serve(opts.serve) if opts.serve else None
        self.source = source or open_source(opts.source)
        self.clf = Classifier(opts.model, opts.threads, backend=opts.backend, device=opts.device,
                              labels=opts.labels, mean=opts.mean, std=opts.std)
        self.faces = FaceFinder() if self.roi == "faces" else None
        self.smoother = Smoother(self.clf.labels, opts.window, opts.threshold, opts.ignore)
        self.tracker = EventTracker()
        self.timer = StageTimer()
        self.stop = threading.Event()
        self.label: str | None = None
        self.score = 0.0
        self.capture: LatestFrameCapture | None = None
        self.sink: EventSink | None = None
        self.url: str | None = None
        self.show = opts.window_view and gui_available()

    def status(self) -> dict[str, Any]:
        """What /status serves and what the run returns."""
        cap = self.capture
        return {"source": self.source.name, "frames": self.timer.frames, "fps": round(self.timer.fps, 2),
                "label": self.label, "score": round(self.score, 4),
                "dropped": cap.dropped if cap else 0, "reconnects": cap.reconnects if cap else 0,
                "failed_reads": cap.failed_reads if cap else 0,
                "events": list(self.sink.latest) if self.sink else [], "timings": self.timer.summary()}

    def run(self) -> dict[str, Any]:
        """Run until the source ends, --max-frames / --duration, Ctrl-C or SIGTERM; return the status."""
        self.source.open()
        server = view = None
        old = install_stop_signals(self.stop)
        try:
            self.sink = EventSink(self.opts.events, self.opts.snapshots)
            if self.server_addr:
                view = LiveView(self.status)
                server = WebServer(*self.server_addr, view)
                self.url = server.url
            if self.source.live or self.opts.realtime:
                pace = self.source.fps if (self.opts.realtime and not self.source.live) else None
                self.capture = LatestFrameCapture(self.source, pace_fps=pace or None).start()
            self.timer.begin()
            try:
                self._loop(view)
            finally:
                self.timer.stop()
        finally:
            restore_signals(old)
            if self.capture:
                self.capture.stop()
            self.source.close()
            if server:
                server.close()
            if self.sink:
                self.sink.close()
        return self.status()

    def _loop(self, view: LiveView | None) -> None:
        deadline = time.perf_counter() + self.opts.duration if self.opts.duration else None
        while not self.stop.is_set():
            if self.opts.max_frames and self.timer.frames >= self.opts.max_frames:
                break
            if deadline and time.perf_counter() >= deadline:
                break
            t0 = time.perf_counter()
            frame = self.capture.get(timeout=0.5) if self.capture else self.source.read()
            self.timer.add("capture_wait", time.perf_counter() - t0)
            if frame is None:
                if self.capture is None or self.capture.ended:
                    break
                continue
            self.step(frame, view)

    def step(self, frame: np.ndarray, view: LiveView | None) -> None:
        """One frame through every stage."""
        t1 = time.perf_counter()
        region = self._region(frame)
        patch = crop(frame, region) if region is not None or self.roi is None else None
        tensor = None if patch is None else self.clf.input_tensor(self._prepare(patch))
        t2 = time.perf_counter()
        raw = None if tensor is None else self.clf.model.invoke(tensor)
        t3 = time.perf_counter()
        scores = None if raw is None else dequantize(raw, self.clf.model.output).reshape(-1)
        self.label, self.score = self.smoother.push(scores)
        event = self.tracker.update(self.label, self.score, self.timer.frames, time.time(), region)
        t4 = time.perf_counter()
        jpeg = None
        publish = view is not None and view.wants_frame(t4)
        if publish or self.show or (event and self.opts.snapshots):
            stage_ms = {k: v[-1] * 1e3 for k, v in self.timer.samples.items() if v}
            annotated = draw(frame, self.label, self.score, region, self.timer.recent_fps, stage_ms)
            if self.show:
                self._window(annotated)
            if publish or (event and self.opts.snapshots):
                jpeg = encode_jpeg(annotated)
            if publish and view is not None:
                view.publish(jpeg)
        if event and self.sink:
            self.sink.emit(event, jpeg)
        t5 = time.perf_counter()
        for stage, seconds in (("preprocess", t2 - t1), ("inference", t3 - t2),
                               ("postprocess", t4 - t3), ("draw_encode", t5 - t4)):
            self.timer.add(stage, seconds)
        self.timer.frame_done()

    def _prepare(self, patch: np.ndarray) -> np.ndarray:
        """BGR patch -> model-sized image in the card's colours. For RGB, resize first: a channel
        swap commutes exactly with resizing and costs (model size / frame size) as much."""
        if self.clf.color == "rgb":
            return to_model_colour(self.clf.prepare(patch), "rgb")
        return self.clf.prepare(to_model_colour(patch, "gray"))  # the order training used

    def _window(self, annotated: np.ndarray) -> None:
        import cv2

        cv2.imshow("edgecnn detect", annotated)
        if cv2.waitKey(1) & 0xFF in (ord("q"), 27):  # q or Esc ends the run
            self.stop.set()

    def _region(self, frame: np.ndarray) -> Region | None:
        if self.faces is not None:
            found = self.faces.find(frame)
            return found[0] if found else None
        return self.roi if isinstance(self.roi, tuple) else None
