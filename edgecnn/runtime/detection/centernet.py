"""edgecnn's own detectors: a CenterNet-style single tensor [1, G, G, C + 4] at stride S:
C class heatmaps (sigmoid), then box width and height as fractions of the input, then the centre's
offset inside its cell (0..1). All outputs live in [0, 1], which is what makes them quantize well;
peaks are local maxima of the heatmap (3x3), so NMS only cleans up rare doubles."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgecnn.card import Card
from edgecnn.runtime.detection.boxes import centre_to_corners
from edgecnn.runtime.detection.layouts import Decoded, DecodeOptions, family
from edgecnn.runtime.detection.nms import batched_nms
from edgecnn.runtime.tensors import TensorSpec

FORMAT = "centernet"


@dataclass(frozen=True)
class CenterNetDecoder:
    classes: int
    stride: int
    name: str = "edgecnn CenterNet"
    fit: str = "stretch"
    background: bool = False

    def decode(self, outputs: list[np.ndarray], input_hw: tuple[int, int], opts: DecodeOptions) -> Decoded:
        out = outputs[0].reshape(outputs[0].shape[-3:])  # (G, G, C + 4)
        c = self.classes
        heat = out[..., :c]
        ys, xs, cls = np.nonzero((heat >= opts.threshold) & (heat == local_max(heat)))
        if not ys.size:
            return Decoded.empty()
        scores = heat[ys, xs, cls]
        if scores.size > 4 * opts.max_detections:  # keep the work per frame bounded
            top = np.argpartition(-scores, 4 * opts.max_detections)[: 4 * opts.max_detections]
            ys, xs, cls, scores = ys[top], xs[top], cls[top], scores[top]
        in_h, in_w = input_hw
        w, h = out[ys, xs, c] * in_w, out[ys, xs, c + 1] * in_h
        cx, cy = (xs + out[ys, xs, c + 2]) * self.stride, (ys + out[ys, xs, c + 3]) * self.stride
        boxes = centre_to_corners(cx, cy, w, h)
        keep = batched_nms(boxes, scores, cls, opts.iou, opts.max_detections)
        return Decoded(boxes[keep], scores[keep], cls[keep].astype(np.int64))


def local_max(heat: np.ndarray) -> np.ndarray:
    """The 3x3 maximum around every cell of (H, W, C), edges padded with -inf."""
    padded = np.pad(heat, ((1, 1), (1, 1), (0, 0)), constant_values=-np.inf)
    h, w = heat.shape[:2]
    out = heat.copy()
    for dy in range(3):
        for dx in range(3):
            np.maximum(out, padded[dy:dy + h, dx:dx + w], out=out)
    return out


@family("edgecnn CenterNet detector (card section 'detector': one output [1, G, G, classes + 4])")
def recognise(outputs: list[TensorSpec], card: Card | None) -> CenterNetDecoder | None:
    if card is None or card.task != "detector" or card.sections.get("detector", {}).get("format") != FORMAT:
        return None
    section = card.sections["detector"]
    shape = outputs[0].shape
    classes, stride = int(section.get("classes", len(card.labels))), int(section.get("stride", 4))
    if len(outputs) != 1 or len(shape) != 4 or shape[-1] != classes + 4:
        return None
    return CenterNetDecoder(classes, stride)
