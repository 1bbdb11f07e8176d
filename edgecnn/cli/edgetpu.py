"""`edgecnn edgetpu check|compile`: Edge TPU readiness without TensorFlow."""

from __future__ import annotations

import platform
import shutil
import subprocess
from pathlib import Path

import click

from edgecnn.cli.app import cli
from edgecnn.cli.common import emit_json
from edgecnn.text import printable_lines

COMPILER_HOWTO = (
    "edgetpu_compiler is not on PATH. It runs on x86-64 Debian/Ubuntu only: add Coral's apt "
    "repository (see deploy/coral/README.md) and `sudo apt-get install edgetpu-compiler`, "
    "or compile on an x86-64 Linux machine and copy the *_edgetpu.tflite back"
)


@cli.group()
def edgetpu() -> None:
    """Edge TPU readiness: check a .tflite op by op, or compile it with edgetpu_compiler."""


@edgetpu.command()
@click.argument("model", type=click.Path(dir_okay=False, path_type=str))
@click.option("--all", "show_all", is_flag=True, help="List every operator, not only the failing ones.")
@click.option("--json", "as_json", is_flag=True, help="Print the per-op table as JSON.")
def check(model: str, show_all: bool, as_json: bool) -> None:
    """Say, per operator, whether edgetpu_compiler can map MODEL to the Edge TPU and where the
    graph would split. Exit code 0 when the whole model maps, 1 when it does not."""
    from edgecnn.runtime.edgetpu_check import check_model, format_check

    report = check_model(model)
    if as_json:
        emit_json(report.to_dict())
    else:
        click.echo(printable_lines(format_check(report, show_all)))
    if not report.ready:
        raise SystemExit(1)


@edgetpu.command()
@click.argument("model", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out-dir", type=click.Path(file_okay=False, path_type=Path), help="Default: beside MODEL.")
def compile(model: Path, out_dir: Path | None) -> None:
    """Run edgetpu_compiler on MODEL (after a readiness check) when it is installed."""
    from edgecnn.errors import EdgeCNNError
    from edgecnn.runtime.edgetpu_check import check_model, format_check

    report = check_model(model)
    if not report.fully_mappable:
        click.echo(format_check(report), err=True)
        click.echo("warning: the compiler will leave part of this model to the CPU", err=True)
    compiler = shutil.which("edgetpu_compiler")
    if compiler is None:
        machine = f" (this machine is {platform.system()} {platform.machine()})"
        raise EdgeCNNError(COMPILER_HOWTO + machine)
    out = out_dir or model.parent
    proc = subprocess.run([compiler, "--out_dir", str(out), str(model)], capture_output=True, text=True)
    click.echo(proc.stdout)
    if proc.returncode != 0:
        raise EdgeCNNError(f"edgetpu_compiler failed: {(proc.stderr or proc.stdout).strip().splitlines()[-1:]}")
