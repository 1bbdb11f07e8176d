"""Detection accuracy: COCO mAP from the maintained evaluator (pycocotools), and how closely the
int8 model's boxes follow the float model's."""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgecnn.card import Card
from edgecnn.errors import EdgeCNNError
from edgecnn.log import track
from edgecnn.runtime.detection.boxes import iou_matrix
from edgecnn.runtime.detection.centernet import CenterNetDecoder
from edgecnn.runtime.detection.detector import ObjectDetector
from edgecnn.runtime.detection.layouts import Decoded, DecodeOptions
from edgecnn.workstation.detection.model import predict_raw

EVAL_OPTIONS = DecodeOptions(threshold=0.05, iou=0.5, max_detections=100)  # what mAP is measured with
SHOW_THRESHOLD = 0.3  # detections that count for agreement and plots


@dataclass(frozen=True)
class DetectionMetrics:
    """COCO mAP@[.5:.95] and mAP@.5 over the classes, and AP@.5 per class (None: no such object)."""

    map: float
    map50: float
    per_class_ap50: dict[str, float | None]


def keras_detections(model: Any, images: np.ndarray, card: Card, opts: DecodeOptions = EVAL_OPTIONS
                     ) -> list[Decoded]:
    """The float model's detections, decoded by the same numpy decoder the device runs."""
    section = card.sections["detector"]
    decoder = CenterNetDecoder(int(section["classes"]), int(section["stride"]))
    raw = predict_raw(model, images, card.preprocessing)
    return [decoder.decode([r], images.shape[1:3], opts) for r in raw]


def tflite_detections(path: Path, images: np.ndarray, opts: DecodeOptions = EVAL_OPTIONS,
                      label: str | None = None, threads: int | None = None) -> list[Decoded]:
    """A .tflite's detections through the device runtime (images already at the input size)."""
    det = ObjectDetector(path, threads, threshold=opts.threshold, iou=opts.iou, max_detections=opts.max_detections)
    out = []
    for image in track(images, len(images), label) if label else images:
        found = det.detect(image)
        out.append(Decoded(np.array([d.box for d in found]).reshape(-1, 4), np.array([d.score for d in found]),
                           np.array([d.index for d in found], np.int64)))
    return out


def coco_map(boxes: tuple[np.ndarray, ...], classes: tuple[np.ndarray, ...], found: list[Decoded],
             labels: tuple[str, ...]) -> DetectionMetrics:
    """mAP of `found` against the ground truth, computed by pycocotools' COCOeval."""
    try:
        from pycocotools.coco import COCO
        from pycocotools.cocoeval import COCOeval
    except ImportError:
        raise EdgeCNNError("detection metrics need pycocotools: pip install 'edgecnn[train]'") from None
    gt = {"images": [{"id": i} for i in range(len(boxes))], "categories": [{"id": k} for k in range(len(labels))],
          "annotations": [{"id": n, "image_id": i, "category_id": int(c), "bbox": _xywh(b), "area": _area(b),
                           "iscrowd": 0}
                          for n, (i, b, c) in enumerate(((i, b, c) for i in range(len(boxes))
                                                         for b, c in zip(boxes[i], classes[i], strict=True)), 1)]}
    dets = [{"image_id": i, "category_id": int(c), "bbox": _xywh(b), "score": float(s)}
            for i, d in enumerate(found) for b, s, c in zip(d.boxes, d.scores, d.classes, strict=True)]
    if not dets:
        return DetectionMetrics(0.0, 0.0, dict.fromkeys(labels, 0.0))
    with contextlib.redirect_stdout(io.StringIO()):
        truth = COCO()
        truth.dataset = gt
        truth.createIndex()
        evaluation = COCOeval(truth, truth.loadRes(dets), "bbox")
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    precision = evaluation.eval["precision"][0, :, :, 0, -1]  # IoU .5, all recalls, classes, all areas, 100
    per_class = {}
    for k, name in enumerate(labels):
        p = precision[:, k]
        per_class[name] = float(p[p > -1].mean()) if (p > -1).any() else None
    return DetectionMetrics(float(max(evaluation.stats[0], 0)), float(max(evaluation.stats[1], 0)), per_class)


def box_agreement(reference: list[Decoded], other: list[Decoded],
                  threshold: float = SHOW_THRESHOLD) -> tuple[float, float]:
    """Share of the reference's detections (score >= threshold) matched by one of `other` of the
    same class at IoU >= 0.5, and the mean IoU of those matches."""
    matched, total, ious = 0, 0, []
    for a, b in zip(reference, other, strict=True):
        ka, kb = a.scores >= threshold, b.scores >= threshold
        for box, cls in zip(a.boxes[ka], a.classes[ka], strict=True):
            total += 1
            same = b.boxes[kb][b.classes[kb] == cls]
            best = float(iou_matrix(box[None], same).max()) if len(same) else 0.0
            if best >= 0.5:
                matched += 1
                ious.append(best)
    return (matched / total if total else 1.0), (float(np.mean(ious)) if ious else 0.0)


def _xywh(b: np.ndarray) -> list[float]:
    return [float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])]


def _area(b: np.ndarray) -> float:
    return float((b[2] - b[0]) * (b[3] - b[1]))
