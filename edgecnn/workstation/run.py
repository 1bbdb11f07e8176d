"""The run folder: the unit that moves between train, quantize and parity."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgecnn.card import Card
from edgecnn.errors import EdgeCNNError, EdgeCNNUsageError

# Files a training run owns; retraining into the same folder removes the stale ones.
RUN_ARTIFACTS = ("model.keras", "card.json", "split.json", "train_history.json", "train_curves.png")
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

    @property
    def finished(self) -> bool:
        """card.json is written last: a run without it was interrupted and holds nothing to keep."""
        return self.card.is_file()

    def check_writable(self, overwrite: bool) -> None:
        """Refuse to replace a trained model unless asked; refuse a path that is a file. An unfinished
        run (killed before its card was written) may be replaced."""
        if self.path.exists() and not self.path.is_dir():
            raise EdgeCNNUsageError(f"--out {self.path} is a file, not a folder")
        if self.finished and self.model.exists() and not overwrite:
            raise EdgeCNNUsageError(f"{self.path} already holds a trained model; pass --overwrite or another --out")

    def require_trained(self) -> Card:
        """The run's card; a clear error when the folder holds no trained model."""
        if not self.path.exists():
            raise EdgeCNNUsageError(f"run folder not found: {self.path}")
        if not self.path.is_dir():
            raise EdgeCNNUsageError(f"{self.path} is not a run folder")
        if self.model.is_file() and not self.finished:
            raise EdgeCNNError(f"{self.path} holds an unfinished run (training was interrupted before card.json "
                               f"was written); train again: `edgecnn train DATA --out {self.path}`")
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
