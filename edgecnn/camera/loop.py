"""The detect loop: frames -> preprocess -> inference -> postprocess (smoothing / events, or boxes)
-> draw / serve. One model, loaded once; classifiers and detectors share every stage."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from edgecnn.camera.events import Fanout, JsonLines, RecentEvents, Snapshots
from edgecnn.camera.frames import Frame, FrameStream, frames
from edgecnn.camera.mqtt import MqttSink, parse_mqtt_url
from edgecnn.camera.overlay import draw, draw_detections, encode_jpeg, gui_available, thumbnail
from edgecnn.camera.perception import Classifying, Detecting, Perception, Seen
from edgecnn.camera.regions import RegionFinder
from edgecnn.camera.smoothing import Smoother
from edgecnn.camera.sources import Source, open_source
from edgecnn.camera.timings import StageTimer
from edgecnn.camera.tracking import LabelTracker, Tracker
from edgecnn.camera.web import LiveView, WebServer, parse_serve
from edgecnn.camera.zones import Areas, parse_line, parse_zone
from edgecnn.errors import EdgeCNNUsageError
from edgecnn.log import get_logger
from edgecnn.runtime import Classifier, load_model
from edgecnn.runtime.detection import ObjectDetector
from edgecnn.runtime.detection.detector import is_detector


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
    iou: float | None = None  # detectors: NMS overlap
    max_detections: int | None = None  # detectors
    min_frames: int = 3  # an object is an event after this many frames ...
    max_missed: int = 10  # ... and ends after this many frames unseen
    zones: tuple[str, ...] = ()  # --zone NAME:x,y;x,y;...
    lines: tuple[str, ...] = ()  # --line NAME:x0,y0;x1,y1
    mqtt: str | None = None  # mqtt://[user@]host[:port]/PREFIX
    mqtt_password_file: str | None = None
    mqtt_ca: str | None = None
    mqtt_discovery: bool = False


log = get_logger(__name__)
KEEP_FRACTION = 0.5  # a detection scoring half of --threshold continues a track, never starts one


class CameraLoop:
    """Owns the model, the frame stream, the web view and the counters. `regions` (classifiers
    only) chooses where to classify; None means the whole frame. Wired by the caller."""

    def __init__(self, opts: DetectOptions, source: Source | None = None, regions: RegionFinder | None = None,
                 on_frame: Callable[[Frame, Seen], None] | None = None) -> None:
        self.opts = opts
        self.server_addr = parse_serve(opts.serve) if opts.serve else None
        self.source = source or open_source(opts.source)
        self.perception = self._perception(regions)
        size = self.perception.input_size()
        if size is not None and hasattr(self.source, "want_small"):  # the Pi camera scales for the model
            self.source.want_small(*size)
        self.mqtt_target = parse_mqtt_url(opts.mqtt, opts.mqtt_password_file, opts.mqtt_ca) if opts.mqtt else None
        self.mqtt: MqttSink | None = None
        self.timer = StageTimer()
        self.stop = threading.Event()
        self.seen = Seen()
        self.on_frame = on_frame
        self.stream: FrameStream | None = None
        self.recent = RecentEvents()
        self.snapshots = Snapshots(opts.snapshots) if opts.snapshots else None
        self.best: dict[int, bytes] = {}  # each live track's best-scoring annotated frame (JPEG)
        self.thumbs: dict[int, bytes] = {}  # each live track's latest thumbnail (JPEG) for the web view
        self.url: str | None = None
        self.show = opts.window_view and gui_available()

    def _perception(self, regions: RegionFinder | None) -> Perception:
        o = self.opts
        areas = Areas([parse_zone(z) for z in o.zones], [parse_line(ln) for ln in o.lines])
        model = load_model(o.model, o.threads, o.backend, o.device)
        if is_detector(model):
            if regions is not None:
                raise EdgeCNNUsageError("--roi is for classifiers; a detector looks at the whole frame")
            # weaker detections (down to KEEP_FRACTION of --threshold) only keep existing tracks alive
            detector = ObjectDetector(model, labels=o.labels, mean=o.mean, std=o.std,
                                      threshold=o.threshold * KEEP_FRACTION, iou=0.5 if o.iou is None else o.iou,
                                      max_detections=o.max_detections or 100)
            return Detecting(detector, Tracker(o.min_frames, o.max_missed, start_score=o.threshold), areas)
        if o.iou is not None or o.max_detections is not None or areas.zones or areas.lines:
            raise EdgeCNNUsageError(f"--iou, --max-detections, --zone and --line are for detectors; "
                                    f"{model.name} is a classifier")
        clf = Classifier(model, labels=o.labels, mean=o.mean, std=o.std)
        return Classifying(clf, regions, Smoother(clf.labels, o.window, o.threshold, o.ignore),
                           LabelTracker(o.min_frames, o.max_missed))

    def status(self) -> dict[str, Any]:
        """What /status serves and what the run returns."""
        s = self.stream
        return {"source": self.source.name, "frames": self.timer.frames, "fps": round(self.timer.fps, 2),
                "label": self.seen.label, "score": round(self.seen.score, 4),
                "detections": [d.to_dict() for d in self.seen.detections],
                "tracks": [{"id": t.id, "label": t.label, "score": round(t.score, 4),
                            "box": [round(float(v), 1) for v in t.box], "zones": list(t.zones)}
                           for t in self.seen.tracks],
                "counts": self.seen.counts,
                **({"mqtt": self.mqtt.stats()} if self.mqtt else {}),
                "dropped": s.dropped if s else 0, "reconnects": s.reconnects if s else 0,
                "failed_reads": s.failed_reads if s else 0, "events_total": self.recent.count,
                "events": self.recent.items(), "timings": self.timer.summary(), "url": self.url}

    def run(self) -> dict[str, Any]:
        """Run until the source ends, --max-frames / --duration, Ctrl-C or SIGTERM; return the status."""
        server = view = None
        lines = JsonLines(self.opts.events)
        sinks: list[Any] = [lines]
        try:
            if self.mqtt_target is not None:
                o = self.opts
                self.mqtt = MqttSink(self.mqtt_target, self._labels(), discovery=o.mqtt_discovery,
                                     zones=tuple(z.partition(":")[0] for z in o.zones),
                                     lines=tuple(ln.partition(":")[0] for ln in o.lines)).start()
                sinks.append(self.mqtt)
            sink = Fanout(*sinks)
            if self.server_addr:
                view = LiveView(self.status, self.recent.thumbnail)
                server = WebServer(*self.server_addr, view, self.opts.allow_hosts)
                self.url = server.url
                log.info(f"web view: {server.url}")
            with frames(self.source, self.stop, self.opts.duration, self.opts.max_frames,
                        self.opts.realtime) as stream:
                self.stream = stream
                self.timer.begin()
                last = -1
                try:
                    # Pipelined: the model runs frame N on the invoke thread (LiteRT releases the GIL in
                    # invoke) while this thread post-processes frame N-1 and pre-processes frame N+1, so
                    # the loop runs at the rate of its slowest stage, not of their sum. Results, events
                    # and their order are those of the plain sequence, one frame later.
                    with ThreadPoolExecutor(1, thread_name_prefix="edgecnn-invoke") as invoker:
                        pending: tuple[Frame, Any, float, Future[Any]] | None = None
                        for frame in stream:
                            self.timer.add("capture_wait", frame.wait)
                            last = frame.index
                            t0 = time.perf_counter()
                            prepared = self.perception.preprocess(frame.bgr, frame.small)
                            pre_s = time.perf_counter() - t0
                            job = invoker.submit(_timed, self.perception.invoke, prepared)
                            if pending is not None:
                                self._emit(pending, view, sink)
                            pending = (frame, prepared, pre_s, job)
                        if pending is not None:
                            self._emit(pending, view, sink)
                finally:
                    self.timer.stop()
                    for event in self._with_snapshots(self.perception.finish(last)):
                        sink.emit(event)
                        self._remember(event, None)
        finally:
            if server:
                server.close()
            lines.close()
            if self.mqtt is not None:
                self.mqtt.close()
        return self.status()

    def _emit(self, pending: tuple[Frame, Any, float, Future[Any]], view: LiveView | None, sink: Any) -> None:
        frame, prepared, pre_s, job = pending
        raw, inference_s = job.result()
        for event in self.complete(frame, prepared, raw, pre_s, inference_s, view):
            sink.emit(event)
            self._remember(event, frame.bgr)

    def step(self, frame: Frame, view: LiveView | None) -> list[Any]:
        """One frame through every stage, in sequence; the events it caused."""
        t1 = time.perf_counter()
        prepared = self.perception.preprocess(frame.bgr, frame.small)
        t2 = time.perf_counter()
        raw = self.perception.invoke(prepared)
        return self.complete(frame, prepared, raw, t2 - t1, time.perf_counter() - t2, view)

    def complete(self, frame: Frame, prepared: Any, raw: Any, preprocess_s: float, inference_s: float,
                 view: LiveView | None) -> list[Any]:
        """A frame whose model output is in: post-process, draw / serve, count; the events it caused."""
        t3 = time.perf_counter()
        self.seen = seen = self.perception.postprocess(prepared, raw, frame.index, frame.t)
        if self.on_frame is not None:
            self.on_frame(frame, seen)
        t4 = time.perf_counter()
        publish = view is not None and view.wants_frame(t4)
        if self.mqtt is not None:
            self.mqtt.state(seen.counts, {t.label for t in seen.tracks})
        keep = (self.snapshots is not None or self.mqtt is not None) and bool(seen.improved)
        if publish or self.show or keep:
            annotated = self._draw(frame.bgr, seen)
            if self.show:
                self._window(annotated)
            jpeg = encode_jpeg(annotated) if publish or keep else b""
            if publish and view is not None:
                view.publish(jpeg)
            if keep:
                self.best.update(dict.fromkeys(seen.improved, jpeg))
        events = self._with_snapshots(list(seen.events))
        t5 = time.perf_counter()
        for stage, seconds in (("preprocess", preprocess_s), ("inference", inference_s),
                               ("postprocess", t4 - t3), ("draw_encode", t5 - t4)):
            self.timer.add(stage, seconds)
        self.timer.frame_done()
        return events

    def _with_snapshots(self, events: list[Any]) -> list[Any]:
        """End events carry the track's best snapshot, written then (and forgotten)."""
        out = []
        for e in events:
            jpeg = self.best.pop(e.id, None) if e.type == "end" else None
            if jpeg and self.snapshots is not None:
                e = replace(e, snapshot=str(self.snapshots.save(f"{e.id:06d}", e.label, jpeg)))
            if jpeg and self.mqtt is not None:
                self.mqtt.snapshot(e.label, jpeg)
            out.append(e)
        return out

    def _remember(self, event: Any, bgr: np.ndarray | None) -> None:
        """Into the web view's recent events, with a thumbnail of the object: cut from this frame for
        new / update, the track's last one for end (by then the object has left the frame)."""
        if event.type == "end" or bgr is None:
            thumb = self.thumbs.pop(event.id, b"")
        else:
            thumb = self.thumbs[event.id] = thumbnail(bgr, event.box) or self.thumbs.get(event.id, b"")
        self.recent.emit(event, thumb)

    def _labels(self) -> tuple[str, ...]:
        p = self.perception
        return tuple(p.detector.labels) if isinstance(p, Detecting) else tuple(p.clf.labels)  # type: ignore[attr-defined]

    def _draw(self, bgr: np.ndarray, seen: Seen) -> np.ndarray:
        stage_ms = {k: v[-1] * 1e3 for k, v in self.timer.samples.items() if v}
        if isinstance(self.perception, Detecting):
            return draw_detections(bgr, seen.detections, self.timer.recent_fps, stage_ms, seen.tracks,
                                   self.perception.areas)
        return draw(bgr, seen.label, seen.score, seen.region, self.timer.recent_fps, stage_ms)

    def _window(self, annotated: np.ndarray) -> None:
        import cv2

        cv2.imshow("edgecnn detect", annotated)
        if cv2.waitKey(1) & 0xFF in (ord("q"), 27):  # q or Esc ends the run
            self.stop.set()


def _timed(fn: Callable[[Any], Any], arg: Any) -> tuple[Any, float]:
    """fn(arg) and its duration in seconds (run on the invoke thread)."""
    start = time.perf_counter()
    return fn(arg), time.perf_counter() - start
