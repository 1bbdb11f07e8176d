"""Shared fixtures: the reference data beside the repo, and in-process CLI runs."""

from __future__ import annotations

import os
import shutil
import socket
import struct
import subprocess
import sys
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

# TensorFlow reads these once, when first imported; test modules import it (importorskip) before
# edgecnn.workstation.tf_env can set them. Without this the suite trained with oneDNN's kernels and
# the CLI without: other models, other figures (face EER 6.9 % in tests vs 5.7 % from the CLI).
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("EDGECNN_SHARED_DATA", REPO.parent / "shared" / "data"))


def shared(*parts: str) -> Path:
    """A path under ../shared/data, or skip the test (with the reason) when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{path} is missing: CI must run with ../shared/data beside the repo")
        pytest.skip(f"reference data not available: {path} (../shared/data is not beside the repo)")
    return path


@dataclass
class Result:
    """Outcome of one in-process `edgecnn` run."""

    code: int
    out: str
    err: str


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]):
    """Run `edgecnn ARGS...` through the real entry point; return exit code, stdout, stderr."""
    from edgecnn.cli import main

    def run(*args: str) -> Result:
        capsys.readouterr()
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


def error_lines(err: str) -> list[str]:
    """The `error:` lines of stderr (progress output is ignored)."""
    return [ln for ln in err.splitlines() if ln.startswith("error:")]


def assert_one_clear_error(result: Result, code: int, *fragments: str) -> None:
    """Exactly one error line mentioning every fragment, the right exit code, no traceback."""
    assert result.code == code, (result.code, result.err)
    assert "Traceback" not in result.err
    lines = error_lines(result.err)
    assert len(lines) == 1, result.err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


METRICS: list[str] = []


@pytest.fixture
def report_metric():
    """Record a measured figure; all of them are printed at the end of the run (CI log)."""
    return METRICS.append


def pytest_terminal_summary(terminalreporter) -> None:
    if METRICS:
        terminalreporter.section("measured")
        for line in METRICS:
            terminalreporter.write_line(line)


sys.path.insert(0, str(REPO / "tests"))


def json_key_paths(obj: object, prefix: str = "") -> set[str]:
    """Every key path of a JSON value (".a.b", list items as "[]"), to compare output schemas."""
    out: set[str] = set()
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.add(f"{prefix}.{k}")
            out |= json_key_paths(v, f"{prefix}.{k}")
    elif isinstance(obj, list):
        for v in obj[:3]:
            out |= json_key_paths(v, f"{prefix}[]")
    return out


def keys_before_layout(name: str) -> set[str]:
    """The key paths `name` (parity, bench, edgetpu, face_eval) had before the typed reports,
    captured from the earlier release's commands on a digits run and a face run."""
    import json

    return set(json.loads((REPO / "tests" / "data" / "json_keys_before_layout.json").read_text())[name])


def png_bomb(width: int, height: int) -> bytes:
    """A tiny, valid-looking PNG that claims width x height pixels."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def free_port(family: int = socket.AF_INET, host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(family) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def chromium() -> str:
    """Debian's headless chromium (tests/run.sh installs it), or skip / fail in CI."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found and os.environ.get("EDGECNN_EMULATED_PI"):
        pytest.skip("no browser in the emulated Pi root (deploy/pi/emulate.sh): the x86 run covers the page")
    if not found:
        if os.environ.get("CI"):
            pytest.fail("chromium missing in CI: tests/run.sh installs Debian's chromium package")
        pytest.skip("chromium not installed (apt-get install chromium)")
    return found


def browse(url: str, profile: Path, screenshot: Path | None = None, budget_ms: int = 3000,
           ready: Callable[[str], bool] | None = None) -> str:
    """The DOM headless chromium builds for `url` after `budget_ms` of virtual time, and optionally
    a screenshot of the page (800 x 900). With `ready`, up to three loads with a growing budget until
    `ready(dom)` holds: on a busy machine the page's first polls (status, thumbnails) can miss the
    budget; the caller's assertions then judge the last DOM."""
    browser = chromium()
    dom = ""
    for attempt in range(1 if ready is None else 3):
        flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 f"--user-data-dir={profile}-{attempt}", f"--virtual-time-budget={budget_ms * (attempt + 1)}"]
        done = subprocess.run([browser, *flags, "--dump-dom", url], capture_output=True, text=True, timeout=90)
        dom = done.stdout
        if not dom.strip():  # no page at all: say why (chromium logs the failed load on stderr)
            why = [ln for ln in done.stderr.splitlines() if "dbus" not in ln.lower()][-3:]
            pytest.fail(f"chromium built no page for {url} (exit {done.returncode}): " + " | ".join(why))
        if ready is None or ready(dom):
            break
    if screenshot is not None:
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([browser, *flags, "--window-size=800,900", f"--screenshot={screenshot}", url],
                       capture_output=True, text=True, timeout=90)
    return dom
