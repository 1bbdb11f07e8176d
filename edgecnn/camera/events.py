"""Where events go. An event is a frozen dataclass with `to_dict()`; a sink is anything with
`emit(event)`. JSON lines (stdout or a file) serve detect and face unlock alike; the web view keeps
the recent ones; snapshots are JPEG files beside them."""

from __future__ import annotations

import json
import sys
import tempfile
from collections import deque
from pathlib import Path
from typing import IO, Any, Protocol

from edgecnn import atomic
from edgecnn.errors import EdgeCNNError
from edgecnn.text import safe_filename


class Event(Protocol):
    def to_dict(self) -> dict[str, Any]: ...


class EventSink(Protocol):
    def emit(self, event: Event) -> None: ...


class JsonLines:
    """Each event as one flushed JSON line, on stdout or appended to `path`."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.stream: IO[str] = sys.stdout
        self._own = False
        if path and str(path) != "-":
            try:
                self.stream = atomic.open_append(path)
            except OSError as exc:
                raise EdgeCNNError(f"cannot write events to {path}: {exc.strerror}") from None
            self._own = True

    def emit(self, event: Event) -> None:
        self.stream.write(json.dumps(event.to_dict()) + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self._own:
            self.stream.close()


class RecentEvents:
    """The latest `keep` events as dicts (newest first) for the web view, and how many there were."""

    def __init__(self, keep: int = 20) -> None:
        self.latest: deque[dict[str, Any]] = deque(maxlen=keep)
        self.count = 0

    def emit(self, event: Event) -> None:
        self.latest.appendleft(event.to_dict())
        self.count += 1


class Snapshots:
    """JPEG files in one folder. Names come from untrusted text (labels): only letters, digits,
    '.', '_' and '-' survive, so every file lands inside the folder whatever the label holds."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=self.folder):  # writable? (root ignores mode bits: try it)
                pass
        except OSError as exc:
            raise EdgeCNNError(f"cannot write snapshots to {self.folder}: {exc.strerror}") from None

    def save(self, *parts: object) -> Path:
        """Write `jpeg` (the last part) as PART1_PART2_....jpg."""
        *words, jpeg = parts
        path = self.folder / ("_".join(safe_filename(str(w)) for w in words) + ".jpg")
        try:
            atomic.write_bytes(path, jpeg)  # type: ignore[arg-type]
        except OSError as exc:
            raise EdgeCNNError(f"cannot write snapshots to {self.folder}: {exc.strerror}") from None
        return path


class Fanout:
    """Several sinks as one."""

    def __init__(self, *sinks: EventSink) -> None:
        self.sinks = sinks

    def emit(self, event: Event) -> None:
        for sink in self.sinks:
            sink.emit(event)
