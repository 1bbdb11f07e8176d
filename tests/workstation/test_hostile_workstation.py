"""Hostile input on the workstation side (issue: hostile input, defects 5, 7, 8, 9): each test is
named after the defect it covers."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import assert_one_clear_error, error_lines, png_bomb

pytest.importorskip("tensorflow", reason="workstation tests need pip install 'edgecnn[train]'")

from edgecnn.card import METADATA_NAME
from edgecnn.workstation.quantize.metadata import embed_metadata


@pytest.fixture(scope="module")
def digits_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from edgecnn.workstation.config import QuantizeConfig, TrainConfig
    from edgecnn.workstation.quantize.run import quantize_run
    from edgecnn.workstation.training import train

    out = tmp_path_factory.mktemp("hostile") / "run"
    train("digits", out, TrainConfig(data="digits", epochs=2))
    quantize_run(out, QuantizeConfig(calib_samples=50))
    return out / "model_int8.tflite"


def _with_card(model: Path, dest: Path, change) -> Path:
    from edgecnn.runtime import read_card

    card = read_card(model).to_dict()
    change(card)
    dest.write_bytes(embed_metadata(model.read_bytes(), METADATA_NAME, json.dumps(card).encode()))
    return dest


def _deep(card: dict) -> None:
    node = card
    for _ in range(40):
        node["x"] = {}
        node = node["x"]


CARDS = {
    "2 labels on 10 outputs": (lambda c: c.update(labels=["a", "b"]), "2 labels but the model has 10 outputs"),
    "nan std": (lambda c: c["preprocessing"].update(std=[float("nan")]), "preprocessing.std"),
    "3 means for 1 channel": (lambda c: c["preprocessing"].update(mean=[0, 0, 0]), "preprocessing.mean"),
    "widen 1e6": (lambda c: c.update(face_crop={"widen": 1e6}), "face_crop.widen"),
    "face_crop not an object": (lambda c: c.update(face_crop=5), "face_crop must be an object"),
    "input not an object": (lambda c: c.update(input=[8, 8, 1]), "input must be an object"),
    "deep nesting": (_deep, "nested more than"),
    "labels an object": (lambda c: c.update(labels={"a": 1}), "labels must be a list"),
    "wrong input size": (lambda c: c["input"].update(height=16), "the model takes 8x8x1"),
}


@pytest.mark.parametrize("case", list(CARDS))
def test_defect05_card_must_match_the_model(digits_model: Path, tmp_path: Path, run_cli, case: str) -> None:
    change, fragment = CARDS[case]
    model = _with_card(digits_model, tmp_path / "m.tflite", change)
    image = tmp_path / "x.png"
    cv2.imwrite(str(image), np.zeros((8, 8), np.uint8))
    assert_one_clear_error(run_cli("classify", model, image), 1, fragment)
    r = run_cli("detect", model, "--source", tmp_path, "--events", tmp_path / "e.jsonl", "--no-window")
    assert_one_clear_error(r, 1, fragment)


def test_defect07_image_bomb_in_a_training_folder_is_skipped_and_counted(run_cli, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        (tmp_path / "data" / name).mkdir(parents=True)
        for i in range(8):
            cv2.imwrite(str(tmp_path / "data" / name / f"{i}.png"), rng.integers(0, 255, (16, 16, 3), np.uint8))
    (tmp_path / "data" / "a" / "bomb.png").write_bytes(png_bomb(30000, 30000))
    r = run_cli("train", tmp_path / "data", "--out", tmp_path / "run", "--epochs", "1", "--size", "16")
    assert r.code == 0, r.err
    assert json.loads((tmp_path / "run" / "card.json").read_text())["dataset"]["skipped"] == 1


PROBE = r"""
import json, sys
from edgecnn.cli import main
try:
    main(sys.argv[1:])
    code = 0
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "tensorflow": "tensorflow" in sys.modules}))
"""


def _before_tensorflow(*args: object, cwd: Path) -> tuple[dict, str]:
    proc = subprocess.run([sys.executable, "-c", PROBE, *map(str, args)], capture_output=True, text=True,
                          timeout=120, cwd=cwd)
    return json.loads(proc.stdout.strip().splitlines()[-1]), proc.stderr


@pytest.mark.parametrize("args, fragment", [
    (("train", "digits", "--lr", "nan"), "--lr"), (("train", "digits", "--lr", "-1"), "--lr"),
    (("train", "digits", "--seed", "-1"), "--seed"), (("train", "digits", "--epochs", "0"), "--epochs"),
    (("train", "digits", "--recipe", "bad_filters.toml"), "filters"),
    (("train", "digits", "--recipe", "latin1.toml"), "not valid TOML"),
    (("train", "digits", "--recipe", "nan.toml"), "learning_rate"),
    (("quantize", "run", "--max-drop", "nan"), "--max-drop"), (("quantize", "run", "--max-drop", "-1"), "--max-drop"),
    (("parity", "run", "--max-drop", "inf"), "--max-drop"), (("quantize", "run", "--calib-samples", "0"), "--calib"),
])
def test_defect08_bad_numbers_are_usage_errors_before_tensorflow(tmp_path: Path, args: tuple[str, ...],
                                                                 fragment: str) -> None:
    (tmp_path / "bad_filters.toml").write_text("filters = [32, -4]\n")
    (tmp_path / "latin1.toml").write_bytes("name = 'caf\xe9'\n".encode("latin-1"))
    (tmp_path / "nan.toml").write_text("learning_rate = nan\n")
    (tmp_path / "run").mkdir()
    result, err = _before_tensorflow(*args, "--out" if args[0] == "train" else "--json",
                                     "out" if args[0] == "train" else "-", cwd=tmp_path)
    assert result["code"] == 2 and len(error_lines(err)) == 1 and fragment in error_lines(err)[0], err
    assert result["tensorflow"] is False  # answered before TensorFlow loaded


def test_defect09_unfinished_run_is_replaced_and_stale_temp_files_go(digits_model: Path, run_cli,
                                                                    tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(digits_model.parent / "model.keras", run / "model.keras")  # killed before card.json
    (run / ".card.json.99999999.abcd1234.tmp").write_text("{half")
    assert_one_clear_error(run_cli("quantize", run), 1, "unfinished run")
    r = run_cli("train", "digits", "--out", run, "--epochs", "1")
    assert r.code == 0, r.err
    assert (run / "card.json").is_file() and not list(run.glob(".*tmp*"))


def test_defect09_ctrl_c_wrapped_by_tensorflow_is_still_an_interruption(run_cli, tmp_path: Path,
                                                                       monkeypatch) -> None:
    from edgecnn.workstation import training

    def interrupted(*args, **kwargs):
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as exc:
            raise SystemError("<built-in function ...> returned a result with an exception set") from exc

    monkeypatch.setattr(training, "train", interrupted)
    r = run_cli("train", "digits", "--out", tmp_path / "run")
    assert_one_clear_error(r, 130, "interrupted")
