"""MediaPipe BlazeFace face detectors: regressors [1, N, 16] (box centre offset and size, then 6
keypoints, all in input pixels relative to an SSD anchor) and classificators [1, N, 1] (logits).
Short range (128 x 128, N = 896): anchors on a 16 x 16 grid (2 a cell) and an 8 x 8 grid (6 a cell);
full range (192 x 192, N = 2304): one anchor a cell on a 48 x 48 grid. Anchor centres sit at
(i + 0.5) / grid of the input, sizes are fixed. Overlapping faces are merged by weighted NMS
(MediaPipe's, IoU 0.3), keypoints with them. The input is the frame padded to a square, RGB in [-1, 1]."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from edgecnn.card import Card, Preprocessing
from edgecnn.runtime.detection.layouts import Decoded, DecodeOptions, family
from edgecnn.runtime.detection.nms import weighted_nms
from edgecnn.runtime.tensors import TensorSpec

# anchors per model: (cells per side, anchors per cell) for each grid, in the model's output order
ANCHOR_GRIDS: dict[int, tuple[tuple[int, int], ...]] = {896: ((16, 2), (8, 6)), 2304: ((48, 1),)}
KEYPOINTS = ("right eye", "left eye", "nose tip", "mouth", "right ear", "left ear")
MERGE_IOU = 0.3  # MediaPipe's weighted-NMS overlap for its face detectors
MAX_CANDIDATES = 512  # the best-scored anchors that go to weighted NMS
LOGIT_CLIP = 100.0  # MediaPipe clips the logits to +-100 before the sigmoid (only the low side matters)


def anchor_centres(grids: tuple[tuple[int, int], ...]) -> np.ndarray:
    """(N, 2) anchor centres x, y as fractions of the input, row by row, cell by cell."""
    parts = []
    for cells, per_cell in grids:
        c = (np.arange(cells, dtype=np.float64) + 0.5) / cells
        y, x = np.meshgrid(c, c, indexing="ij")
        parts.append(np.repeat(np.stack([x.ravel(), y.ravel()], axis=-1), per_cell, axis=0))
    return np.concatenate(parts)


@dataclass(frozen=True)
class BlazeFaceDecoder:
    """Decodes one BlazeFace variant; `regressors` / `scores` are the output positions."""

    anchors: np.ndarray = field(repr=False, compare=False)  # (N, 2) centres, fractions of the input
    regressors: int = 0
    scores: int = 1
    name: str = "MediaPipe BlazeFace"
    fit: str = "letterbox"
    classes: int = 1
    background: bool = False
    labels: tuple[str, ...] = ("face",)
    keypoint_names: tuple[str, ...] = KEYPOINTS
    preprocessing: Preprocessing = field(default_factory=lambda: Preprocessing(
        scale=1.0, mean=(127.5, 127.5, 127.5), std=(127.5, 127.5, 127.5), color="rgb", resize="bilinear"))

    def decode(self, outputs: list[np.ndarray], input_hw: tuple[int, int], opts: DecodeOptions) -> Decoded:
        logits = outputs[self.scores].reshape(-1)
        # sigmoid(x) >= t  <=>  x >= logit(t): select before computing any sigmoid
        keep = np.flatnonzero(logits >= _logit(opts.threshold))
        if not keep.size:
            return Decoded.empty()
        if keep.size > MAX_CANDIDATES:  # weighted NMS compares all pairs: bound it (a very low threshold)
            keep = keep[np.argpartition(-logits[keep], MAX_CANDIDATES)[:MAX_CANDIDATES]]
        reg = outputs[self.regressors].reshape(-1, 16)[keep].astype(np.float64)
        centres = self.anchors[keep] * np.array([input_hw[1], input_hw[0]], dtype=np.float64)  # x, y, input pixels
        scores = 1.0 / (1.0 + np.exp(-np.maximum(logits[keep].astype(np.float64), -LOGIT_CLIP)))
        xy, half = centres + reg[:, 0:2], reg[:, 2:4] / 2
        boxes = np.concatenate([xy - half, xy + half], axis=1)
        points = centres[:, None, :] + reg[:, 4:16].reshape(-1, 6, 2)
        sound = np.isfinite(reg.sum(axis=1)) & (half > 0).all(axis=1)  # no face: NaN, inf or no size
        if not sound.all():
            boxes, scores, points = boxes[sound], scores[sound], points[sound]
        boxes, scores, merged = weighted_nms(boxes, scores, MERGE_IOU, points)
        n = min(opts.max_detections, len(boxes))
        return Decoded(boxes[:n], scores[:n], np.zeros(n, dtype=np.int64), None if merged is None else merged[:n])


def _logit(p: float) -> float:
    """The logit whose sigmoid is p (-inf / +inf at 0 / 1)."""
    if p <= 0.0:
        return -np.inf
    if p >= 1.0:
        return np.inf
    return float(np.log(p / (1.0 - p)))


@family("MediaPipe BlazeFace (two outputs: regressors [1, 896 or 2304, 16] and classificators [1, N, 1])")
def recognise(outputs: list[TensorSpec], card: Card | None) -> BlazeFaceDecoder | None:
    if len(outputs) != 2:
        return None
    shapes = [o.shape for o in outputs]
    for reg, cls in ((0, 1), (1, 0)):
        n = shapes[reg][1] if len(shapes[reg]) == 3 else 0
        if n in ANCHOR_GRIDS and shapes[reg] == (1, n, 16) and shapes[cls] == (1, n, 1):
            return BlazeFaceDecoder(anchor_centres(ANCHOR_GRIDS[n]), reg, cls)
    return None
