"""`edgecnn detect` pieces that need no TensorFlow: face regions, image folders, roi parsing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import shared

from edgecnn.camera.regions import parse_roi
from edgecnn.errors import EdgeCNNUsageError


def test_roi_faces_classifies_the_face_region(run_cli, tmp_path: Path) -> None:
    folder = tmp_path / "frames"
    folder.mkdir()
    shutil.copy(shared("coral", "face.jpg"), folder / "face.jpg")
    events = tmp_path / "events.jsonl"
    r = run_cli("detect", shared("coral", "mobilenet_v1_0.25_128_quant.tflite"), "--source", folder,
                "--roi", "faces", "--smooth", "1", "--threshold", "0", "--min-frames", "1", "--events", events,
                "--no-window")
    assert r.code == 0, r.err
    first, last = (json.loads(line) for line in events.read_text().splitlines())
    x0, y0, x1, y1 = first["box"]
    assert x1 - x0 >= 24 and y1 - y0 >= 24 and first["type"] == "new" and last["type"] == "end"


@pytest.mark.parametrize("text,expected", [(None, None), ("full", None), ("faces", "faces"),
                                           ("10,20,30,40", (10, 20, 30, 40))])
def test_parse_roi(text, expected) -> None:
    assert parse_roi(text) == expected


@pytest.mark.parametrize("text", ["1,2,3", "a,b,c,d", "0,0,0,5", "-1,0,4,4"])
def test_bad_roi(text) -> None:
    with pytest.raises(EdgeCNNUsageError):
        parse_roi(text)
