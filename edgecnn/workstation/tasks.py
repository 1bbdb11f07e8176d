"""What a run's model is for (the card's task) and what follows from it: how its images are
prepared, and how quantization's cost is measured. Classifiers are measured by top-1 accuracy;
embedders by verification metrics (`edgecnn face evaluate`), never by an argmax over embedding
dimensions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from edgecnn.card import Card
from edgecnn.errors import EdgeCNNUsageError
from edgecnn.face.detect import cropper_from
from edgecnn.log import get_logger, track
from edgecnn.runtime import Classifier
from edgecnn.workstation.datasets import Transform, load_ids
from edgecnn.workstation.detection.data import load_detections
from edgecnn.workstation.detection.evaluate import coco_map, keras_detections, tflite_detections
from edgecnn.workstation.models import predict
from edgecnn.workstation.run import RunDir

log = get_logger(__name__)


@dataclass(frozen=True)
class Split:
    """Images of one split at the card's input size, and their integer targets (classes or
    identities); detectors carry boxes (x0, y0, x1, y1 in input pixels) and box classes instead."""

    name: str
    images: np.ndarray
    targets: np.ndarray
    boxes: tuple[np.ndarray, ...] = ()
    classes: tuple[np.ndarray, ...] = ()


def image_transform(card: Card) -> Transform | None:
    """What happens to each image before resizing: face embedders train on detected face crops."""
    cropper = cropper_from(card.sections.get("face_crop"))
    return cropper.transform() if cropper else None


def load_split(run: RunDir, card: Card, name: str, data_override: str | None = None) -> Split:
    """Split `name` ("train", "val" or "test") of a run, prepared as the model was trained."""
    split = run.read_split()
    ids = split["ids"][name]
    if not ids:
        raise EdgeCNNUsageError(f"the {name} split of {run.path} is empty")
    spec, pre = card.input, card.preprocessing
    source = data_override or split["source"]
    if card.task == "detector":
        return _detection_split(source, name, ids, card)
    images, targets = load_ids(source, ids, list(card.labels), spec.height,
                               spec.width, pre.color, pre.resize, image_transform(card))
    return Split(name, images, targets)


def _detection_split(source: str, name: str, ids: list[str], card: Card) -> Split:
    det = load_detections(source, card.input.height, card.input.width, card.preprocessing.color)
    if det.labels != card.labels:
        raise EdgeCNNUsageError(f"{source} has the classes {', '.join(det.labels)}; the model knows "
                                f"{', '.join(card.labels)}")
    where = {image_id: i for i, image_id in enumerate(det.ids)}
    if not all(i in where for i in ids):
        log.info(f"{source} does not hold the recorded {name} split; evaluating on all its {len(det.ids)} images")
        pick = np.arange(len(det.ids))
    else:
        pick = np.array([where[i] for i in ids])
    part = det.subset(pick)
    return Split(name, part.images, np.zeros(len(pick), np.int64), part.boxes, part.classes)


class Measure(Protocol):
    """A quality figure of a model on a split (higher is better), in [0, 1]."""

    name: str

    def of_keras(self, model: Any, card: Card, split: Split) -> float: ...

    def of_tflite(self, path: Path, card: Card, split: Split) -> float: ...


class TopOne:
    """Top-1 accuracy of class scores."""

    name = "top-1"

    def of_keras(self, model: Any, card: Card, split: Split) -> float:
        return self.of_scores(predict(model, split.images, card.preprocessing), split.targets)

    def of_tflite(self, path: Path, card: Card, split: Split) -> float:
        return self.of_scores(tflite_scores(path, split.images), split.targets)

    @staticmethod
    def of_scores(scores: np.ndarray, targets: np.ndarray) -> float:
        return float((np.asarray(scores).argmax(axis=1) == targets).mean())


class MapAt50:
    """COCO mAP@.5 of a detector."""

    name = "mAP@.5"

    def of_keras(self, model: Any, card: Card, split: Split) -> float:
        return coco_map(split.boxes, split.classes, keras_detections(model, split.images, card), card.labels).map50

    def of_tflite(self, path: Path, card: Card, split: Split) -> float:
        return coco_map(split.boxes, split.classes, tflite_detections(path, split.images), card.labels).map50


def measure_for(card: Card, why: str) -> Measure:
    """The measure of `card`'s task; a usage error (naming `why`) when the task has none here."""
    if card.task == "classifier":
        return TopOne()
    if card.task == "detector":
        return MapAt50()
    if card.task == "embedding":
        raise EdgeCNNUsageError(f"{why} measures top-1 accuracy, which means nothing for a face embedder "
                                "(its outputs are embedding dimensions, not classes); quantize without it "
                                "and measure with `edgecnn face evaluate --model RUN --data PEOPLE_DIR`")
    raise EdgeCNNUsageError(f"{why} does not support {card.task} models")


def tflite_scores(path: Path, images: np.ndarray, threads: int | None = None,
                  check: Callable[[Classifier], Any] | None = None,
                  label: str | None = None) -> np.ndarray:
    """Output vectors of a .tflite on `images`, through the device runtime (as the device runs it)."""
    clf = Classifier(path, threads=threads)
    if check is not None:
        check(clf)
    items = track(images, len(images), label) if label else images
    return np.stack([clf.scores(img) for img in items])
