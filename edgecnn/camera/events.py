"""Where events go: JSON lines on stdout or a file, and optional JPEG snapshots."""

from __future__ import annotations

import json
import sys
from collections import deque
from pathlib import Path
from typing import IO, Any

from edgecnn import atomic
from edgecnn.camera.smoothing import Event
from edgecnn.errors import EdgeCNNError


class EventSink:
    """Writes each event as one JSON line (flushed), keeps the latest for the web view."""

    def __init__(self, path: str | None, snapshots: str | None, keep: int = 20) -> None:
        self.latest: deque[dict[str, Any]] = deque(maxlen=keep)
        self.count = 0
        self.snapshots = Path(snapshots) if snapshots else None
        self._own = False
        self.stream: IO[str] = sys.stdout
        try:
            if path and path != "-":
                self.stream = open(path, "a", encoding="utf-8")  # noqa: SIM115 (closed in close())
                self._own = True
            if self.snapshots:
                self.snapshots.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise EdgeCNNError(f"cannot write events to {exc.filename}: {exc.strerror}") from None

    def emit(self, event: Event, jpeg: bytes | None) -> dict[str, Any]:
        record = event.to_dict()
        if self.snapshots and jpeg:
            name = f"{event.frame:08d}_{event.kind}_{event.label or event.previous}.jpg"
            atomic.write_bytes(self.snapshots / name, jpeg)
            record["snapshot"] = str(self.snapshots / name)
        self.stream.write(json.dumps(record) + "\n")
        self.stream.flush()
        self.latest.appendleft(record)
        self.count += 1
        return record

    def close(self) -> None:
        if self._own:
            self.stream.close()
