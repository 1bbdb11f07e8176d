"""MobileNetV2 (width multiplier) trains, quantizes to int8 and runs on the device runtime."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

pytest.importorskip("tensorflow", reason="workstation tests need pip install 'edgecnn[train]'")

from edgecnn.runtime import Classifier


def _stripes(root: Path, n: int = 12) -> Path:
    """Two easy classes: horizontal vs vertical stripes, RGB, with noise."""
    rng = np.random.default_rng(1)
    for name, axis in (("horizontal", 0), ("vertical", 1)):
        (root / name).mkdir(parents=True)
        for i in range(n):
            img = np.zeros((40, 40, 3), np.uint8)
            lines = np.arange(40) % 8 < 4
            img[lines if axis == 0 else slice(None), slice(None) if axis == 0 else lines] = 200
            img = np.clip(img + rng.integers(0, 40, img.shape), 0, 255).astype(np.uint8)
            cv2.imwrite(str(root / name / f"{i}.jpg"), img)
    return root


def test_mobilenetv2_end_to_end(run_cli, tmp_path: Path) -> None:
    data = _stripes(tmp_path / "stripes")
    run = tmp_path / "run"
    r = run_cli("train", data, "--out", run, "--arch", "mobilenetv2", "--alpha", "0.35", "--size", "32",
                "--epochs", "2", "--json")
    assert r.code == 0, r.err
    r = run_cli("quantize", run, "--calib-samples", "16")
    assert r.code == 0, r.err
    clf = Classifier(run / "model_int8.tflite")
    assert clf.card is not None
    assert clf.card.sections["model"] == {"arch": "mobilenetv2", "alpha": 0.35, "weights": None, "dropout": 0.3}
    assert clf.card.preprocessing.scale == pytest.approx(1 / 127.5)
    assert clf.model.input.shape == (1, 32, 32, 3) and clf.model.input.dtype == np.int8
    top = clf.classify_file(next((data / "vertical").iterdir()), top_k=2)
    assert {c.label for c in top} == {"horizontal", "vertical"}


def test_mobilenetv2_refuses_tiny_inputs(run_cli, tmp_path: Path) -> None:
    r = run_cli("train", "digits", "--out", tmp_path / "run", "--arch", "mobilenetv2")
    assert r.code == 2
    assert "at least 32x32" in r.err and "Traceback" not in r.err
