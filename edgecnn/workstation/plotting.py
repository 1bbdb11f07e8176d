"""Helpers the report writers share: tables (Markdown that renders whatever the cells hold, aligned
text for the terminal), file sizes, and matplotlib on the non-interactive Agg backend."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any


def md_cell(text: object) -> str:
    """A table cell's text with Markdown's table syntax escaped (| and line breaks)."""
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def md_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    """A Markdown table that renders whatever the cells hold."""
    out = ["| " + " | ".join(md_cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(md_cell(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def text_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    """A plain aligned table for the terminal."""
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=True)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join(fmt.format(*r) for r in [header, *rows])


def size_text(path: Path) -> str:
    return f"{path.stat().st_size / 1024:.1f} kB" if path.exists() else "-"


def png_bytes(fig: Any) -> bytes:
    """Render a matplotlib figure to PNG bytes and close it."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return buf.getvalue()


def pyplot() -> Any:
    """matplotlib.pyplot on the non-interactive Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt
