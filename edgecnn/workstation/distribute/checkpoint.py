"""Where an interrupted distributed run resumes: after each epoch the chief writes the values of the
model's and the optimizer's variables to RUN_DIR/.resume/weights-EPOCH.npz (plain arrays: loading
them creates no variable, so every worker runs the same collective ops), then state.json (the epoch, the
history and which weights file goes with them) to a temporary name renamed into place; older weights
go only after that. A crash at any point leaves a state.json and the weights it names. A run of other
settings never resumes from it."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from edgecnn import atomic
from edgecnn.log import get_logger

log = get_logger(__name__)
FOLDER = ".resume"


def fingerprint(settings: dict[str, Any]) -> str:
    """The settings a checkpoint belongs to (data, model, training options, number of replicas)."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:16]


class ResumePoint:
    def __init__(self, run_dir: str | Path, settings: dict[str, Any], chief: bool) -> None:
        self.folder = Path(run_dir) / FOLDER
        self.key = fingerprint(settings)
        self.chief = chief

    def weights(self, state: dict[str, Any]) -> Path:
        """The weights file that goes with `state` (a file name inside the folder, never a path)."""
        return self.folder / Path(str(state.get("weights", ""))).name

    def load(self) -> dict[str, Any] | None:
        """The saved state (epoch, history, learning rate) when it belongs to these settings."""
        state_file = self.folder / "state.json"
        try:
            state = json.loads(state_file.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            log.warning(f"ignoring the unreadable checkpoint {state_file} ({exc}); starting over")
            return None
        if state.get("settings") != self.key or not self.weights(state).is_file():
            log.warning(f"the checkpoint in {self.folder} was made with other settings; starting over")
            return None
        return state

    def arrays(self, state: dict[str, Any], variables: list[Any]) -> list[np.ndarray] | None:
        """The saved values for `variables` (same order), or None when they do not fit them."""
        try:
            with np.load(self.weights(state), allow_pickle=False) as saved:
                values = [saved[f"arr_{i}"] for i in range(len(saved.files))]
        except (OSError, ValueError, KeyError) as exc:
            log.warning(f"ignoring the unreadable checkpoint {self.weights(state)} ({exc}); starting over")
            return None
        if [v.shape for v in values] != [tuple(var.shape) for var in variables]:
            log.warning(f"the checkpoint in {self.folder} holds other variables than this model; starting over")
            return None
        return values

    def save(self, variables: list[Any], epoch: int, history: dict[str, list[float]], learning_rate: float) -> None:
        if not self.chief:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        name = f"weights-{epoch}.npz"
        with atomic.atomic_path(self.folder / name, suffix=".npz") as tmp:
            np.savez(tmp, *[np.asarray(v) for v in variables])
        atomic.write_json(self.folder / "state.json", {"settings": self.key, "epoch": epoch, "history": history,
                                                      "learning_rate": learning_rate, "weights": name})
        atomic.fsync_dir(self.folder)
        for old in self.folder.glob("weights-*.npz"):
            if old.name != name:
                old.unlink(missing_ok=True)

    def clear(self) -> None:
        if self.chief:
            shutil.rmtree(self.folder, ignore_errors=True)
