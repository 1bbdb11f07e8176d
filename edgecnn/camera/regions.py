"""Where to classify: the whole frame, a fixed --roi, or the largest face (Haar cascade)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from edgecnn.errors import EdgeCNNError, EdgeCNNUsageError

Region = tuple[int, int, int, int]  # x, y, w, h


def parse_roi(text: str | None) -> str | Region | None:
    """None (whole frame), "faces", or (x, y, w, h) with w, h > 0."""
    if text is None or text == "full":
        return None
    if text == "faces":
        return "faces"
    try:
        x, y, w, h = (int(v) for v in text.split(","))
    except ValueError:
        raise EdgeCNNUsageError(f"--roi must be x,y,w,h in pixels, 'faces' or 'full', got {text!r}") from None
    if x < 0 or y < 0 or w < 1 or h < 1:
        raise EdgeCNNUsageError(f"--roi needs x, y >= 0 and w, h >= 1, got {text!r}")
    return x, y, w, h


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


class FaceFinder:
    """OpenCV's bundled frontal-face Haar cascade."""

    def __init__(self, cascade: str = "haarcascade_frontalface_default.xml") -> None:
        self.detector = load_haar_cascade(cascade)

    def find(self, frame: np.ndarray) -> list[Region]:
        """Faces, largest first."""
        gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) if frame.ndim == 3 else frame
        found = self.detector.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5, minSize=(24, 24))
        boxes = [tuple(int(v) for v in box) for box in found]
        return sorted(boxes, key=lambda b: -b[2] * b[3])  # type: ignore[return-value]


def crop(frame: np.ndarray, region: Region | None) -> np.ndarray | None:
    """The region clipped to the frame; None when nothing of it lies inside."""
    if region is None:
        return frame
    x, y, w, h = region
    fh, fw = frame.shape[:2]
    x0, y0, x1, y1 = max(0, x), max(0, y), min(fw, x + w), min(fh, y + h)
    if x1 <= x0 or y1 <= y0:
        return None
    return frame[y0:y1, x0:x1]


def to_model_colour(bgr: np.ndarray, color: str) -> np.ndarray:
    """OpenCV BGR -> the card's colour order, as (H, W, C)."""
    if color == "gray":
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)[:, :, None]
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
