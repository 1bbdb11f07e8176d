"""Labels files: "one label per line" or "index label", matched to a model's outputs."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from edgecnn.errors import EdgeCNNError

if TYPE_CHECKING:
    from pathlib import Path

_INDEXED = re.compile(r"^\s*(\d+)[\s:,]+(\S.*?)\s*$")


def read_labels(path: str | Path) -> dict[int, str]:
    """Parse a labels file into {index: label}."""
    try:
        with open(path, encoding="utf-8") as fh:
            lines = [ln.rstrip("\r\n") for ln in fh.read().splitlines()]
    except FileNotFoundError:
        raise EdgeCNNError(f"labels file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise EdgeCNNError(f"cannot read labels file {path}: {exc}") from None
    lines = [ln for ln in lines if ln.strip()]
    if not lines:
        raise EdgeCNNError(f"labels file {path} is empty")
    matches = [_INDEXED.match(ln) for ln in lines]
    if all(matches):
        table = {int(m.group(1)): m.group(2) for m in matches if m}
        if len(table) == len(lines):
            return table
    return {i: ln.strip() for i, ln in enumerate(lines)}


def labels_for_outputs(table: dict[int, str], outputs: int, source: str) -> tuple[str, ...]:
    """One label per output. A list one shorter than the outputs means index 0 is background."""
    count = len(table)
    contiguous = sorted(table) == list(range(count))
    if contiguous and count == outputs:
        return tuple(table[i] for i in range(outputs))
    if contiguous and count == outputs - 1:
        return ("background",) + tuple(table[i] for i in range(count))
    if not contiguous and max(table) < outputs:
        return tuple(table.get(i, str(i)) for i in range(outputs))
    raise EdgeCNNError(f"{source} has {count} labels but the model has {outputs} outputs "
                       f"(expected {outputs}, or {outputs - 1} when index 0 is background)")
