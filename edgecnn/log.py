"""Messages and progress bars for people, on stderr.

Library code logs through `logging.getLogger(__name__)` and never prints; the CLI calls `setup()`
once. Progress bars are click's (with an ETA), drawn on stderr and hidden in quiet mode (--json).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

import click

from edgecnn.text import printable

T = TypeVar("T")
ROOT = "edgecnn"
_quiet = False
_completed: list[str] = []


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is when a record arrives (tests and the CLI swap it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:  # StreamHandler.__init__ assigns it; we always follow sys.stderr
        pass


class _Formatter(logging.Formatter):
    """The message alone (control characters escaped); warnings start with "warning: " once."""

    def format(self, record: logging.LogRecord) -> str:
        message = printable(record.getMessage())
        if record.levelno >= logging.WARNING and not message.startswith("warning:"):
            message = f"warning: {message}"
        return message


def setup(debug: bool = False, quiet: bool = False) -> None:
    """Send edgecnn's log to stderr: INFO and up (WARNING and up when quiet, DEBUG with --debug)."""
    logger = logging.getLogger(ROOT)
    if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
        handler = _StderrHandler()
        handler.setFormatter(_Formatter())
        logger.addHandler(handler)
    logger.propagate = False
    set_quiet(quiet, debug)


def set_quiet(quiet: bool, debug: bool = False) -> None:
    """Quiet: only warnings and errors, no progress bars (machine output on stdout stays clean)."""
    global _quiet
    _quiet = quiet
    level = logging.DEBUG if debug else logging.WARNING if quiet else logging.INFO
    logging.getLogger(ROOT).setLevel(level)


def is_quiet() -> bool:
    return _quiet


def completed(step: str) -> None:
    """Record a durable step that has finished (a file renamed into place, a transaction committed),
    so an interruption can say what did happen."""
    _completed.append(step)
    logging.getLogger(ROOT).debug(f"done: {step}")


def completed_steps() -> list[str]:
    return list(_completed)


def forget_completed() -> None:
    """A new command starts: nothing of it has been done yet."""
    _completed.clear()


class _NoBar:
    """What `bar()` yields in quiet mode."""

    def update(self, n_steps: int, current_item: Any = None) -> None:
        pass


@contextlib.contextmanager
def bar(length: int, label: str, show: Any = None) -> Iterator[Any]:
    """A click progress bar of `length` steps on stderr (`.update(n, item)`); `show(item)` -> text."""
    if _quiet:
        yield _NoBar()
        return
    with click.progressbar(length=max(int(length), 1), label=label, file=sys.stderr, show_eta=True,
                           show_pos=True, item_show_func=show) as progress:
        yield progress


def track(items: Iterable[T], length: int, label: str) -> Iterator[T]:
    """Iterate over `items` with a progress bar."""
    with bar(length, label) as progress:
        for item in items:
            yield item
            progress.update(1)


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Hide what C++ libraries print on file descriptor 2 (TensorFlow's converter, the interpreter's
    XNNPACK banner); `--debug` (EDGECNN_DEBUG=1) lets it through."""
    if os.environ.get("EDGECNN_DEBUG") == "1":
        yield
        return
    try:
        sys.stderr.flush()
        saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    except OSError:  # no usable fd 2 (embedded interpreters): leave stderr alone
        yield
        return
    os.dup2(devnull, 2)
    python_stderr = sys.stderr
    try:
        if python_stderr.fileno() == 2:  # our own messages and progress bars keep the terminal
            sys.stderr = open(os.dup(saved), "w", buffering=1, encoding=python_stderr.encoding,  # noqa: SIM115
                              errors="backslashreplace")
    except (AttributeError, OSError, ValueError):  # a stand-in stderr without a descriptor
        pass
    try:
        yield
    finally:
        if sys.stderr is not python_stderr:
            sys.stderr.close()
            sys.stderr = python_stderr
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
