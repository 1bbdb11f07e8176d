"""Where events go. An event is a frozen dataclass with `to_dict()`; a sink is anything with
`emit(event)`. JSON lines (stdout or a file) serve detect and face unlock alike; the web view keeps
the recent ones; snapshots are JPEG files beside them."""

from __future__ import annotations

import json
import sys
import tempfile
import threading
import time
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
    """The latest `keep` events for the web view (newest first), each with the wall-clock `time` it
    was seen (Unix seconds) and, when one was given, the path of its thumbnail; and how many there
    were. The loop writes, the HTTP threads read: a lock keeps them apart."""

    def __init__(self, keep: int = 20) -> None:
        self.latest: deque[dict[str, Any]] = deque(maxlen=keep)
        self.thumbs: dict[int, bytes] = {}
        self.count = 0
        self.lock = threading.Lock()

    def emit(self, event: Event, thumb: bytes = b"") -> None:
        with self.lock:
            self.count += 1
            item = {**event.to_dict(), "seq": self.count, "time": round(time.time(), 3)}
            if thumb:
                item["thumbnail"] = f"/thumb/{self.count}.jpg"
                self.thumbs[self.count] = thumb
            self.latest.appendleft(item)
            oldest = self.latest[-1]["seq"]
            for seq in [s for s in self.thumbs if s < oldest]:
                del self.thumbs[seq]

    def items(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.latest)

    def thumbnail(self, seq: int) -> bytes | None:
        with self.lock:
            return self.thumbs.get(seq)


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
