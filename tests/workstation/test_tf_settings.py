"""The suite trains with the settings the CLI trains with: TensorFlow reads them once, at import."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytest.importorskip("tensorflow", reason="workstation tests need pip install 'edgecnn[train]'")


def test_tensorflow_in_the_suite_has_the_cli_settings() -> None:
    assert os.environ["TF_ENABLE_ONEDNN_OPTS"] == "0"  # oneDNN kernels off, as `edgecnn train` has them


def test_tensorflow_imported_first_is_warned_about() -> None:
    env = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    code = ("import tensorflow\nfrom edgecnn.workstation.training import seed_everything\nseed_everything(0)")
    late = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert late.returncode == 0 and "imported before edgecnn with oneDNN kernels on" in late.stderr
    first = subprocess.run([sys.executable, "-c", code.replace("import tensorflow\n", "")], capture_output=True,
                           text=True, env=env, timeout=300)
    assert first.returncode == 0 and "oneDNN" not in first.stderr
