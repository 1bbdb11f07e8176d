"""Find, level and crop faces: OpenCV's Haar cascades, pluggable.

A detector is anything with `find(bgr) -> list[Detection]` (largest first); a TFLite face detector
can replace `HaarDetector` without touching enrolment, verification or unlock. `FaceCropper`
turns the largest detection into the head crop the embedder was trained on; `FaceRegions` makes
the same detector a region finder for `edgecnn detect --roi faces`, so both find the same faces.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple, Protocol

import cv2
import numpy as np

from edgecnn.errors import EdgeCNNError
from edgecnn.images import load_image

Box = tuple[int, int, int, int]  # x, y, w, h
Point = tuple[float, float]


class Detection(NamedTuple):
    box: Box
    eyes: tuple[Point, Point] | None  # (left-in-image, right-in-image) centres, when both were found


class Face(NamedTuple):
    """A face ready for the embedder: BGR crop, where it was, how many faces the frame held."""

    image: np.ndarray
    box: Box
    aligned: bool
    angle: float
    faces_in_frame: int


class Detector(Protocol):
    def find(self, bgr: np.ndarray) -> list[Detection]: ...


class NoFaceError(EdgeCNNError):
    """No face where one was needed."""


def load_haar_cascade(name: str) -> "cv2.CascadeClassifier":
    """One of OpenCV's bundled Haar cascades, or one clear error when this OpenCV has none."""
    folder = getattr(getattr(cv2, "data", None), "haarcascades", None)
    if folder is None or not hasattr(cv2, "CascadeClassifier"):
        raise EdgeCNNError("this OpenCV has no Haar cascades (OpenCV 5 removed them): "
                           "pip install 'opencv-python-headless>=4.8,<5'")
    cascade = cv2.CascadeClassifier(str(Path(folder) / name))
    if cascade.empty():
        raise EdgeCNNError(f"cannot load the Haar cascade {name} from {folder}")
    return cascade


class HaarDetector:
    """Frontal-face cascade, then the eye cascade inside the upper half of each face."""

    def __init__(self, min_size: int = 40, eyes: bool = True) -> None:
        self.faces = load_haar_cascade("haarcascade_frontalface_default.xml")
        self.eyes = load_haar_cascade("haarcascade_eye.xml") if eyes else None
        self.min_size = min_size

    def find(self, bgr: np.ndarray) -> list[Detection]:
        # a replicated border lets the cascade's window cover faces that touch the frame's edge
        pad = max(bgr.shape[:2]) // 8
        gray = cv2.copyMakeBorder(cv2.equalizeHist(_gray(bgr)), pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        found = self.faces.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5,
                                            minSize=(self.min_size, self.min_size))
        boxes = sorted((tuple(int(v) for v in b) for b in found), key=lambda b: -b[2] * b[3])
        out = []
        for x, y, w, h in boxes:
            eyes = self._eyes(gray, (x, y, w, h))
            shifted = None if eyes is None else tuple((ex - pad, ey - pad) for ex, ey in eyes)
            out.append(Detection((x - pad, y - pad, w, h), shifted))  # type: ignore[arg-type]
        return out

    def _eyes(self, gray: np.ndarray, box: Box) -> tuple[Point, Point] | None:
        """The two eye centres (frame coordinates), one per half of the face, or None."""
        if self.eyes is None:
            return None
        x, y, w, h = box
        top = gray[y + h // 5: y + h // 2 + h // 10, x: x + w]
        found = self.eyes.detectMultiScale(top, scaleFactor=1.1, minNeighbors=4,
                                           minSize=(max(8, w // 8), max(8, w // 8)), maxSize=(w // 2, w // 2))
        centres = [(x + ex + ew / 2, y + h // 5 + ey + eh / 2) for ex, ey, ew, eh in found]
        left = [c for c in centres if c[0] < x + w / 2]
        right = [c for c in centres if c[0] >= x + w / 2]
        if not left or not right:
            return None
        pick = lambda cs: max(cs, key=lambda c: -abs(c[1] - (y + 0.38 * h)))  # noqa: E731
        return pick(left), pick(right)


class FaceCropper:
    """Largest face -> levelled head crop framed like the training images.

    Framing: Haar boxes cover brows to mouth; the embedder learnt whole heads (ORL-style), so the
    crop is the box widened `widen` times, made `tall` times as tall, centred `lift` box-heights above
    the box centre. Eyes, when both are found and tilted by at most `max_angle` degrees, level it.
    """

    def __init__(self, detector: Detector | None = None, widen: float = 1.2, tall: float = 1.45,
                 lift: float = 0.1, max_angle: float = 30.0) -> None:
        self.detector = detector or HaarDetector()
        self.widen, self.tall, self.lift, self.max_angle = widen, tall, lift, max_angle
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
        return {"detector": type(self.detector).__name__, "widen": self.widen, "tall": self.tall,
                "lift": self.lift, "max_angle": self.max_angle}

    def transform(self) -> Callable[[np.ndarray], np.ndarray]:
        """image -> its largest face crop, or the image itself when no face is found (counted)."""

        def apply(image: np.ndarray) -> np.ndarray:
            face = self.largest(image)
            if face is None:
                self.misses += 1
                return image
            return face.image
        return apply


def _gray(image: np.ndarray) -> np.ndarray:
    """Any of (H, W), (H, W, 1), (H, W, 3) -> (H, W) uint8 (BGR weights; RGB differs negligibly)."""
    if image.ndim == 3 and image.shape[2] == 3:
        return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    return image.reshape(image.shape[0], image.shape[1])


_FRAMING = ("widen", "tall", "lift", "max_angle")


def cropper_from(settings: dict | None) -> FaceCropper | None:
    """The cropper a card's "face_crop" section describes (None: the model takes whole images)."""
    if not settings:
        return None
    return FaceCropper(None, **{k: float(settings[k]) for k in _FRAMING if k in settings})


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
        self.detector = detector or HaarDetector()

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
