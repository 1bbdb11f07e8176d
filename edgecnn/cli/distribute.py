"""Options shared by the training commands for training on several processes or machines, and the
hand-over to the local launcher (`--workers N`). TensorFlow-free."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import click

from edgecnn.cli.common import Finite
from edgecnn.errors import EdgeCNNUsageError

LAUNCHER_ONLY = ("--workers", "--restarts", "--distribute")
MODES = ("auto", "none", "mirrored", "multiworker")  # --distribute


def distribute_options(f: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed([
        click.option("--distribute", type=click.Choice(MODES), default="auto", show_default=True,
                     help="How to spread training: none (one process); mirrored (this machine's GPUs); "
                          "multiworker (the cluster in the TF_CONFIG variable, one process per machine); "
                          "auto: multiworker when TF_CONFIG is set, mirrored with several GPUs, else none."),
        click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
                     help="Start this many worker processes on this machine (127.0.0.1, free ports) and "
                          "train across them; one run folder, written by worker 0."),
        click.option("--restarts", type=click.IntRange(0, 100), default=3, show_default=True,
                     help="With --workers: start the workers again this many times when one dies; "
                          "they resume from the last finished epoch."),
        click.option("--connect-timeout", type=Finite(1, 86400), default=120.0, show_default=True,
                     help="Seconds to wait for the other workers of the cluster to answer."),
    ]):
        f = option(f)
    return f


def launch_workers(workers: int, restarts: int, distribute: str, global_batch: int) -> bool:
    """With --workers N > 1: run N local workers on this command and exit with their code; else False
    (after checking TF_CONFIG, so a malformed one is answered before TensorFlow loads)."""
    from edgecnn.workstation.distribute.cluster import read_tf_config  # TensorFlow-free

    if workers <= 1:
        read_tf_config()
        return False
    if distribute not in ("auto", "multiworker"):
        raise EdgeCNNUsageError(f"--workers starts multiworker training; it cannot go with --distribute {distribute}")
    if global_batch % workers:
        raise EdgeCNNUsageError(f"--batch-size {global_batch} is the global batch: it must divide evenly among "
                                f"the {workers} workers")
    from edgecnn.workstation.distribute.launch import run_workers

    argv = click.get_current_context().find_root().obj["argv"]
    sys.exit(run_workers(_without(argv, LAUNCHER_ONLY), workers, restarts))


def _without(argv: list[str], options: tuple[str, ...]) -> list[str]:
    """`argv` without the given options and their values (`--opt V` or `--opt=V`)."""
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg in options:
            skip = True
        elif not arg.startswith(tuple(f"{o}=" for o in options)):
            out.append(arg)
    return out
