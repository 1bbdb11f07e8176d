"""`edgecnn parity` on a detector: COCO mAP of the float model and of every .tflite (through the
device runtime) on the held-out test split, per-class AP change, and box agreement with float."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgecnn.card import Card
from edgecnn.errors import BudgetExceeded
from edgecnn.runtime.detection.layouts import Decoded
from edgecnn.workstation.detection.evaluate import (
    DetectionMetrics,
    box_agreement,
    coco_map,
    keras_detections,
    tflite_detections,
)
from edgecnn.workstation.models import load_keras
from edgecnn.workstation.tasks import Split

PRIMARY = "model_int8.tflite"


@dataclass(frozen=True)
class ModelDetectionParity:
    """One .tflite against the float model."""

    map: float
    map50: float
    drop_pp: float  # on mAP@.5
    agreement: float  # float detections matched by this model (same class, IoU >= .5)
    mean_iou: float
    per_class_ap50: dict[str, float | None]
    per_class_delta_pp: dict[str, float | None]


@dataclass(frozen=True)
class DetectionParityReport:
    n: int
    labels: tuple[str, ...]
    float_metrics: DetectionMetrics
    models: dict[str, ModelDetectionParity]
    primary: str
    max_drop_pp: float
    detections: dict[str, list[Decoded]]  # for the plots; not in the JSON
    images: Any = None  # the test images, for the plots

    @property
    def quantized(self) -> ModelDetectionParity:
        return self.models[self.primary]

    @property
    def drop_pp(self) -> float:
        return round(self.quantized.drop_pp, 4)

    @property
    def passed(self) -> bool:
        return bool(self.drop_pp <= self.max_drop_pp)

    def to_dict(self) -> dict[str, Any]:
        f = self.float_metrics
        return {"task": "detector", "n": self.n, "labels": list(self.labels),
                "float": {"model": "model.keras", "map": f.map, "map50": f.map50, "per_class_ap50": f.per_class_ap50},
                "quantized": {"model": self.primary, **dataclasses.asdict(self.quantized)},
                "drop_pp": self.drop_pp, "max_drop_pp": self.max_drop_pp, "passed": self.passed,
                "models": {name: dataclasses.asdict(m) for name, m in self.models.items()}}

    def verdict(self) -> str:
        q = self.quantized
        return (f"{'passed' if self.passed else 'FAILED'}: mAP@.5 drop {self.drop_pp:.2f} pp (budget "
                f"{self.max_drop_pp:.2f} pp; float {self.float_metrics.map50:.4f}, {self.primary} {q.map50:.4f}), "
                f"box agreement {q.agreement * 100:.1f} % (mean IoU {q.mean_iou:.3f}) on {self.n} test images")

    def check(self, run_dir: Path) -> None:
        if not self.passed:
            raise BudgetExceeded(f"{self.primary} mAP@.5 drop {self.drop_pp:.2f} pp exceeds --max-drop "
                                 f"{self.max_drop_pp:.2f} pp; see {run_dir / 'parity.md'}")


def detection_parity(run_model: Path, tflites: list[Path], card: Card, test: Split, max_drop: float,
                     threads: int | None = None) -> DetectionParityReport:
    reference = keras_detections(load_keras(run_model), test.images, card)
    float_m = coco_map(test.boxes, test.classes, reference, card.labels)
    detections, models = {"float": reference}, {}
    for path in tflites:
        found = tflite_detections(path, test.images, label=f"evaluating {path.name}", threads=threads)
        m = coco_map(test.boxes, test.classes, found, card.labels)
        agreement, mean_iou = box_agreement(reference, found)
        delta = {k: None if m.per_class_ap50[k] is None or float_m.per_class_ap50[k] is None
                 else (m.per_class_ap50[k] - float_m.per_class_ap50[k]) * 100 for k in card.labels}
        models[path.name] = ModelDetectionParity(m.map, m.map50, (float_m.map50 - m.map50) * 100, agreement, mean_iou,
                                                 m.per_class_ap50, delta)
        detections[path.name] = found
    primary = PRIMARY if PRIMARY in models else sorted(n for n in models if n != "model_float32.tflite")[0]
    return DetectionParityReport(len(test.images), card.labels, float_m, models, primary, float(max_drop),
                                 detections, test.images)
