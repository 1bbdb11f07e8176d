"""What the detect loop does with a frame, by model kind, as three timed stages.

A classifier labels the whole frame or the region a finder gives, smoothed over frames, with an
event when the label changes. A detector finds boxes in the whole frame. The loop times
preprocess, inference and postprocess the same way for both and draws what `Seen` holds."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from edgecnn.camera.regions import Region, RegionFinder, crop
from edgecnn.camera.smoothing import Event, EventTracker, Smoother
from edgecnn.runtime import Classifier
from edgecnn.runtime.detection import Detection, ObjectDetector


@dataclass(frozen=True)
class Seen:
    """What one frame showed: a smoothed label (classifiers) or boxes (detectors), and any event."""

    label: str | None = None
    score: float = 0.0
    region: Region | None = None
    detections: tuple[Detection, ...] = ()
    events: tuple[Event, ...] = field(default_factory=tuple)


class Perception(Protocol):
    def preprocess(self, bgr: np.ndarray) -> Any: ...
    def invoke(self, prepared: Any) -> Any: ...
    def postprocess(self, prepared: Any, raw: Any, index: int, t: float) -> Seen: ...


class Classifying:
    """A classifier on the frame or on the first region found; smoothing; label events."""

    def __init__(self, clf: Classifier, regions: RegionFinder | None, smoother: Smoother) -> None:
        self.clf, self.regions, self.smoother = clf, regions, smoother
        self.tracker = EventTracker()

    def preprocess(self, bgr: np.ndarray) -> tuple[Region | None, np.ndarray | None]:
        found = self.regions.find(bgr) if self.regions is not None else []
        region = found[0] if found else None
        patch = crop(bgr, region) if region is not None or self.regions is None else None
        return region, None if patch is None else self.clf.preprocess(patch, bgr=True)

    def invoke(self, prepared: tuple[Region | None, np.ndarray | None]) -> np.ndarray | None:
        return None if prepared[1] is None else self.clf.invoke(prepared[1])

    def postprocess(self, prepared: tuple[Region | None, Any], raw: np.ndarray | None, index: int, t: float) -> Seen:
        label, score = self.smoother.push(None if raw is None else self.clf.postprocess(raw))
        event = self.tracker.update(label, score, index, t, prepared[0])
        return Seen(label, score, prepared[0], events=(event,) if event else ())


class Detecting:
    """A detector on the whole frame."""

    def __init__(self, detector: ObjectDetector) -> None:
        self.detector = detector

    def preprocess(self, bgr: np.ndarray) -> Any:
        return self.detector.preprocess(bgr, bgr=True)

    def invoke(self, prepared: Any) -> list[np.ndarray]:
        return self.detector.invoke(prepared[0])

    def postprocess(self, prepared: Any, raw: list[np.ndarray], index: int, t: float) -> Seen:
        return Seen(detections=tuple(self.detector.postprocess(raw, prepared[1])))
