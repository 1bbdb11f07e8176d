"""The device side must never import TensorFlow or Keras."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = r"""
import json, sys
import edgecnn.runtime, edgecnn.card, edgecnn.images, edgecnn.cli
from edgecnn.cli import main
try:
    main(["classify", "--help"])
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "heavy": sorted(m for m in sys.modules
      if m.split(".")[0] in ("tensorflow", "keras", "tf_keras", "jax", "torch"))}))
"""


def test_device_side_imports_no_tensorflow() -> None:
    proc = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["code"] == 0
    assert result["heavy"] == []
    assert "Usage:" in proc.stdout and "classify" in proc.stdout
