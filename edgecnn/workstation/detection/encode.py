"""Training targets for the CenterNet-style head, and augmentation that moves boxes with pixels.

Targets per image, shape (G, G, C + 5) at stride S: C class heatmaps (a Gaussian peak of 1 at each
object's centre cell), box width and height as fractions of the input, the centre's offset inside
its cell, and a mask that is 1 at object centres. Everything is numpy, run inside the tf.data
pipeline (tf.numpy_function), never in the exported graph.
"""

from __future__ import annotations

import math

import cv2
import numpy as np


def gaussian_radius(h: float, w: float, min_overlap: float = 0.7) -> float:
    """CenterNet's radius: how far a centre may move while a box of h x w keeps `min_overlap` IoU."""
    a1, b1, c1 = 1, h + w, w * h * (1 - min_overlap) / (1 + min_overlap)
    r1 = (b1 + math.sqrt(b1 ** 2 - 4 * a1 * c1)) / 2
    a2, b2, c2 = 4, 2 * (h + w), (1 - min_overlap) * w * h
    r2 = (b2 + math.sqrt(b2 ** 2 - 4 * a2 * c2)) / 2
    a3, b3, c3 = 4 * min_overlap, -2 * min_overlap * (h + w), (min_overlap - 1) * w * h
    r3 = (b3 + math.sqrt(b3 ** 2 - 4 * a3 * c3)) / 2
    return min(r1, r2, r3)


def encode(boxes: np.ndarray, classes: np.ndarray, input_hw: tuple[int, int], classes_n: int,
           stride: int) -> np.ndarray:
    """(G_h, G_w, C + 5) float32 targets for one image's boxes (input pixels)."""
    in_h, in_w = input_hw
    gh, gw = in_h // stride, in_w // stride
    target = np.zeros((gh, gw, classes_n + 5), np.float32)
    ys, xs = np.mgrid[0:gh, 0:gw]
    for (x0, y0, x1, y1), cls in zip(boxes.tolist(), classes.tolist(), strict=True):
        cx, cy = (x0 + x1) / 2 / stride, (y0 + y1) / 2 / stride
        ix, iy = min(int(cx), gw - 1), min(int(cy), gh - 1)
        bw, bh = (x1 - x0) / stride, (y1 - y0) / stride
        sigma = (2 * max(0, int(gaussian_radius(bh, bw))) + 1) / 6
        peak = np.exp(-((xs - ix) ** 2 + (ys - iy) ** 2) / (2 * sigma ** 2))
        np.maximum(target[..., cls], peak, out=target[..., cls])
        target[iy, ix, classes_n:classes_n + 5] = ((x1 - x0) / in_w, (y1 - y0) / in_h, cx - ix, cy - iy, 1.0)
    return target


def augment(image: np.ndarray, boxes: np.ndarray, classes: np.ndarray, rng: np.random.Generator,
            flip: bool = True, scale: float = 0.25, shift: float = 0.15) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random horizontal flip, zoom and shift of one image, its boxes moved the same way; boxes
    pushed mostly out of the picture are dropped."""
    h, w = image.shape[:2]
    s = float(rng.uniform(1 - scale, 1 + scale))
    tx, ty = rng.uniform(-shift, shift) * w, rng.uniform(-shift, shift) * h
    m = np.array([[s, 0, (1 - s) * w / 2 + tx], [0, s, (1 - s) * h / 2 + ty]], np.float32)
    if flip and rng.random() < 0.5:
        m[0] = -m[0]
        m[0, 2] += w
    out = cv2.warpAffine(image, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
    out = out if out.ndim == 3 else out[:, :, None]
    if not len(boxes):
        return out, boxes, classes
    corners = np.stack([boxes[:, [0, 1]], boxes[:, [2, 1]], boxes[:, [0, 3]], boxes[:, [2, 3]]], axis=1)
    moved = corners @ m[:, :2].T + m[:, 2]
    new = np.concatenate([moved.min(1), moved.max(1)], axis=1)
    clipped = np.concatenate([new[:, :2].clip(0, None), new[:, 2:3].clip(None, w), new[:, 3:4].clip(None, h)], axis=1)
    area = lambda b: np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)  # noqa: E731
    wide, tall = clipped[:, 2] - clipped[:, 0], clipped[:, 3] - clipped[:, 1]
    keep = (area(clipped) >= 0.6 * area(new)) & (wide >= 2) & (tall >= 2)
    return out, clipped[keep].astype(np.float32), classes[keep]
