"""Face embedder on real faces: trained on s1-s20, verified on s21-s30 (people it never saw)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import assert_one_clear_error, shared

pytest.importorskip("tensorflow", reason="workstation tests need pip install 'edgecnn[train]'")


def _people(root: Path, folder: Path, numbers: range) -> Path:
    folder.mkdir()
    for i in numbers:
        (folder / f"s{i}").symlink_to(root / f"s{i}", target_is_directory=True)
    return folder


def test_unseen_people_eer_float_and_int8(run_cli, tmp_path: Path, report_metric) -> None:
    faces = shared("att_faces")
    train_dir = _people(faces, tmp_path / "train", range(1, 21))
    test_dir = _people(faces, tmp_path / "test", range(21, 31))
    run = tmp_path / "run"
    r = run_cli("face", "train", train_dir, "--out", run)
    assert r.code == 0, r.err
    r = run_cli("quantize", run, "--calib-samples", "200")
    assert r.code == 0, r.err
    r = run_cli("face", "evaluate", "--model", run, "--data", test_dir, "--json", tmp_path / "eval.json")
    assert r.code == 0, r.err
    report = json.loads((tmp_path / "eval.json").read_text())
    for name in ("float", "int8"):
        assert {"eer", "threshold", "far", "frr", "n_genuine", "n_impostor"} <= set(report[name])
        assert report[name]["n_genuine"] == 70 and report[name]["n_impostor"] == 630
    report_metric(f"face embedder on unseen s21-s30: EER float {report['float']['eer'] * 100:.2f} %, "
                  f"int8 {report['int8']['eer'] * 100:.2f} %, mean cosine {report['mean_cosine_float_int8']:.5f}")
    assert report["float"]["eer"] <= 0.10 and report["int8"]["eer"] <= 0.10
    assert abs(report["eer_delta_pp"]) <= 1.0
    assert report["mean_cosine_float_int8"] >= 0.98
    assert_one_clear_error(run_cli("parity", run), 1, "face embedder")


def test_evaluate_bad_inputs(run_cli, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    model = shared("coral", "mobilenet_v1_0.25_128_quant.tflite")
    assert_one_clear_error(run_cli("face", "evaluate", "--model", model, "--data", tmp_path / "nope"), 2,
                           "identity folder not found")
    assert_one_clear_error(run_cli("face", "evaluate", "--model", model, "--data", tmp_path / "empty"), 1,
                           "at least two identity")
