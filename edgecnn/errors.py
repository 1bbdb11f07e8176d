"""The one error family of edgecnn.

Messages say what is wrong and how to fix it. The CLI prints them as one line:
`EdgeCNNUsageError` exits with code 2, every other `EdgeCNNError` with code 1.
"""

from __future__ import annotations

import os
import stat
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path


class EdgeCNNError(Exception):
    """A failure the user or the world caused: printed as one line, exit code 1."""

    exit_code = 1


class EdgeCNNUsageError(EdgeCNNError):
    """Bad arguments or options: printed as one line, exit code 2."""

    exit_code = 2


class BudgetExceeded(EdgeCNNError):
    """A measured quantity missed its budget (for instance quantization accuracy drop)."""

    exit_code = 1


class NoBetterThanChance(EdgeCNNError):
    """A classifier scores no better than guessing (or below the accuracy asked for)."""

    exit_code = 1


def check_regular(path: str | Path, what: str, error: type[EdgeCNNError] = EdgeCNNError) -> None:
    """`error` unless `path` is a regular file (a FIFO would hang a reader, a device never ends)."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise error(f"{what} not found: {path}") from None
    except OSError as exc:
        raise error(f"cannot read {what} {path}: {exc.strerror}") from None
    if stat.S_ISDIR(mode):
        raise error(f"{path} is a folder, not a {what} file")
    if not stat.S_ISREG(mode):
        raise error(f"{path} is not a regular file (a FIFO, device or socket); give a {what} file")


def read_file(path: str | Path, what: str, error: type[EdgeCNNError] = EdgeCNNError) -> bytes:
    """The bytes of `path`; `error` with one clear line when it is missing, a folder, not a regular
    file or unreadable."""
    check_regular(path, what, error)
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError as exc:
        raise error(f"cannot read {what} {path}: {exc.strerror}") from None


class SourceError(EdgeCNNError):
    """A camera, stream, video or folder cannot be opened."""
