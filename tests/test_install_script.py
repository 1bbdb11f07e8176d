"""deploy/pi/install.sh: what it installs from where, and its refusals (one line, non-zero exit,
nothing changed). Cheap: --dry-run, or stand-in apt/getconf/uname commands on PATH; the real
install runs in the emulated Pi (deploy/pi/emulate.sh, in CI)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import REPO

SCRIPT = REPO / "deploy" / "pi" / "install.sh"


def _shims(folder: Path, **commands: str) -> Path:
    """Executables named after the keys whose body is the value (sh); they log their arguments."""
    folder.mkdir(exist_ok=True)
    for name, body in commands.items():
        path = folder / name
        path.write_text(f'#!/bin/sh\necho "{name} $*" >> "{folder}/calls.log"\n{body}\n')
        path.chmod(0o755)
    return folder


def _run(*args: str, script: Path = SCRIPT, shims: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if shims is not None:
        env["PATH"] = f"{shims}:{env['PATH']}"
    return subprocess.run(["bash", str(script), *args], capture_output=True, text=True, env=env, timeout=60)


def _one_line(proc: subprocess.CompletedProcess, code: int, *fragments: str) -> str:
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("install.sh: "), proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def test_help_names_every_option() -> None:
    proc = _run("--help")
    assert proc.returncode == 0
    for option in ("--from", "--prefix", "--picamera", "--dry-run", "LONG_BIT"):
        assert option in proc.stdout


@pytest.mark.parametrize("args,fragment", [
    (["--version", "0.1.0"], "unknown option --version"),
    (["--from"], "--from needs a value"),
    (["--prefix", ""], "--prefix needs a value"),
    (["--prefix", "relative/dir"], "absolute path"),
])
def test_bad_usage_is_one_line_exit_2(args: list[str], fragment: str) -> None:
    _one_line(_run(*args), 2, fragment)


def test_from_a_checkout_by_default() -> None:
    proc = _run("--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert f"edgecnn from: checkout {REPO}" in proc.stdout
    assert "LiteRT" in proc.stdout


def test_from_a_wheel_or_a_folder_holding_one(tmp_path: Path) -> None:
    wheel = tmp_path / "edgecnn-0.1.0-py3-none-any.whl"
    wheel.write_bytes(b"")
    assert f"edgecnn from: {wheel}" in _run("--dry-run", "--from", str(wheel)).stdout
    assert f"edgecnn from: {wheel}" in _run("--dry-run", "--from", str(tmp_path)).stdout
    (tmp_path / "edgecnn-0.2.0-py3-none-any.whl").write_bytes(b"")
    _one_line(_run("--dry-run", "--from", str(tmp_path)), 1, "2 edgecnn wheels")


@pytest.mark.parametrize("name", ["nosuch", "empty", "notes.txt"])
def test_from_nothing_installable(tmp_path: Path, name: str) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes.txt").write_text("x")
    _one_line(_run("--dry-run", "--from", str(tmp_path / name)), 1, f"--from {tmp_path / name}")


def test_outside_a_checkout_it_asks_for_a_wheel(tmp_path: Path) -> None:
    copy = tmp_path / "install.sh"
    shutil.copy(SCRIPT, copy)
    _one_line(_run("--dry-run", script=copy), 1, "not run from an edgecnn checkout", "--from")


# Stand-ins for everything that would change the machine: a call means the script went too far.
_FORBIDDEN = dict.fromkeys(("python3", "ln", "mkdir", "mktemp"), "exit 97")


def test_32_bit_userland_on_a_64_bit_kernel_stops_first(tmp_path: Path) -> None:
    """A Pi 4/5 under 32-bit Raspberry Pi OS: uname -m says aarch64, the userland is 32-bit."""
    shims = _shims(tmp_path / "bin", getconf="echo 32", uname="echo aarch64", **{"apt-get": "exit 0"},
                   **_FORBIDDEN)
    line = _one_line(_run("--from", str(REPO), shims=shims), 1, "32-bit", "aarch64", "64-bit Raspberry Pi OS")
    assert "source" in line
    assert "apt-get" not in (shims / "calls.log").read_text()


def test_picamera_off_raspberry_pi_os_stops_before_installing(tmp_path: Path) -> None:
    shims = _shims(tmp_path / "bin", sudo='exec "$@"', **{"dpkg-query": "exit 1", "apt-get": "exit 0",
                                        "apt-cache": "echo 'python3-picamera2:'; echo '  Candidate: (none)'"},
                   **_FORBIDDEN)
    _one_line(_run("--picamera", "--prefix", str(tmp_path / "opt"), shims=shims), 1,
              "python3-picamera2", "Raspberry Pi OS", "--source 0")
    calls = (shims / "calls.log").read_text().splitlines()
    assert "apt-get update" in calls and not [c for c in calls if c.startswith("apt-get install")]
    assert not (tmp_path / "opt").exists()


@pytest.mark.parametrize("args,fragment", [
    (["--bogus"], "unknown option --bogus"),
    (["--model", "/nonexistent.tflite"], "--model /nonexistent.tflite: no such file"),
    (["--cpus"], "--cpus needs a value"),
    (["--cpus", " "], "--cpus is empty"),
])
def test_emulate_sh_bad_usage_is_one_line_exit_2(args: list[str], fragment: str) -> None:
    """deploy/pi/emulate.sh (the emulated Pi CI runs) checks its arguments before touching anything."""
    proc = subprocess.run(["bash", str(REPO / "deploy" / "pi" / "emulate.sh"), *args], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()] and fragment in proc.stderr, proc.stderr
