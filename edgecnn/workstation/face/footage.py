"""Synthetic camera footage from face photos: faces pasted into larger frames, written as video.

For `face demo` and the tests: a repeatable "walk up to the camera" without a camera.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from edgecnn.errors import EdgeCNNError

FOOTAGE_FPS = 10.0  # write_video's default frame rate
ENROL_EVERY = 3  # frames per photo in enrolment footage: 0.3 s, `face enroll --source`'s default interval


def background(height: int = 240, width: int = 320, seed: int = 0) -> np.ndarray:
    """A smooth, slightly noisy BGR background (no face-like structure)."""
    rng = np.random.default_rng(seed)
    ramp = np.linspace(60, 160, width, dtype=np.float32)[None, :, None]
    frame = np.broadcast_to(ramp, (height, width, 3)).copy()
    frame += rng.normal(0, 6, frame.shape).astype(np.float32)
    return np.clip(frame, 0, 255).astype(np.uint8)


def compose(face_paths: list[Path], at: list[tuple[int, int]], scale: float = 1.0, seed: int = 0,
            size: tuple[int, int] = (240, 320)) -> np.ndarray:
    """Paste each face (scaled) with its top-left corner at `at[i]` into a background frame."""
    frame = background(*size, seed=seed)
    for path, (x, y) in zip(face_paths, at, strict=True):
        face = cv2.imread(str(path), cv2.IMREAD_COLOR)
        face = cv2.resize(face, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)
        h, w = face.shape[:2]
        frame[y:y + h, x:x + w] = face[: size[0] - y, : size[1] - x]
    return frame


def write_video(path: Path, frames: list[np.ndarray], fps: float = FOOTAGE_FPS) -> Path:
    """An MJPG .avi OpenCV can read back everywhere (no external codecs)."""
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
    if not writer.isOpened():
        raise EdgeCNNError(f"OpenCV cannot write an MJPG video to {path}")
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


def blank(n: int, seed: int = 0) -> list[np.ndarray]:
    """`n` frames with nobody in them."""
    return [background(seed=seed + i) for i in range(n)]


def walk_by(photos: list[Path], frames: int, seed: int = 0) -> list[np.ndarray]:
    """`frames` frames of one person drifting across the view, cycling through their photos."""
    return [compose([photos[i % len(photos)]], [(60 + 4 * (i % 30), 50 + (i % 7))], seed=seed + i)
            for i in range(frames)]


def enrolment_footage(photos: list[Path], seed: int = 500) -> list[np.ndarray]:
    """Each photo held still for ENROL_EVERY frames, the way someone poses for enrolment shots."""
    return [compose([p], [(110, 60)], seed=seed + i) for i, p in enumerate(photos) for _ in range(ENROL_EVERY)]
