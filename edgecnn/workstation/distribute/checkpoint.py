"""Where an interrupted distributed run resumes: after each epoch the chief writes the weights (with
the optimizer's state) and the epoch to RUN_DIR/.resume/, each file to a temporary name first and
renamed into place, state.json last. A run of other settings never resumes from it."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

from edgecnn import atomic

log = logging.getLogger(__name__)
FOLDER = ".resume"


def fingerprint(settings: dict[str, Any]) -> str:
    """The settings a checkpoint belongs to (data, model, training options, number of replicas)."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:16]


class ResumePoint:
    def __init__(self, run_dir: str | Path, settings: dict[str, Any], chief: bool) -> None:
        self.folder = Path(run_dir) / FOLDER
        self.key = fingerprint(settings)
        self.chief = chief

    @property
    def weights(self) -> Path:
        return self.folder / "weights.weights.h5"

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
        if state.get("settings") != self.key or not self.weights.is_file():
            log.warning(f"the checkpoint in {self.folder} was made with other settings; starting over")
            return None
        return state

    def save(self, model: Any, epoch: int, history: dict[str, list[float]], learning_rate: float) -> None:
        if not self.chief:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.folder / f".tmp-{os.getpid()}.weights.h5"
        model.save_weights(tmp)  # model and optimizer variables
        os.replace(tmp, self.weights)
        atomic.write_json(self.folder / "state.json", {"settings": self.key, "epoch": epoch, "history": history,
                                                      "learning_rate": learning_rate})
        atomic.fsync_dir(self.folder)

    def clear(self) -> None:
        if self.chief:
            shutil.rmtree(self.folder, ignore_errors=True)
