"""A face-identity classifier on real faces (ORL, 30 people): 7 train / 3 test images each."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import REPO, shared

pytest.importorskip("tensorflow", reason="workstation tests need pip install 'edgecnn[train]'")


def test_att_faces_identity_classifier_survives_int8(run_cli, tmp_path: Path, report_metric) -> None:
    faces = shared("att_faces")
    run = tmp_path / "faces"
    r = run_cli("train", faces, "--recipe", REPO / "train" / "faces.toml", "--out", run)
    assert r.code == 0, r.err
    split = json.loads((run / "split.json").read_text())
    people = sorted({i.split("/")[0] for i in split["ids"]["train"]})
    assert len(people) == 30
    for person in people:
        assert sum(i.startswith(person + "/") for i in split["ids"]["train"]) == 7
        assert sum(i.startswith(person + "/") for i in split["ids"]["test"]) == 3
    r = run_cli("quantize", run)
    assert r.code == 0, r.err
    r = run_cli("parity", run, "--json", tmp_path / "parity.json")
    report = json.loads((tmp_path / "parity.json").read_text())
    report_metric(f"faces: float {report['float']['accuracy']:.4f} int8 {report['quantized']['accuracy']:.4f} "
          f"drop {report['drop_pp']:.2f} pp agreement {report['quantized']['agreement']:.4f} "
          f"sizes float32 {(run / 'model_float32.tflite').stat().st_size} int8 "
          f"{(run / 'model_int8.tflite').stat().st_size}")
    assert r.code == 0, r.err
    assert report["n"] == 90
    assert report["drop_pp"] <= 1.0
    assert report["float"]["accuracy"] >= 0.9
