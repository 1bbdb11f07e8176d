"""Detections and the geometry between a frame and a model's input: stretch or letterbox there,
boxes (and keypoints) back to frame pixels here. Every public box is x0, y0, x1, y1 in pixels of
the original frame; normalised or centre-size forms stay inside the decoders."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

FITS = ("stretch", "letterbox")


class Detection(NamedTuple):
    """One found object."""

    label: str
    score: float
    box: tuple[float, float, float, float]  # x0, y0, x1, y1, pixels of the original frame
    index: int  # class index
    keypoints: tuple[tuple[float, float], ...] = ()  # pixels of the frame (BlazeFace: eyes, nose, ...)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"label": self.label, "index": self.index, "score": round(self.score, 4),
                               "box": [round(v, 1) for v in self.box]}
        if self.keypoints:
            out["keypoints"] = [[round(x, 1), round(y, 1)] for x, y in self.keypoints]
        return out


@dataclass(frozen=True)
class Letterbox:
    """How a frame of `frame_w` x `frame_h` became the model input: input = frame * scale + pad."""

    frame_w: int
    frame_h: int
    scale_x: float
    scale_y: float
    pad_x: float
    pad_y: float

    @classmethod
    def fit(cls, frame_h: int, frame_w: int, in_h: int, in_w: int, mode: str = "stretch") -> Letterbox:
        if mode == "stretch":
            return cls(frame_w, frame_h, in_w / frame_w, in_h / frame_h, 0.0, 0.0)
        if mode != "letterbox":
            raise ValueError(f"fit must be one of {FITS}, got {mode!r}")
        s = min(in_w / frame_w, in_h / frame_h)
        nw, nh = max(1, round(frame_w * s)), max(1, round(frame_h * s))  # whole pixels, as the image is placed
        return cls(frame_w, frame_h, nw / frame_w, nh / frame_h, float((in_w - nw) // 2), float((in_h - nh) // 2))

    def boxes_to_frame(self, boxes: np.ndarray) -> np.ndarray:
        """(N, 4) x0, y0, x1, y1 in input pixels -> frame pixels, clipped to the frame."""
        out = np.empty_like(boxes, dtype=np.float64)
        out[:, 0::2] = (boxes[:, 0::2] - self.pad_x) / self.scale_x
        out[:, 1::2] = (boxes[:, 1::2] - self.pad_y) / self.scale_y
        out[:, 0::2] = out[:, 0::2].clip(0, self.frame_w)
        out[:, 1::2] = out[:, 1::2].clip(0, self.frame_h)
        return out

    def points_to_frame(self, points: np.ndarray) -> np.ndarray:
        """(..., 2) x, y in input pixels -> frame pixels."""
        out = np.asarray(points, dtype=np.float64).copy()
        out[..., 0] = (out[..., 0] - self.pad_x) / self.scale_x
        out[..., 1] = (out[..., 1] - self.pad_y) / self.scale_y
        return out


def centre_to_corners(cx: np.ndarray, cy: np.ndarray, w: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Centre-size to (N, 4) x0, y0, x1, y1."""
    return np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=-1)


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box of `a` (N, 4) with every box of `b` (M, 4): (N, M)."""
    a, b = np.asarray(a, np.float64).reshape(-1, 4), np.asarray(b, np.float64).reshape(-1, 4)
    x0 = np.maximum(a[:, None, 0], b[None, :, 0])
    y0 = np.maximum(a[:, None, 1], b[None, :, 1])
    x1 = np.minimum(a[:, None, 2], b[None, :, 2])
    y1 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.maximum(x1 - x0, 0) * np.maximum(y1 - y0, 0)  # np.maximum: np.clip costs 3x more on small arrays
    area = lambda z: np.maximum(z[:, 2] - z[:, 0], 0) * np.maximum(z[:, 3] - z[:, 1], 0)  # noqa: E731
    union = area(a)[:, None] + area(b)[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)
