"""Drawing the overlay (label and score, or boxes; FPS, stage times) on a frame; separate from parsing."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

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


def draw_detections(frame: np.ndarray, detections: Sequence[Detection], fps: float, stage_ms: dict[str, float],
                    tracks: Sequence[Any] = (), areas: Any = None) -> np.ndarray:
    """A copy of `frame` with zones, lines and their counts, every box (with its track id when it
    has one), label and score, and the timings."""
    out = frame.copy()
    scale = max(out.shape[1] / 640.0, 0.4)
    if areas is not None:
        _areas(out, areas, tracks, scale)
    thin = max(1, int(scale))
    for d in detections:
        colour = PALETTE[d.index % len(PALETTE)]
        x0, y0, x1, y1 = (int(round(v)) for v in d.box)
        cv2.rectangle(out, (x0, y0), (x1, y1), colour, thin)
        for x, y in d.keypoints:
            cv2.circle(out, (int(x), int(y)), max(1, int(2 * scale)), colour, -1)
    for t in tracks:
        if t.missed:
            continue
        colour = PALETTE[t.index % len(PALETTE)]
        x0, y0, x1, y1 = (int(round(float(v))) for v in t.box)
        cv2.rectangle(out, (x0, y0), (x1, y1), colour, max(1, int(2 * scale)))
        _text(out, f"#{t.id} {t.label[:20]} {t.score:.2f}", (x0, max(int(14 * scale), y0 - 4)), scale * 0.5, colour)
    timing = f"{fps:.1f} fps  {len(detections)} found  " + " ".join(f"{k[:5]} {v:.1f}" for k, v in stage_ms.items())
    _text(out, timing, (8, out.shape[0] - int(10 * scale)), scale * 0.5, (255, 255, 255))
    return out


def _areas(out: np.ndarray, areas: Any, tracks: Sequence[Any], scale: float) -> None:
    counts = areas.counts(list(tracks))
    for zone in areas.zones:
        pts = zone.points.astype(np.int32)
        cv2.polylines(out, [pts], True, (255, 200, 0), max(1, int(scale)))
        _text(out, f"{zone.name}: {counts['zones'][zone.name]}", tuple(int(v) for v in pts[0]), scale * 0.5,
              (255, 200, 0))
    for line in areas.lines:
        (x0, y0), (x1, y1) = line.points.astype(int)
        cv2.arrowedLine(out, (x0, y0), (x1, y1), (0, 0, 255), max(1, int(scale)), tipLength=0.03)
        c = counts["lines"][line.name]
        _text(out, f"{line.name}: in {c['in']} out {c['out']}", (x0, y0), scale * 0.5, (0, 0, 255))


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


def thumbnail(frame: np.ndarray, box: Sequence[float], size: int = 96) -> bytes:
    """A small JPEG of what `box` (x0, y0, x1, y1, pixels) holds, with a tenth of context around it;
    b"" when the box lies outside the frame."""
    h, w = frame.shape[:2]
    x0, y0, x1, y1 = (float(v) for v in box)
    pad = 0.1 * max(x1 - x0, y1 - y0)
    left, top = max(0, int(x0 - pad)), max(0, int(y0 - pad))
    right, bottom = min(w, int(np.ceil(x1 + pad))), min(h, int(np.ceil(y1 + pad)))
    if right <= left or bottom <= top:
        return b""
    crop = frame[top:bottom, left:right]
    scale = size / max(crop.shape[:2])
    if scale < 1:
        crop = cv2.resize(crop, (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale))),
                          interpolation=cv2.INTER_AREA)
    return encode_jpeg(crop, 75)


def encode_jpeg(frame: np.ndarray, quality: int = 80) -> bytes:
    ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return buf.tobytes() if ok else b""
