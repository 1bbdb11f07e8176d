"""SSD post-processed models: the graph ends in the `TFLite_Detection_PostProcess` custom op (Coral's
SSD models, TF Object Detection API, EfficientDet-Lite, Model Maker), which has already decoded the
anchors and run NMS. Its four outputs are boxes [1, N, 4] (ymin, xmin, ymax, xmax, normalised),
classes [1, N] (float class indices, background excluded), scores [1, N] and count [1]."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgecnn.card import Card
from edgecnn.runtime.detection.layouts import Decoded, DecodeOptions, family
from edgecnn.runtime.tensors import TensorSpec


@dataclass(frozen=True)
class SsdPostProcessDecoder:
    """Reads the op's outputs; `order` gives the output positions of boxes, classes, scores, count."""

    order: tuple[int, int, int, int]
    name: str = "SSD post-processed (TFLite_Detection_PostProcess)"
    fit: str = "stretch"
    classes: int = 0  # the op does not say how many classes the model has: a labels file does
    background: bool = True  # TF Object Detection API label lists start with background ("???")

    def decode(self, outputs: list[np.ndarray], input_hw: tuple[int, int], opts: DecodeOptions) -> Decoded:
        boxes, classes, scores, count = (outputs[i] for i in self.order)
        n = int(np.clip(np.round(float(count.reshape(-1)[0])), 0, scores.size))
        boxes, classes, scores = boxes.reshape(-1, 4)[:n], classes.reshape(-1)[:n], scores.reshape(-1)[:n]
        if _whole(scores) and not _whole(classes):  # an exporter that ordered its tensors unusually
            classes, scores = scores, classes
        keep = np.flatnonzero(scores >= opts.threshold)
        keep = keep[np.argsort(-scores[keep], kind="stable")][: opts.max_detections]
        if not keep.size:
            return Decoded.empty()
        in_h, in_w = input_hw
        ymin, xmin, ymax, xmax = (boxes[keep, i].astype(np.float64) for i in range(4))
        corners = np.stack([xmin * in_w, ymin * in_h, xmax * in_w, ymax * in_h], axis=-1)
        return Decoded(corners, scores[keep].astype(np.float64), np.round(classes[keep]).astype(np.int64))


def _whole(values: np.ndarray) -> bool:
    """All values are whole numbers (class indices), and there is at least one."""
    return bool(values.size) and bool(np.all(values == np.round(values)))


@family("SSD post-processed (TFLite_Detection_PostProcess: four outputs boxes [1, N, 4], classes [1, N], "
        "scores [1, N], count [1])")
def recognise(outputs: list[TensorSpec], card: Card | None) -> SsdPostProcessDecoder | None:
    if len(outputs) != 4 or any(o.dtype != np.float32 for o in outputs):
        return None
    boxes = [o for o in outputs if len(o.shape) == 3 and o.shape[0] == 1 and o.shape[2] == 4]
    counts = [o for o in outputs if o.shape in ((1,), (1, 1))]
    if len(boxes) != 1 or len(counts) != 1:
        return None
    n = boxes[0].shape[1]
    rows = sorted((o for o in outputs if o.shape == (1, n)), key=lambda o: o.index)
    if len(rows) != 2:
        return None
    # The op writes boxes, classes, scores, count; converters keep that order in the tensor indices
    # (the output list itself comes in signature order, which differs between exporters).
    position = {o.index: i for i, o in enumerate(outputs)}
    classes, scores = rows
    return SsdPostProcessDecoder((position[boxes[0].index], position[classes.index], position[scores.index],
                                  position[counts[0].index]))
