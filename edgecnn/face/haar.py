"""OpenCV's Haar cascades: the fallback face finder when the CNN detector cannot be loaded."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from edgecnn.errors import EdgeCNNError
from edgecnn.face.types import Box, Detection, Point


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
    """Frontal-face cascade, then the eye cascade inside the upper half of each face.

    Its boxes cover brows to mouth: the head crop is the box widened 1.2x, 1.45x as tall, centred a
    tenth of a box higher (`framing`)."""

    name = "haar"
    framing = {"widen": 1.2, "tall": 1.45, "lift": 0.1}

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


def _gray(image: np.ndarray) -> np.ndarray:
    """Any of (H, W), (H, W, 1), (H, W, 3) -> (H, W) uint8 (BGR weights; RGB differs negligibly)."""
    if image.ndim == 3 and image.shape[2] == 3:
        return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    return image.reshape(image.shape[0], image.shape[1])
