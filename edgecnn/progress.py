"""A small progress bar on stderr: redrawn in place on a terminal, a few lines in a log."""

from __future__ import annotations

import sys
import time
from typing import Iterable, Iterator, TypeVar

T = TypeVar("T")
_quiet = False


def set_quiet(quiet: bool) -> None:
    """Silence every progress bar (the CLI's --quiet and --json)."""
    global _quiet
    _quiet = quiet


class Progress:
    """Progress of `total` steps; `update(n, info)` advances, `close()` finishes the line."""

    def __init__(self, total: int, label: str, width: int = 28) -> None:
        self.total, self.label, self.width = max(int(total), 1), label, width
        self.done, self.info = 0, ""
        self.start = time.perf_counter()
        self.tty = sys.stderr.isatty()
        self._next_log = 0.0
        self._closed = False
        self._logged = -1

    def update(self, n: int = 1, info: str = "") -> None:
        self.done = min(self.done + n, self.total)
        self.info = info or self.info
        if _quiet:
            return
        frac = self.done / self.total
        if self.tty:
            sys.stderr.write("\r" + self._line(frac) + "\x1b[K")
            sys.stderr.flush()
        elif frac >= self._next_log or self.done == self.total:
            self._log_line()
            self._next_log = frac + 0.25

    def _log_line(self) -> None:
        sys.stderr.write(self._line(self.done / self.total) + "\n")
        sys.stderr.flush()
        self._logged = self.done

    def _line(self, frac: float) -> str:
        filled = int(round(frac * self.width))
        bar = "#" * filled + "-" * (self.width - filled)
        secs = time.perf_counter() - self.start
        info = f"  {self.info}" if self.info else ""
        return f"{self.label} [{bar}] {self.done}/{self.total} {secs:5.1f}s{info}"

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if _quiet:
            return
        if self.tty:
            sys.stderr.write("\n")
            sys.stderr.flush()
        elif self._logged != self.done:
            self._log_line()


def track(items: Iterable[T], total: int, label: str) -> Iterator[T]:
    """Iterate over `items` with a progress bar."""
    bar = Progress(total, label)
    try:
        for item in items:
            yield item
            bar.update()
    finally:
        bar.close()


def info(message: str) -> None:
    """A status line on stderr (silenced with the progress bars)."""
    if not _quiet:
        sys.stderr.write(message + "\n")
        sys.stderr.flush()


def warn(message: str) -> None:
    """A warning line on stderr; never silenced."""
    sys.stderr.write(message + "\n")
    sys.stderr.flush()
