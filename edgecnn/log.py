"""Messages and progress bars for people, on stderr.

Library code logs through `get_logger(__name__)` and never prints; the CLI calls `setup()` once.
Neither `logging` nor click is imported until something is said or a bar is drawn, so a cold
`edgecnn classify` that has nothing to report never loads them (they are 2 MB and 13 ms of its
start-up). Progress bars are click's (with an ETA), drawn on stderr and hidden in quiet mode (--json).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

from edgecnn.text import printable

T = TypeVar("T")
ROOT = "edgecnn"
_quiet = False
_debug = False
_set_up = False  # setup() was called
_applied = False  # and its handler and level have reached the logging module
_completed: list[str] = []


class Logger:
    """What `get_logger` gives: a logging.Logger's methods (info, warning, ...), with `logging`
    imported and the CLI's setup applied at the first call."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __getattr__(self, attr: str) -> Any:
        return getattr(_logger(self.name), attr)


def get_logger(name: str) -> Logger:
    """The logger for an edgecnn module (`get_logger(__name__)`)."""
    return Logger(name)


def _logger(name: str) -> Any:
    import logging

    if _set_up and not _applied:
        _apply()
    return logging.getLogger(name)


def setup(debug: bool = False, quiet: bool = False, lazy: bool = False) -> None:
    """Send edgecnn's log to stderr: INFO and up (WARNING and up when quiet, DEBUG with --debug).
    `lazy`: leave `logging` unimported until the first message (the quick classify path)."""
    global _set_up, _applied
    _set_up, _applied = True, False
    set_quiet(quiet, debug)
    if not lazy or "logging" in sys.modules:
        _apply()


def _apply() -> None:
    import logging

    class StderrHandler(logging.StreamHandler):
        """Writes to whatever sys.stderr is when a record arrives (tests and the CLI swap it)."""

        def __init__(self) -> None:
            super().__init__(sys.stderr)

        @property  # type: ignore[override]
        def stream(self) -> Any:
            return sys.stderr

        @stream.setter
        def stream(self, value: Any) -> None:  # StreamHandler.__init__ assigns it; we follow sys.stderr
            pass

    class Formatter(logging.Formatter):
        """The message alone (control characters escaped); warnings start with "warning: " once."""

        def format(self, record: logging.LogRecord) -> str:
            message = printable(record.getMessage())
            if record.levelno >= logging.WARNING and not message.startswith("warning:"):
                message = f"warning: {message}"
            return message

    global _applied
    _applied = True
    logger = logging.getLogger(ROOT)
    if not any(getattr(h, "edgecnn", False) for h in logger.handlers):
        handler = StderrHandler()
        handler.edgecnn = True  # type: ignore[attr-defined]
        handler.setFormatter(Formatter())
        logger.addHandler(handler)
    logger.propagate = False
    _set_level()


def _set_level() -> None:
    import logging

    level = logging.DEBUG if _debug else logging.WARNING if _quiet else logging.INFO
    logging.getLogger(ROOT).setLevel(level)


def set_quiet(quiet: bool, debug: bool = False) -> None:
    """Quiet: only warnings and errors, no progress bars (machine output on stdout stays clean)."""
    global _quiet, _debug
    _quiet, _debug = quiet, debug
    if _applied:
        _set_level()


def is_quiet() -> bool:
    return _quiet


def completed(step: str) -> None:
    """Record a durable step that has finished (a file renamed into place, a transaction committed),
    so an interruption can say what did happen."""
    _completed.append(step)
    if _debug or "logging" in sys.modules:
        get_logger(ROOT).debug(f"done: {step}")


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
    import click

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
