"""The run folder: the unit that moves between train, quantize and parity."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgecnn.card import Card
from edgecnn.errors import EdgeCNNError, EdgeCNNUsageError

# Files a training run owns; retraining into the same folder removes the stale ones.
RUN_ARTIFACTS = ("model.keras", "card.json", "split.json", "train_history.json")
DERIVED_GLOBS = ("model_*.tflite", "parity.json", "parity.md", "parity_*.png", "quant_layers.*")


@dataclass(frozen=True)
class RunDir:
    """Paths inside one run folder."""

    path: Path

    @property
    def model(self) -> Path:
        return self.path / "model.keras"

    @property
    def card(self) -> Path:
        return self.path / "card.json"

    @property
    def split(self) -> Path:
        return self.path / "split.json"

    def tflite_models(self) -> list[Path]:
        """model_*.tflite files, float32 first, then the rest by name."""
        found = sorted(self.path.glob("model_*.tflite"))
        return sorted(found, key=lambda p: (p.name != "model_float32.tflite", p.name))

    def require_trained(self) -> Card:
        """The run's card; a clear error when the folder holds no trained model."""
        if not self.path.exists():
            raise EdgeCNNUsageError(f"run folder not found: {self.path}")
        if not self.path.is_dir():
            raise EdgeCNNUsageError(f"{self.path} is not a run folder")
        if not self.model.is_file() or not self.card.is_file():
            raise EdgeCNNError(f"{self.path} holds no trained model (model.keras + card.json); "
                               f"run `edgecnn train DATA --out {self.path}` first")
        return Card.load(self.card)

    def read_split(self) -> dict[str, Any]:
        try:
            split = json.loads(self.split.read_text(encoding="utf-8"))
            _ = split["ids"]["train"], split["ids"]["test"], split["source"]
            return split
        except (OSError, ValueError, KeyError, TypeError):
            raise EdgeCNNError(f"{self.split} is missing or damaged; retrain the run") from None

    def clear_derived(self) -> None:
        """Remove artifacts derived from an older model (tflite files, parity reports)."""
        for pattern in DERIVED_GLOBS:
            for p in self.path.glob(pattern):
                p.unlink()


def load_split_images(run: RunDir, card: Card, name: str,
                      data_override: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Images and targets of split `name` ("train", "val" or "test") at the card's input size."""
    from edgecnn.dataset import load_ids
    from edgecnn.face.detect import cropper_from

    split = run.read_split()
    ids = split["ids"][name]
    if not ids:
        raise EdgeCNNError(f"the {name} split of {run.path} is empty")
    source = data_override or split["source"]
    spec, pre = card.input, card.preprocessing
    cropper = cropper_from(card.sections.get("face_crop"))  # face embedders train on detected crops
    return load_ids(source, ids, list(card.labels), spec.height, spec.width, pre.color, pre.resize,
                    cropper.transform() if cropper else None)
