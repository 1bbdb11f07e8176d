"""Non-maximum suppression in numpy: greedy (per class) and weighted (BlazeFace's merge)."""

from __future__ import annotations

import numpy as np

from edgecnn.runtime.detection.boxes import iou_matrix


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float, limit: int | None = None) -> np.ndarray:
    """Indices of the boxes kept by greedy NMS, best score first."""
    order = np.argsort(-np.asarray(scores), kind="stable")
    keep: list[int] = []
    while order.size and (limit is None or len(keep) < limit):
        best, order = order[0], order[1:]
        keep.append(int(best))
        if order.size:
            order = order[iou_matrix(boxes[best:best + 1], boxes[order])[0] <= iou]
    return np.asarray(keep, dtype=np.int64)


def batched_nms(boxes: np.ndarray, scores: np.ndarray, classes: np.ndarray, iou: float,
                limit: int | None = None) -> np.ndarray:
    """NMS within each class only (boxes of different classes never suppress each other)."""
    if not len(boxes):
        return np.zeros(0, dtype=np.int64)
    shift = (np.asarray(classes, np.float64) * (float(np.abs(boxes).max()) + 1.0))[:, None]
    return nms(boxes + shift, scores, iou, limit)


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
