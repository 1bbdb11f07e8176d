"""The device side must never import TensorFlow or Keras."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import shared

PROBE = r"""
import json, sys
import edgecnn.runtime, edgecnn.card, edgecnn.images, edgecnn.cli
from edgecnn.cli import main
try:
    main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "heavy": sorted(m for m in sys.modules
      if m.split(".")[0] in ("tensorflow", "keras", "tf_keras", "jax", "torch"))}))
"""


def _probe(*args: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_device_side_imports_no_tensorflow() -> None:
    result = _probe("classify", "--help")
    assert result["code"] == 0
    assert result["heavy"] == []


@pytest.mark.parametrize("command", ["classify", "inspect", "bench", "detect"])
def test_device_commands_run_without_tensorflow(command: str) -> None:
    model = str(shared("coral", "mobilenet_v1_0.25_128_quant.tflite"))
    args = {"classify": [model, str(shared("coral", "cat.bmp"))], "inspect": [model],
            "bench": [model, "--runs", "5", "--warmup", "1", "--no-cold-start"],
            "detect": [model, "--source", str(shared("coral")), "--max-frames", "3"]}[command]
    result = _probe(command, *args)
    assert result["code"] == 0
    assert result["heavy"] == []


@pytest.mark.x86_only  # 70 s under qemu; the emulated Pi has no TensorFlow installed at all
def test_detect_on_a_detector_runs_without_tensorflow() -> None:
    """A detection model (MediaPipe's BlazeFace) through detect --json and bench, TensorFlow-free."""
    model = str(shared("mediapipe", "face_detection_full_range_sparse.tflite"))
    for args in (("detect", model, "--source", str(shared("coral", "face.jpg")), "--json"),
                 ("bench", model, "--runs", "5", "--warmup", "1", "--no-cold-start")):
        result = _probe(*args)
        assert result["code"] == 0, args
        assert result["heavy"] == [], args


def test_face_device_commands_run_without_tensorflow(tmp_path) -> None:
    """enroll / verify / unlock / list / remove with any .tflite as the embedder (here Coral's
    MobileNet: its 1001 scores act as the embedding), in a fresh interpreter with no TensorFlow."""
    import shutil

    model = str(shared("coral", "mobilenet_v1_0.25_128_quant.tflite"))
    photos = tmp_path / "ann"
    photos.mkdir()
    for i in range(3):
        shutil.copy(shared("coral", "face.jpg"), photos / f"{i}.jpg")
    gallery = str(tmp_path / "g.sqlite")
    runs = [("face", "enroll", "--name", "ann", "--images", str(photos), "--model", model, "--gallery", gallery),
            ("face", "verify", str(photos / "0.jpg"), "--gallery", gallery),
            ("face", "verify", "--source", str(photos), "--gallery", gallery),
            ("face", "unlock", "--source", str(photos), "--gallery", gallery, "--events", str(tmp_path / "e.jsonl")),
            ("face", "list", "--gallery", gallery),
            ("face", "remove", "ann", "--gallery", gallery)]
    for args in runs:
        result = _probe(*args)
        assert result["code"] == 0, args
        assert result["heavy"] == [], args
    events = [json.loads(line) for line in (tmp_path / "e.jsonl").read_text().splitlines()]
    assert [e["event"] for e in events] == ["unlock"] and events[0]["name"] == "ann"
