"""The click group and the entry point that turns user errors into one line and an exit code.

Errors a user or the world can cause end in one red line on stderr and exit code 2 (usage) or
1 (failure); `--debug` shows the traceback.
"""

from __future__ import annotations

import errno
import importlib
import os
import sys
from typing import NoReturn

import click

from edgecnn import __version__, log
from edgecnn.errors import EdgeCNNError
from edgecnn.text import printable

# command -> the modules that define it (and its subcommands). Only those are imported when it runs:
# `edgecnn classify` never pays for the camera, face or workstation commands' option tables.
COMMANDS: dict[str, tuple[str, ...]] = {
    "train": ("edgecnn.cli.train",),
    "quantize": ("edgecnn.cli.workstation",),
    "parity": ("edgecnn.cli.workstation",),
    "quickstart": ("edgecnn.cli.workstation",),
    "classify": ("edgecnn.cli.device",),
    "inspect": ("edgecnn.cli.device",),
    "bench": ("edgecnn.cli.device",),
    "detect": ("edgecnn.cli.camera",),
    "edgetpu": ("edgecnn.cli.edgetpu",),
    "face": ("edgecnn.cli.face", "edgecnn.cli.face_device"),
}


class LazyGroup(click.Group):
    """A click group that imports a command's module only when that command is asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(COMMANDS) | set(self.commands))

    def get_command(self, ctx: click.Context | None, cmd_name: str) -> click.Command | None:
        for module in COMMANDS.get(cmd_name, ()):
            importlib.import_module(module)  # registers the command on `cli`
        return self.commands.get(cmd_name)

    def load_all(self) -> dict[str, click.Command]:
        """Every command, imported (for help listings and tests)."""
        for name in COMMANDS:
            self.get_command(None, name)
        return dict(self.commands)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="edgecnn")
@click.option("--debug", is_flag=True, help="Show full tracebacks and TensorFlow's own logging.")
def cli(debug: bool) -> None:
    """edgecnn: a small CNN from a workstation onto a Raspberry Pi or Coral Edge TPU.

    \b
    Workstation:  train -> quantize -> parity   (needs pip install 'edgecnn[train]')
    Device:       classify, inspect, bench, detect   (numpy + OpenCV + LiteRT only)
    Edge TPU:     edgetpu check, edgetpu compile
    Faces:        face train, evaluate, demo; face enroll, verify, unlock, list, remove
    All at once:  quickstart
    """
    if debug:
        os.environ["EDGECNN_DEBUG"] = "1"
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "0")
    log.setup(debug=debug)


def _debug(argv: list[str]) -> bool:
    return "--debug" in argv or os.environ.get("EDGECNN_DEBUG") == "1"


def _fail(message: str, code: int) -> NoReturn:
    click.secho(f"error: {printable(message)}", fg="red", err=True)
    sys.exit(code)


def _interrupted() -> str:
    done = log.completed_steps()
    what = f" after {'; '.join(done[-3:])}" if done else ""
    return f"interrupted{what}; nothing half-written was left behind"


def _caused_by_interrupt(exc: BaseException | None) -> bool:
    seen = 0
    while exc is not None and seen < 20:
        if isinstance(exc, KeyboardInterrupt):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def main(argv: list[str] | None = None) -> None:
    """Run the click group, turning user errors into one line and an exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    log.forget_completed()
    try:
        code = cli.main(args=argv, prog_name="edgecnn", standalone_mode=False, obj={"argv": argv})
    except (Exception, KeyboardInterrupt) as exc:
        exit_for(exc, argv)
    sys.exit(code if isinstance(code, int) else 0)


def exit_for_quick(exc: BaseException, argv: list[str]) -> NoReturn:
    """`exit_for` for the quick classify path, after doing what click's own main does first:
    Ctrl-C (or EOF) ends the ^C echo with a line break and becomes Abort, and a reader that went
    away (EPIPE: `edgecnn classify ... | head -1`) ends quietly with exit code 1."""
    if isinstance(exc, (KeyboardInterrupt, EOFError)):
        click.echo(file=sys.stderr)
        try:
            raise click.exceptions.Abort() from exc
        except click.exceptions.Abort as abort:
            exit_for(abort, argv)
    if isinstance(exc, OSError) and exc.errno == errno.EPIPE:
        from click.utils import PacifyFlushWrapper  # what click wraps the streams in, so exit stays quiet

        sys.stdout = PacifyFlushWrapper(sys.stdout)  # type: ignore[assignment]
        sys.stderr = PacifyFlushWrapper(sys.stderr)  # type: ignore[assignment]
        sys.exit(1)
    exit_for(exc, argv)


def exit_for(exc: BaseException, argv: list[str]) -> NoReturn:
    """One line and the exit code for an error a user or the world caused; anything else (and
    everything with --debug, but click's usage errors) is raised again."""
    debug = _debug(argv)
    if isinstance(exc, (click.exceptions.Abort, KeyboardInterrupt)):  # click turns Ctrl-C into Abort
        if not debug:
            _fail(_interrupted(), 130)
    elif isinstance(exc, SystemError):  # TensorFlow wraps a Ctrl-C inside its callbacks in a SystemError
        if not debug and _caused_by_interrupt(exc):
            _fail(_interrupted(), 130)
    elif isinstance(exc, click.ClickException):
        ctx = getattr(exc, "ctx", None)
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        _fail(exc.format_message() + hint, exc.exit_code)
    elif isinstance(exc, EdgeCNNError) and not debug:
        _fail(str(exc), exc.exit_code)
    elif isinstance(exc, OSError) and not debug:  # disk full, permission denied while writing an artifact
        _fail(f"{exc.strerror or exc}{': ' + str(exc.filename) if exc.filename else ''}", 1)
    raise exc
