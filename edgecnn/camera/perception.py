"""What the detect loop does with a frame, by model kind, as three timed stages.

A classifier labels the whole frame or the region a finder gives, smoothed over frames, the label
tracked as one object per visit. A detector finds boxes in the whole frame; they become tracks
(stable ids), which zones and counting lines see. Both give the same `TrackEvent`s."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from edgecnn.camera.regions import Region, RegionFinder, crop
from edgecnn.camera.smoothing import Smoother
from edgecnn.camera.tracking import LabelTracker, Track, Tracker, TrackEvent
from edgecnn.camera.zones import Areas
from edgecnn.runtime import Classifier
from edgecnn.runtime.detection import Detection, Letterbox, ObjectDetector


@dataclass(frozen=True)
class Seen:
    """What one frame showed: a smoothed label (classifiers) or boxes (detectors), the tracks,
    the events the frame caused, and which tracks just reached a better best score."""

    label: str | None = None
    score: float = 0.0
    region: Region | None = None
    detections: tuple[Detection, ...] = ()
    tracks: tuple[Track, ...] = ()
    events: tuple[TrackEvent, ...] = ()
    improved: tuple[int, ...] = ()
    counts: dict[str, Any] = field(default_factory=dict)


class Perception(Protocol):
    def input_size(self) -> tuple[int, int] | None: ...  # (w, h) a whole-frame model reads, else None
    def preprocess(self, bgr: np.ndarray, small: np.ndarray | None = None) -> Any: ...
    def invoke(self, prepared: Any) -> Any: ...
    def postprocess(self, prepared: Any, raw: Any, index: int, t: float) -> Seen: ...
    def finish(self, index: int) -> list[TrackEvent]: ...


class Classifying:
    """A classifier on the frame or on the first region found; smoothing; the label as a track."""

    def __init__(self, clf: Classifier, regions: RegionFinder | None, smoother: Smoother,
                 tracker: LabelTracker) -> None:
        self.clf, self.regions, self.smoother, self.tracker = clf, regions, smoother, tracker

    def input_size(self) -> tuple[int, int] | None:
        return (self.clf.width, self.clf.height) if self.regions is None else None

    def preprocess(self, bgr: np.ndarray, small: np.ndarray | None = None) -> tuple[Region | None, np.ndarray | None,
                                                                                     tuple[int, int]]:
        """`small` (the same view, fewer pixels) is used for a whole-frame classifier; regions are
        found and cropped in the full frame."""
        if self.regions is None:
            return None, self.clf.preprocess(bgr if small is None else small, bgr=True), bgr.shape[:2]
        found = self.regions.find(bgr)
        region = found[0] if found else None
        patch = crop(bgr, region) if region is not None else None
        return region, None if patch is None else self.clf.preprocess(patch, bgr=True), bgr.shape[:2]

    def invoke(self, prepared: tuple[Region | None, np.ndarray | None, Any]) -> np.ndarray | None:
        return None if prepared[1] is None else self.clf.invoke(prepared[1])

    def postprocess(self, prepared: tuple[Region | None, Any, tuple[int, int]], raw: np.ndarray | None, index: int,
                    t: float) -> Seen:
        label, score = self.smoother.push(None if raw is None else self.clf.postprocess(raw))
        region, (h, w) = prepared[0], prepared[2]
        box = np.array([0, 0, w, h] if region is None else [region[0], region[1], region[0] + region[2],
                                                            region[1] + region[3]], np.float64)
        before = self.tracker.track.top_score if self.tracker.track else -1.0
        events = self.tracker.update(label, score, box, index, t)
        track = self.tracker.track
        improved = (track.id,) if track is not None and track.top_score > before else ()
        return Seen(label, score, region, tracks=tuple(self.tracker.confirmed), events=tuple(events),
                    improved=improved)

    def finish(self, index: int) -> list[TrackEvent]:
        return self.tracker.finish(index)


class Detecting:
    """A detector on the whole frame; tracks, zones and counting lines."""

    def __init__(self, detector: ObjectDetector, tracker: Tracker, areas: Areas) -> None:
        self.detector, self.tracker, self.areas = detector, tracker, areas
        tracker.zones_of = areas.zones_of

    def input_size(self) -> tuple[int, int] | None:
        return self.detector.width, self.detector.height

    def preprocess(self, bgr: np.ndarray, small: np.ndarray | None = None) -> Any:
        """From `small` when given (the same view, scaled down by the camera): the input is made
        from it, and boxes map back to the full frame."""
        if small is None:
            return self.detector.preprocess(bgr, bgr=True)
        h, w = bgr.shape[:2]
        tensor, _ = self.detector.preprocess(small, bgr=True)
        return tensor, Letterbox.fit(h, w, self.detector.height, self.detector.width, self.detector.decoder.fit)

    def invoke(self, prepared: Any) -> list[np.ndarray]:
        return self.detector.invoke(prepared[0])

    def postprocess(self, prepared: Any, raw: list[np.ndarray], index: int, t: float) -> Seen:
        box = prepared[1]
        self.areas.fit(box.frame_w, box.frame_h)
        found = self.detector.postprocess(raw, box)
        best = {tr.id: tr.top_score for tr in self.tracker.tracks}
        events = self.tracker.update(np.array([d.box for d in found]).reshape(-1, 4),
                                     np.array([d.score for d in found]), np.array([d.index for d in found]),
                                     list(self.detector.labels), index, t)
        self.areas.count(self.tracker.tracks)
        confirmed = self.tracker.confirmed
        fresh = {e.id for e in events if e.type == "new"}
        improved = tuple(tr.id for tr in confirmed
                         if tr.missed == 0 and (tr.id in fresh or tr.top_score > best.get(tr.id, -1.0)))
        shown = tuple(d for d in found if d.score >= self.tracker.start_score)  # the weak ones only kept tracks
        return Seen(detections=shown, tracks=tuple(confirmed), events=tuple(events), improved=improved,
                    counts=self.areas.counts(confirmed))

    def finish(self, index: int) -> list[TrackEvent]:
        return self.tracker.finish(index)
