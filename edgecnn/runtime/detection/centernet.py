"""edgecnn's own detectors: a CenterNet-style single tensor [1, G, G, C + 4] at stride S:
C class heatmaps (sigmoid), then box width and height as fractions of the input, then the centre's
offset inside its cell (0..1). All outputs live in [0, 1], which is what makes them quantize well;
peaks are local maxima of the heatmap (3x3), so NMS only cleans up rare doubles."""

from __future__ import annotations

import functools
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
        """The same, on the int8 / uint8 output itself: cells over the threshold are found on the
        integers, and with few of them (the usual frame) each is checked for a 3x3 peak and decoded
        in plain Python through a memoryview (no per-frame copy of the map); many go the vectorised
        way. Decoding then costs a small share of an int8 invoke instead of more than half of it."""
        spec = specs[0]
        plan = _plan(spec, opts.threshold, self.classes)
        if plan is None:  # a float output
            return self.decode([raw[0].astype(np.float32)], input_hw, opts)
        bound, gh, gw = plan
        if bound is _NOTHING:  # a threshold over anything the integers can hold
            return Decoded.empty()
        c, width = self.classes, self.classes + 4
        flat = raw[0].reshape(-1)
        # flat indices of heatmap cells at or over the threshold: one compare of the whole map with a
        # per-channel bound (box channels never pass), then nonzero: a third of a gather and compare
        hits = (flat > bound).nonzero()[0] if bound is not None else _heat_index(gh * gw, c, width)
        if not hits.size:  # the usual empty frame: nothing more to do
            return Decoded.empty()
        if hits.size > 64:  # many objects: the vectorised path
            grid = np.ascontiguousarray(flat.reshape(gh, gw, width))
            heat = grid[..., :c]
            heat = heat.view(np.uint8) ^ _SIGN if grid.dtype == np.int8 else np.ascontiguousarray(heat)
            at = hits // width * c + hits % width  # the same cells in the (G, G, C) heatmap
            peaks = at[cv2.dilate(heat, _KERNEL).reshape(-1)[at] == heat.reshape(-1)[at]]
            ys, xs, cls = np.unravel_index(peaks, heat.shape)
            scores = (grid[ys, xs, cls].astype(np.float32) - spec.zero_point) * spec.scale
            return self._boxes(grid.astype(np.float32), ys, xs, cls, scores, spec.scale, spec.zero_point,
                               input_hw, opts)
        values = memoryview(flat)  # signed or unsigned ints, as the tensor holds them
        zero, scale, stride = spec.zero_point, spec.scale, self.stride
        in_h, in_w = input_hw
        up = gw * width  # one row up in the flat map
        rows, scores, classes = [], [], []
        for index in hits.tolist():
            cell, k = divmod(index, width)
            y, x = divmod(cell, gw)
            v = values[index]
            if 0 < y < gh - 1 and 0 < x < gw - 1:  # inside: the 8 neighbours, no bounds checks
                if (values[index - up - width] > v or values[index - up] > v or values[index - up + width] > v
                        or values[index - width] > v or values[index + width] > v
                        or values[index + up - width] > v or values[index + up] > v
                        or values[index + up + width] > v):
                    continue
            elif not _is_peak(values, v, y, x, k, gh, gw, width):
                continue
            at = index - k + c
            w, h = (values[at] - zero) * scale * in_w, (values[at + 1] - zero) * scale * in_h
            cx = (x + (values[at + 2] - zero) * scale) * stride
            cy = (y + (values[at + 3] - zero) * scale) * stride
            score = (v - zero) * scale
            rows.append([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2, score])
            scores.append(score)
            classes.append(k)
        if len(rows) > 1:
            keep = nms_small(rows, scores, classes, opts.iou, opts.max_detections)  # rows: box, then score
            rows, classes = [rows[i] for i in keep], [classes[i] for i in keep]
        elif not rows:
            return Decoded.empty()
        table = np.array(rows, np.float64)  # one array, viewed twice
        return Decoded(table[:, :4], table[:, 4], np.array(classes, np.int64))

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


_NOTHING = np.zeros(0)  # a plan's bound when no integer reaches the threshold


@functools.lru_cache(maxsize=16)
def _plan(spec: TensorSpec, threshold: float, classes: int) -> tuple[np.ndarray | None, int, int] | None:
    """How to find candidate cells in a quantized output: (bound, G, G), where the flat map's
    cells over `bound` are the candidates (None: every class cell is; _NOTHING: none can be).
    None for a float output. Worked out once per output and threshold, not every frame."""
    if not spec.quantized:
        return None
    kind = np.dtype(spec.dtype)
    lowest, highest = int(np.iinfo(kind).min), int(np.iinfo(kind).max)
    gh, gw, width = spec.shape[-3:]
    floor = math.ceil(threshold / spec.scale + spec.zero_point)  # the threshold on the integers
    if floor > highest:
        return _NOTHING, gh, gw
    if floor <= lowest:
        return None, gh, gw
    row = np.full(width, highest, kind)  # box channels: `>` the largest value never passes
    row[:classes] = floor - 1
    bound = np.tile(row, gh * gw)
    bound.flags.writeable = False
    return bound, gh, gw


@functools.lru_cache(maxsize=8)
def _heat_index(cells: int, classes: int, width: int) -> np.ndarray:
    """Where the class channels of a (cells, width) map lie in its flat form."""
    return (np.arange(cells)[:, None] * width + np.arange(classes)).reshape(-1)


def _is_peak(values: memoryview, v: int, y: int, x: int, k: int, gh: int, gw: int, width: int) -> bool:
    """No 3x3 neighbour of heatmap cell (y, x) in class k is higher than `v` (the same rule as a
    3x3 dilation with the edges padded low)."""
    for yy in (y - 1, y, y + 1):
        if 0 <= yy < gh:
            base = yy * gw
            for xx in (x - 1, x, x + 1):
                if 0 <= xx < gw and values[(base + xx) * width + k] > v:
                    return False
    return True


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
