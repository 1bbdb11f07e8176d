"""`--help` works for every command and says what the command does."""

from __future__ import annotations

import click
import pytest

from edgecnn.cli import cli
from edgecnn.cli.app import COMMANDS


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = []
    items = group.load_all() if hasattr(group, "load_all") else group.commands
    for name, cmd in items.items():
        out.append(prefix + (name,))
        if isinstance(cmd, click.Group):
            out += _commands(cmd, prefix + (name,))
    return out


def test_expected_commands_exist() -> None:
    assert {"train", "quantize", "parity", "classify", "quickstart"} <= set(cli.load_all())


def test_lazy_command_table_names_every_command() -> None:
    """app.COMMANDS is the lazy group's table: each name is defined by the modules it lists, and no
    module defines a top-level command the table does not name."""
    assert set(cli.load_all()) == set(COMMANDS)


@pytest.mark.parametrize("path", [()] + _commands(cli))
def test_help(run_cli, path: tuple[str, ...]) -> None:
    r = run_cli(*path, "--help")
    assert r.code == 0, r.err
    assert "Usage: edgecnn" in r.out
    command: click.Command = cli
    cli.load_all()
    for name in path:
        command = command.commands[name]  # type: ignore[attr-defined]
    assert (command.help or "").split("\n")[0].strip()[:30] in " ".join(r.out.split())


def test_unknown_command_is_one_line(run_cli) -> None:
    r = run_cli("trian")
    assert r.code == 2
    assert r.err.count("error:") == 1 and "trian" in r.err
