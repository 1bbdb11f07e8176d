"""The one error family of edgecnn.

Messages say what is wrong and how to fix it. The CLI prints them as one line:
`EdgeCNNUsageError` exits with code 2, every other `EdgeCNNError` with code 1.
"""

from __future__ import annotations


class EdgeCNNError(Exception):
    """A failure the user or the world caused: printed as one line, exit code 1."""

    exit_code = 1


class EdgeCNNUsageError(EdgeCNNError):
    """Bad arguments or options: printed as one line, exit code 2."""

    exit_code = 2


class BudgetExceeded(EdgeCNNError):
    """A measured quantity missed its budget (for instance quantization accuracy drop)."""

    exit_code = 1
