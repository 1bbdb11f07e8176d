"""Find, level and crop faces: BlazeFace (a CNN, shipped) with OpenCV's Haar cascades as the
fallback, pluggable.

A detector is anything with `find(bgr) -> list[Detection]` (largest first), a `name` and the
`framing` that turns its boxes into head crops. `FaceCropper` turns the largest detection into the
head crop the embedder was trained on (the card records detector and framing, so the device crops
the way training did); `FaceRegions` makes the same detector a region finder for
`edgecnn detect --roi faces`, so both find the same faces.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from edgecnn.errors import EdgeCNNError
from edgecnn.face.blazeface import BlazeFaceDetector
from edgecnn.face.haar import HaarDetector
from edgecnn.face.types import Box, Detection, Detector, Face, NoFaceError
from edgecnn.images import load_image
from edgecnn.log import get_logger

log = get_logger(__name__)
DETECTORS = {"blazeface": BlazeFaceDetector, "haar": HaarDetector, "HaarDetector": HaarDetector}


def default_detector() -> Detector:
    """BlazeFace, or the Haar cascades when it cannot be loaded (said once)."""
    try:
        return BlazeFaceDetector()
    except EdgeCNNError as exc:
        log.warning(f"the BlazeFace face detector is unavailable ({exc}); using OpenCV's Haar cascades")
        return HaarDetector()

class FaceCropper:
    """Largest face -> levelled head crop framed like the training images.

    The embedder learnt whole heads (ORL-style): the crop is the box widened `widen` times, made
    `tall` times as tall, centred `lift` box-heights above the box centre (defaults: the detector's
    own framing). Eyes, when both are found and tilted by at most `max_angle` degrees, level it.
    """

    def __init__(self, detector: Detector | None = None, widen: float | None = None, tall: float | None = None,
                 lift: float | None = None, max_angle: float = 30.0) -> None:
        self.detector = detector or default_detector()
        framing = getattr(self.detector, "framing", HaarDetector.framing)
        self.widen = framing["widen"] if widen is None else widen
        self.tall = framing["tall"] if tall is None else tall
        self.lift = framing["lift"] if lift is None else lift
        self.max_angle = max_angle
        self.misses = 0  # images `transform()` found no face in

    def largest(self, bgr: np.ndarray) -> Face | None:
        found = self.detector.find(bgr)
        return self.crop(bgr, found[0], len(found)) if found else None

    def crop(self, bgr: np.ndarray, det: Detection, count: int = 1) -> Face:
        x, y, w, h = det.box
        cx, cy = x + w / 2, y + h / 2 - self.lift * h
        angle = 0.0
        if det.eyes is not None:
            (lx, ly), (rx, ry) = det.eyes
            angle = math.degrees(math.atan2(ry - ly, rx - lx))
            if abs(angle) > self.max_angle:
                angle = 0.0
        cw, ch = self.widen * w, self.tall * h
        # rotate about the crop centre so the eyes lie level, then cut the window out
        m = cv2.getRotationMatrix2D((cx, cy), angle, 1.0)
        m[0, 2] += cw / 2 - cx
        m[1, 2] += ch / 2 - cy
        out = cv2.warpAffine(bgr, m, (max(1, round(cw)), max(1, round(ch))), flags=cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_REPLICATE)
        if out.ndim == 2 and bgr.ndim == 3:  # OpenCV drops a single channel axis
            out = out[:, :, None]
        return Face(out, det.box, det.eyes is not None and angle != 0.0, angle, count)

    def settings(self) -> dict[str, float | str]:
        """What a model card records, so the device crops faces the way training did."""
        return {"detector": getattr(self.detector, "name", type(self.detector).__name__), "widen": self.widen,
                "tall": self.tall, "lift": self.lift, "max_angle": self.max_angle}

    def transform(self) -> Callable[[np.ndarray], np.ndarray]:
        """image -> its largest face crop, or the image itself when no face is found (counted)."""

        def apply(image: np.ndarray) -> np.ndarray:
            face = self.largest(image)
            if face is None:
                self.misses += 1
                return image
            return face.image
        return apply


_FRAMING = ("widen", "tall", "lift", "max_angle")


def cropper_from(settings: dict | None) -> FaceCropper | None:
    """The cropper a card's "face_crop" section describes (None: the model takes whole images):
    the detector it names (Haar for cards from before BlazeFace) and its framing."""
    if not settings:
        return None
    kind = DETECTORS.get(str(settings.get("detector", "haar")), HaarDetector)
    detector = default_detector() if kind is BlazeFaceDetector else HaarDetector()
    return FaceCropper(detector, **{k: float(settings[k]) for k in _FRAMING if k in settings})


def cropper_for(card: object | None) -> FaceCropper:
    """The framing a model was trained on (its card's "face_crop"), else the default framing."""
    sections = getattr(card, "sections", None) or {}
    return cropper_from(sections.get("face_crop")) or FaceCropper()


def whole_face(bgr: np.ndarray) -> Face:
    """The whole image taken as the face (--no-detect: images that are already face crops)."""
    h, w = bgr.shape[:2]
    return Face(bgr, (0, 0, w, h), False, 0.0, 1)


class FaceRegions:
    """A detector as a region finder (x, y, w, h boxes, largest first) for the detect loop."""

    def __init__(self, detector: Detector | None = None) -> None:
        self.detector = detector or default_detector()

    def find(self, bgr: np.ndarray) -> list[Box]:
        return [d.box for d in self.detector.find(bgr)]


def load_face(path: str | Path, cropper: FaceCropper | None) -> Face:
    """A face from an image file: the largest detected (cropper given) or the whole image."""
    bgr = load_image(path, "bgr")
    if cropper is None:
        return whole_face(bgr)
    face = cropper.largest(bgr)
    if face is None:
        raise NoFaceError(f"no face found in {path}; use a frontal photo, or --no-detect for images "
                          "that are already face crops")
    return face
