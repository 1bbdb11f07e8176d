"""YOLO single-tensor models (Ultralytics YOLOv8 / v11 TFLite exports): one output [1, 4 + C, N] or
[1, N, 4 + C], each of the N candidates a centre-size box (cx, cy, w, h) followed by C class scores
(already sigmoided). Current exports give boxes normalised to [0, 1], older ones in input pixels;
the decoder tells them apart per frame from the largest box value over all N candidates. NMS runs
per class in numpy; the input is the letterboxed frame scaled to [0, 1]."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from edgecnn.card import Card, Preprocessing
from edgecnn.runtime.detection.boxes import centre_to_corners
from edgecnn.runtime.detection.layouts import Decoded, DecodeOptions, family
from edgecnn.runtime.detection.nms import batched_nms
from edgecnn.runtime.tensors import TensorSpec

NORMALISED_MAX = 2.0  # normalised boxes stay below this; pixel boxes of any real input go far above it
CANDIDATES_PER_DETECTION = 30  # NMS sees at most this many candidates per allowed detection


@dataclass(frozen=True)
class YoloDecoder:
    """`classes` class scores after the 4 box values; `channels_first` for [1, 4 + C, N]."""

    classes: int
    channels_first: bool
    name: str = "YOLO single tensor (Ultralytics)"
    fit: str = "letterbox"
    background: bool = False
    preprocessing: Preprocessing = field(default_factory=lambda: Preprocessing(
        scale=1.0 / 255.0, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0), color="rgb", resize="bilinear"))

    def decode(self, outputs: list[np.ndarray], input_hw: tuple[int, int], opts: DecodeOptions) -> Decoded:
        out = outputs[0].reshape(outputs[0].shape[-2:])
        table = out if self.channels_first else out.T  # (4 + C, N): rows are views, no copy
        scores = table[4:].max(axis=0)  # the best class of each candidate (argmax only for the few kept)
        keep = np.flatnonzero(scores >= opts.threshold)
        if not keep.size:
            return Decoded.empty()
        cap = CANDIDATES_PER_DETECTION * opts.max_detections
        if keep.size > cap:
            keep = keep[np.argpartition(-scores[keep], cap)[:cap]]
        picked = table[:, keep].astype(np.float64)  # (4 + C, K)
        if float(np.abs(table[:4]).max()) <= NORMALISED_MAX:
            picked[:4] *= np.array([input_hw[1], input_hw[0], input_hw[1], input_hw[0]], np.float64)[:, None]
        boxes = centre_to_corners(picked[0], picked[1], picked[2], picked[3])
        scores, classes = scores[keep].astype(np.float64), picked[4:].argmax(axis=0)
        chosen = batched_nms(boxes, scores, classes, opts.iou, opts.max_detections)
        return Decoded(boxes[chosen], scores[chosen], classes[chosen])


@family("YOLO single tensor (Ultralytics YOLOv8/v11: one output [1, 4 + classes, N] or [1, N, 4 + classes], "
        "centre-size boxes then class scores)")
def recognise(outputs: list[TensorSpec], card: Card | None) -> YoloDecoder | None:
    if len(outputs) != 1 or len(outputs[0].shape) != 3 or outputs[0].shape[0] != 1:
        return None
    if card is not None and card.task == "detector":  # edgecnn's own detectors say their format on the card
        return None
    _, a, b = outputs[0].shape
    channels_first = a <= b  # N candidates (8400 at 640 px) outnumber 4 + C; a tie reads as Ultralytics' default
    width = a if channels_first else b
    if width < 5:
        return None
    return YoloDecoder(width - 4, channels_first)
