"""The `edgecnn` command: a click group whose commands import their modules lazily.

Device commands never import TensorFlow; workstation commands import it inside their callbacks,
after their arguments are checked (so a wrong path is answered at once). A plain `edgecnn classify`
command line runs without importing click at all (edgecnn.cli.classify says why and how).
"""

from __future__ import annotations

import sys
from typing import Any

from edgecnn import log
from edgecnn.cli.classify import parse_quick, run_classify


def main(argv: list[str] | None = None) -> None:
    """Entry point: run `edgecnn ARGS`, turning user errors into one line and an exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    request = parse_quick(argv)
    if request is None:
        from edgecnn.cli.app import main as click_main

        click_main(argv)
        return
    log.forget_completed()
    log.setup(lazy=True)
    try:
        run_classify(**request)
    except (Exception, KeyboardInterrupt) as exc:
        from edgecnn.cli.app import exit_for_quick

        exit_for_quick(exc, argv)
    sys.exit(0)


def __getattr__(name: str) -> Any:
    if name == "cli":  # the click group, imported only when asked for
        from edgecnn.cli.app import cli

        return cli
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["cli", "main"]
