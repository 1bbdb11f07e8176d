"""Drawing the overlay (label and score, or boxes; FPS, stage times) on a frame; separate from parsing."""

from __future__ import annotations

import os
from collections.abc import Sequence

import cv2
import numpy as np

from edgecnn.camera.regions import Region
from edgecnn.runtime.detection import Detection

FONT = cv2.FONT_HERSHEY_SIMPLEX


def draw(frame: np.ndarray, label: str | None, score: float, region: Region | None, fps: float,
         stage_ms: dict[str, float]) -> np.ndarray:
    """A copy of `frame` with the region box, the smoothed label and the timings."""
    out = frame.copy()
    scale = max(out.shape[1] / 640.0, 0.4)
    if region is not None:
        x, y, w, h = region
        cv2.rectangle(out, (x, y), (x + w, y + h), (0, 200, 255), max(1, int(2 * scale)))
    text = f"{label} {score:.2f}" if label else "-"
    _text(out, text, (8, int(28 * scale)), scale, (0, 255, 0) if label else (200, 200, 200))
    timing = f"{fps:.1f} fps  " + " ".join(f"{k[:5]} {v:.1f}" for k, v in stage_ms.items())
    _text(out, timing, (8, out.shape[0] - int(10 * scale)), scale * 0.5, (255, 255, 255))
    return out


PALETTE = [(0, 200, 255), (0, 255, 0), (255, 128, 0), (255, 0, 255), (0, 128, 255), (255, 255, 0)]


def draw_detections(frame: np.ndarray, detections: Sequence[Detection], fps: float,
                    stage_ms: dict[str, float]) -> np.ndarray:
    """A copy of `frame` with every box, its label and score, and the timings."""
    out = frame.copy()
    scale = max(out.shape[1] / 640.0, 0.4)
    for d in detections:
        colour = PALETTE[d.index % len(PALETTE)]
        x0, y0, x1, y1 = (int(round(v)) for v in d.box)
        cv2.rectangle(out, (x0, y0), (x1, y1), colour, max(1, int(2 * scale)))
        _text(out, f"{d.label[:24]} {d.score:.2f}", (x0, max(int(14 * scale), y0 - 4)), scale * 0.5, colour)
        for x, y in d.keypoints:
            cv2.circle(out, (int(x), int(y)), max(1, int(2 * scale)), colour, -1)
    timing = f"{fps:.1f} fps  {len(detections)} found  " + " ".join(f"{k[:5]} {v:.1f}" for k, v in stage_ms.items())
    _text(out, timing, (8, out.shape[0] - int(10 * scale)), scale * 0.5, (255, 255, 255))
    return out


def _text(img: np.ndarray, text: str, origin: tuple[int, int], scale: float, colour: tuple[int, int, int]) -> None:
    thickness = max(1, int(round(2 * scale)))
    cv2.putText(img, text, origin, FONT, scale, (0, 0, 0), thickness + 2, cv2.LINE_AA)
    cv2.putText(img, text, origin, FONT, scale, colour, thickness, cv2.LINE_AA)


def gui_available() -> bool:
    """True when a display is set and this OpenCV build has a GUI (headless wheels have none)."""
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return False
    for line in cv2.getBuildInformation().splitlines():
        if line.strip().startswith("GUI:"):
            return line.split(":", 1)[1].strip().upper() != "NONE"
    return False


def encode_jpeg(frame: np.ndarray, quality: int = 80) -> bytes:
    ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return buf.tobytes() if ok else b""
