"""Option parsing helpers shared by the commands (no TensorFlow)."""

from __future__ import annotations

import math
import sys
from typing import Any

import click

from edgecnn import log
from edgecnn.cli.classify import MAX_THREADS
from edgecnn.cli.classify import emit_json as emit_json  # every command prints JSON as classify does
from edgecnn.errors import EdgeCNNUsageError


class Finite(click.FloatRange):
    """A float option that must be finite (nan and inf are refused) and within [min, max]."""

    name = "number"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


THREADS = click.IntRange(1, MAX_THREADS)
SEED = click.IntRange(0, 2**32 - 1)


def parse_size(text: str | None) -> tuple[int | None, int | None]:
    """"64" -> (64, 64); "112x92" -> (112, 92) as height x width; None -> (None, None)."""
    if text is None:
        return None, None
    parts = text.lower().replace("×", "x").split("x")
    try:
        values = [int(p) for p in parts]
    except ValueError:
        values = []
    if len(values) not in (1, 2) or min(values) < 1:
        raise EdgeCNNUsageError(f"--size must be N or HxW in pixels (64, 112x92), got {text!r}")
    return (values[0], values[0]) if len(values) == 1 else (values[0], values[1])


def quiet_for_json(as_json: bool) -> None:
    """Progress goes to stderr anyway; machine mode silences it to keep logs clean."""
    if as_json and not sys.stderr.isatty():
        log.set_quiet(True)
