"""The one error family of edgecnn.

Messages say what is wrong and how to fix it. The CLI prints them as one line:
`EdgeCNNUsageError` exits with code 2, every other `EdgeCNNError` with code 1.
"""

from __future__ import annotations

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


def read_file(path: Path, what: str, error: type[EdgeCNNError] = EdgeCNNError) -> bytes:
    """The bytes of `path`; `error` with one clear line when it is missing, a folder or unreadable."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise error(f"{what} not found: {path}") from None
    except IsADirectoryError:
        raise error(f"{path} is a folder, not a {what} file") from None
    except OSError as exc:
        raise error(f"cannot read {what} {path}: {exc.strerror}") from None
