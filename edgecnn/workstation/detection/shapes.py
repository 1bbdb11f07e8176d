"""The built-in detection set `shapes`: circles, squares and triangles (1-5 a picture, 10-36 px,
any colour) on varied backgrounds (gradients, noise, stripes, blotches). Deterministic and
offline: the same seed always draws the same pictures, so it serves the quick start and the tests."""

from __future__ import annotations

import cv2
import numpy as np

LABELS = ("circle", "square", "triangle")
SIZE = 96
COUNT = 2000


Picture = tuple[str, np.ndarray, np.ndarray, np.ndarray]


def generate(count: int = COUNT, size: int = SIZE, seed: int = 1234) -> list[Picture]:
    """(id, RGB image, boxes x0 y0 x1 y1, classes) for `count` pictures."""
    rng = np.random.default_rng(seed)
    return [(f"{i:05d}.png", *_picture(rng, size)) for i in range(count)]


def _picture(rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    image = _background(rng, size)
    boxes: list[list[float]] = []
    classes: list[int] = []
    for _ in range(int(rng.integers(1, 6))):
        for _attempt in range(20):
            s = int(rng.integers(10, 37))
            x, y = int(rng.integers(0, size - s)), int(rng.integers(0, size - s))
            box = [x, y, x + s, y + s]
            if all(_iou(box, b) == 0 for b in boxes):
                break
        else:
            continue
        cls = int(rng.integers(0, len(LABELS)))
        boxes.append(_draw(image, cls, box, rng))
        classes.append(cls)
    return image, np.array(boxes, np.float32).reshape(-1, 4), np.array(classes, np.int64)


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    kind = int(rng.integers(0, 4))
    a, b = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    t = np.linspace(0, 1, size)[:, None, None]
    image = (a * (1 - t) + b * t).repeat(size, axis=1) if kind != 1 else np.broadcast_to(a, (size, size, 3))
    image = np.ascontiguousarray(image, dtype=np.float32)
    if kind == 2:  # stripes
        period = int(rng.integers(6, 20))
        image[(np.arange(size)[:, None] + np.arange(size)[None, :]) % period < period // 2] *= 0.6
    if kind == 3:  # blotches: elongated, so no background blob passes for a circle
        for _ in range(8):
            c = tuple(int(v) for v in rng.integers(0, 256, 3))
            minor = int(rng.integers(4, 12))
            cv2.ellipse(image, (int(rng.integers(0, size)), int(rng.integers(0, size))),
                        (int(minor * rng.uniform(2.5, 4)), minor), float(rng.integers(0, 180)), 0, 360, c, -1)
    image += rng.normal(0, float(rng.uniform(2, 14)), image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


def _draw(image: np.ndarray, cls: int, box: list[int], rng: np.random.Generator) -> list[float]:
    """Draw shape `cls` filling `box`; returns the tight box of what was drawn."""
    x0, y0, x1, y1 = box
    covered = image[y0:y1, x0:x1].reshape(-1, 3)
    colour = rng.integers(0, 256, 3)
    if len(covered):  # visible against what it covers (a box off the picture takes any colour)
        under = covered.mean(0)
        while np.abs(colour - under).sum() < 150:
            colour = rng.integers(0, 256, 3)
    c = tuple(int(v) for v in colour)
    s = x1 - x0
    if cls == 0:
        cv2.circle(image, (x0 + s // 2, y0 + s // 2), s // 2, c, -1, cv2.LINE_AA)
        return [x0, y0, x0 + 2 * (s // 2) + 1, y0 + 2 * (s // 2) + 1]
    if cls == 1:
        cv2.rectangle(image, (x0, y0), (x1 - 1, y1 - 1), c, -1)
        return [x0, y0, x1, y1]
    pts = np.array([[x0 + s // 2, y0], [x0, y1 - 1], [x1 - 1, y1 - 1]], np.int32)
    cv2.fillPoly(image, [pts], c, cv2.LINE_AA)
    return [x0, y0, x1, y1]


def _iou(a: list[float], b: list[float]) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)
