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
from edgecnn.log import track
from edgecnn.runtime import Classifier
from edgecnn.workstation.datasets import Transform, load_ids
from edgecnn.workstation.run import RunDir


@dataclass(frozen=True)
class Split:
    """Images of one split at the card's input size, and their integer targets."""

    name: str
    images: np.ndarray
    targets: np.ndarray


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
    images, targets = load_ids(data_override or split["source"], ids, list(card.labels), spec.height,
                               spec.width, pre.color, pre.resize, image_transform(card))
    return Split(name, images, targets)


class Measure(Protocol):
    """A quality figure of a model on a split (higher is better), in [0, 1]."""

    name: str

    def of_scores(self, scores: np.ndarray, targets: np.ndarray) -> float: ...


class TopOne:
    """Top-1 accuracy of class scores."""

    name = "top-1"

    def of_scores(self, scores: np.ndarray, targets: np.ndarray) -> float:
        return float((np.asarray(scores).argmax(axis=1) == targets).mean())


def measure_for(card: Card, why: str) -> Measure:
    """The measure of `card`'s task; a usage error (naming `why`) when the task has none here."""
    if card.task == "classifier":
        return TopOne()
    if card.task == "embedding":
        raise EdgeCNNUsageError(f"{why} measures top-1 accuracy, which means nothing for a face embedder "
                                "(its outputs are embedding dimensions, not classes); quantize without it "
                                "and measure with `edgecnn face evaluate --model RUN --data PEOPLE_DIR`")
    raise EdgeCNNUsageError(f"{why} does not support {card.task} models yet")


def tflite_scores(path: Path, images: np.ndarray, threads: int | None = None,
                  check: Callable[[Classifier], Any] | None = None,
                  label: str | None = None) -> np.ndarray:
    """Output vectors of a .tflite on `images`, through the device runtime (as the device runs it)."""
    clf = Classifier(path, threads=threads)
    if check is not None:
        check(clf)
    items = track(images, len(images), label) if label else images
    return np.stack([clf.scores(img) for img in items])
