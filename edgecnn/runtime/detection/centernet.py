"""edgecnn's own detectors: a CenterNet-style single tensor [1, G, G, C + 4] at stride S:
C class heatmaps (sigmoid), then box width and height as fractions of the input, then the centre's
offset inside its cell (0..1). All outputs live in [0, 1], which is what makes them quantize well;
peaks are local maxima of the heatmap (3x3), so NMS only cleans up rare doubles."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from edgecnn.card import Card
from edgecnn.runtime.detection.boxes import centre_to_corners
from edgecnn.runtime.detection.layouts import Decoded, DecodeOptions, family
from edgecnn.runtime.detection.nms import batched_nms, nms_small
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
        heat = out[..., : self.classes]
        ys, xs, cls = np.nonzero((heat >= opts.threshold) & (heat == local_max(heat)))
        return self._boxes(out, ys, xs, cls, heat[ys, xs, cls], 1.0, 0, input_hw, opts)

    def decode_quantized(self, raw: list[np.ndarray], specs: Sequence[TensorSpec], input_hw: tuple[int, int],
                         opts: DecodeOptions) -> Decoded:
        """The same, on the int8 / uint8 output itself: peaks are found on the integers (a 3x3
        dilation in OpenCV) and only the few winners are dequantized, in plain Python. Decoding then
        costs a small share of an int8 invoke instead of more than half of it."""
        spec = specs[0]
        if not spec.quantized:
            return self.decode([raw[0].astype(np.float32)], input_hw, opts)
        c = self.classes
        grid = raw[0].reshape(raw[0].shape[-3:])
        offset = 128 if grid.dtype == np.int8 else 0
        # int8 -> uint8 keeping the order (OpenCV dilates uint8); the result is contiguous
        heat = grid[..., :c].view(np.uint8) ^ _SIGN if offset else np.ascontiguousarray(grid[..., :c])
        flat = heat.reshape(-1)
        floor = max(0, math.ceil(opts.threshold / spec.scale + spec.zero_point) + offset)
        candidates = np.flatnonzero(flat >= floor)
        if not candidates.size:  # the usual frame: nothing there, no dilation needed
            return Decoded.empty()
        peaks = candidates[cv2.dilate(heat, _KERNEL).reshape(-1)[candidates] == flat[candidates]]
        if peaks.size > 32:  # many objects: the vectorised path
            ys, xs, cls = np.unravel_index(peaks, heat.shape)
            scores = (flat[peaks].astype(np.float32) - spec.zero_point - offset) * spec.scale
            return self._boxes(grid.astype(np.float32), ys, xs, cls, scores, spec.scale, spec.zero_point,
                               input_hw, opts)
        zero, scale, stride = spec.zero_point + offset, spec.scale, self.stride
        in_h, in_w = input_hw
        gw = heat.shape[1]
        rows = grid.reshape(-1, c + 4)
        boxes, scores, classes = [], [], []
        for index, value in zip(peaks.tolist(), flat[peaks].tolist(), strict=True):
            cell, k = divmod(index, c)
            y, x = divmod(cell, gw)
            w, h, dx, dy = ((v - spec.zero_point) * scale for v in rows[cell, c:].tolist())
            cx, cy, w, h = (x + dx) * stride, (y + dy) * stride, w * in_w, h * in_h
            boxes.append([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])
            scores.append((value - zero) * scale)
            classes.append(k)
        keep = nms_small(boxes, scores, classes, opts.iou, opts.max_detections) if len(boxes) > 1 else [0]
        return Decoded(np.array([boxes[i] for i in keep], np.float64).reshape(-1, 4),
                       np.array([scores[i] for i in keep], np.float64), np.array([classes[i] for i in keep], np.int64))

    def _boxes(self, out: np.ndarray, ys: np.ndarray, xs: np.ndarray, cls: np.ndarray, scores: np.ndarray,
               scale: float, zero: int, input_hw: tuple[int, int], opts: DecodeOptions) -> Decoded:
        if not ys.size:
            return Decoded.empty()
        if scores.size > 4 * opts.max_detections:  # keep the work per frame bounded
            top = np.argpartition(-scores, 4 * opts.max_detections)[: 4 * opts.max_detections]
            ys, xs, cls, scores = ys[top], xs[top], cls[top], scores[top]
        c = self.classes
        box = (out[ys, xs, c:c + 4].astype(np.float32) - zero) * scale  # w, h, offset x, offset y
        in_h, in_w = input_hw
        boxes = centre_to_corners((xs + box[:, 2]) * self.stride, (ys + box[:, 3]) * self.stride,
                                  box[:, 0] * in_w, box[:, 1] * in_h)
        keep = batched_nms(boxes, scores, cls, opts.iou, opts.max_detections)
        return Decoded(boxes[keep], scores[keep], cls[keep].astype(np.int64))


_KERNEL = np.ones((3, 3), np.uint8)
_SIGN = np.uint8(128)


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
