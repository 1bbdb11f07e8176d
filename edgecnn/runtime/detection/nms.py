"""Non-maximum suppression in numpy: greedy (per class) and weighted (BlazeFace's merge)."""

from __future__ import annotations

import math

import numpy as np

from edgecnn.runtime.detection.boxes import iou_matrix

MATRIX_MAX = 512  # up to this many boxes, all overlaps are computed at once (a few MB); beyond, row by row


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float, limit: int | None = None,
        classes: np.ndarray | None = None) -> np.ndarray:
    """Indices of the boxes kept by greedy NMS, best score first; with `classes`, a box only
    suppresses boxes of its own class. Few boxes: plain Python (numpy's per-call cost dominates);
    up to MATRIX_MAX: one IoU matrix and a walk down the scores; beyond: row by row."""
    n = len(boxes)
    if n <= SMALL:
        return np.asarray(nms_small(np.asarray(boxes, np.float64).tolist(), np.asarray(scores).tolist(),
                                    None if classes is None else np.asarray(classes).tolist(), iou, limit), np.int64)
    if classes is not None:  # different classes never overlap once shifted apart
        boxes = np.asarray(boxes, np.float64) + (np.asarray(classes, np.float64)
                                                * (float(np.abs(boxes).max()) + 1.0))[:, None]
    order = np.argsort(-np.asarray(scores), kind="stable")
    if order.size > MATRIX_MAX:
        return _nms_by_rows(boxes, order, iou, limit)
    ranked = np.asarray(boxes)[order]
    suppressed = iou_matrix(ranked, ranked) > iou
    alive = np.ones(order.size, dtype=bool)
    keep: list[int] = []
    for i in range(order.size):
        if limit is not None and len(keep) >= limit:
            break
        if alive[i]:
            keep.append(i)
            alive &= ~suppressed[i]
    return order[np.asarray(keep, dtype=np.int64)]


def _nms_by_rows(boxes: np.ndarray, order: np.ndarray, iou: float, limit: int | None) -> np.ndarray:
    """Greedy NMS over boxes in `order`, one row of overlaps per kept box (bounded memory)."""
    keep: list[int] = []
    while order.size and (limit is None or len(keep) < limit):
        best, order = order[0], order[1:]
        keep.append(int(best))
        if order.size:
            order = order[iou_matrix(boxes[best:best + 1], boxes[order])[0] <= iou]
    return np.asarray(keep, dtype=np.int64)


SMALL = 24  # below this many boxes, plain Python beats numpy's per-call overhead


def nms_small(boxes: list[list[float]], scores: list[float], classes: list[int] | None, iou: float,
              limit: int | None) -> list[int]:
    """Greedy NMS in plain Python on [x0, y0, x1, y1, ...] lists: indices kept, best score first;
    with `classes` a box only suppresses its own class (one box per class: nothing to test)."""
    order = sorted(range(len(boxes)), key=scores.__getitem__, reverse=True)  # stable, like argsort(-scores)
    if classes is not None and len(set(classes)) == len(classes):
        return order[:limit]
    keep: list[int] = []
    for i in order:
        a = boxes[i]
        for j in keep:
            if (classes is None or classes[j] == classes[i]) and box_iou(a, boxes[j]) > iou:
                break
        else:
            keep.append(i)
            if limit is not None and len(keep) >= limit:
                break
    return keep


def box_iou(a: list[float], b: list[float]) -> float:
    """Overlap of two boxes given as x0, y0, x1, y1 (further items ignored)."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def batched_nms(boxes: np.ndarray, scores: np.ndarray, classes: np.ndarray, iou: float,
                limit: int | None = None) -> np.ndarray:
    """NMS within each class only (boxes of different classes never suppress each other)."""
    return nms(boxes, scores, iou, limit, classes)


def weighted_nms(boxes: np.ndarray, scores: np.ndarray, iou: float,
                 extra: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Overlapping boxes merged into their score-weighted mean (MediaPipe's face detector does this);
    `extra` (N, ...) such as keypoints is merged the same way. Returns boxes, scores, extra, best
    score first. The N x N overlaps are computed at once: callers keep N to a few hundred."""
    s = np.asarray(scores, np.float64)
    order = np.argsort(-s, kind="stable")
    n, s = len(order), s[order]
    data = np.asarray(boxes, np.float64).reshape(n, 4)
    if extra is not None:
        extra = np.asarray(extra, np.float64)
        data = np.concatenate([data, extra.reshape(n, math.prod(extra.shape[1:]))], axis=1)
    data = data[order]
    overlap = iou_matrix(data[:, :4], data[:, :4]) > iou
    np.fill_diagonal(overlap, True)  # every box leads its own group, even a degenerate (zero-area, NaN) one
    left = np.ones(n, dtype=bool)
    merged, best = [], []
    for i in range(n):
        if not left[i]:
            continue
        group = overlap[i] & left
        left &= ~group
        weights = s[group]
        total = weights.sum()
        merged.append(weights @ data[group] / total if total > 0 else data[i])
        best.append(s[i])
    out = np.asarray(merged).reshape(len(merged), data.shape[1])
    rest = None if extra is None else out[:, 4:].reshape((len(out),) + extra.shape[1:])
    return out[:, :4], np.asarray(best, dtype=np.float64), rest
