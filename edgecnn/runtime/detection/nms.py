"""Non-maximum suppression in numpy: greedy (per class) and weighted (BlazeFace's merge)."""

from __future__ import annotations

import numpy as np

from edgecnn.runtime.detection.boxes import iou_matrix


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float, limit: int | None = None,
        classes: np.ndarray | None = None) -> np.ndarray:
    """Indices of the boxes kept by greedy NMS, best score first; with `classes`, a box only
    suppresses boxes of its own class. One IoU matrix, then a walk down the scores: the per-frame
    cost stays in microseconds for the few dozen candidates a detector gives."""
    n = len(boxes)
    if n <= SMALL:
        return np.asarray(nms_small(np.asarray(boxes).tolist(), np.asarray(scores).tolist(),
                                     None if classes is None else np.asarray(classes).tolist(), iou, limit), np.int64)
    order = np.argsort(-np.asarray(scores), kind="stable")
    overlap = iou_matrix(boxes, boxes) > iou
    if classes is not None:
        overlap &= np.asarray(classes)[:, None] == np.asarray(classes)[None, :]
    removed = np.zeros(n, dtype=bool)
    keep: list[int] = []
    for i in order.tolist():
        if removed[i]:
            continue
        keep.append(i)
        if limit is not None and len(keep) >= limit:
            break
        removed |= overlap[i]
    return np.asarray(keep, dtype=np.int64)


SMALL = 24  # below this many boxes, plain Python beats numpy's per-call overhead


def nms_small(boxes: list[list[float]], scores: list[float], classes: list[int] | None, iou: float,
               limit: int | None) -> list[int]:
    keep: list[int] = []
    for i in sorted(range(len(boxes)), key=lambda k: -scores[k]):
        a = boxes[i]
        if any((classes is None or classes[j] == classes[i]) and _iou(a, boxes[j]) > iou for j in keep):
            continue
        keep.append(i)
        if limit is not None and len(keep) >= limit:
            break
    return keep


def _iou(a: list[float], b: list[float]) -> float:
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
    `extra` (N, ...) such as keypoints is merged the same way. Returns boxes, scores, extra."""
    order = np.argsort(-np.asarray(scores), kind="stable")
    out_boxes, out_scores, out_extra = [], [], []
    while order.size:
        overlap = iou_matrix(boxes[order[:1]], boxes[order])[0] > iou
        group, order = order[overlap], order[~overlap]
        w = scores[group] / scores[group].sum()
        out_boxes.append((boxes[group] * w[:, None]).sum(0))
        out_scores.append(float(scores[group[0]]))
        if extra is not None:
            out_extra.append(np.tensordot(w, extra[group], axes=1))
    merged = np.asarray(out_extra) if extra is not None else None
    return np.asarray(out_boxes).reshape(-1, 4), np.asarray(out_scores), merged
