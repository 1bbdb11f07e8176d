"""Every bad input ends in one clear line and a non-zero exit, never a traceback."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import assert_one_clear_error

pytest.importorskip("tensorflow", reason="workstation tests need pip install 'edgecnn[train]'")


def _image_folder(root: Path, classes: dict[str, int], size: int = 16) -> Path:
    rng = np.random.default_rng(0)
    for name, n in classes.items():
        (root / name).mkdir(parents=True)
        for i in range(n):
            cv2.imwrite(str(root / name / f"{i}.png"), rng.integers(0, 255, (size, size, 3), dtype=np.uint8))
    return root


def test_missing_data_path(run_cli, tmp_path: Path) -> None:
    r = run_cli("train", tmp_path / "nope", "--out", tmp_path / "run")
    assert_one_clear_error(r, 2, "data not found", "nope")
    assert not (tmp_path / "run").exists()


def test_empty_folder(run_cli, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    r = run_cli("train", tmp_path / "empty", "--out", tmp_path / "run")
    assert_one_clear_error(r, 1, "no class sub-folders")


def test_loose_images_without_class_folders(run_cli, tmp_path: Path) -> None:
    root = tmp_path / "loose"
    root.mkdir()
    cv2.imwrite(str(root / "a.png"), np.zeros((8, 8), np.uint8))
    r = run_cli("train", root, "--out", tmp_path / "run")
    assert_one_clear_error(r, 1, "no class sub-folders", "own sub-folder")


def test_single_class(run_cli, tmp_path: Path) -> None:
    root = _image_folder(tmp_path / "one", {"cats": 4})
    r = run_cli("train", root, "--out", tmp_path / "run")
    assert_one_clear_error(r, 1, "only one class", "cats")


def test_class_folder_with_no_readable_image(run_cli, tmp_path: Path) -> None:
    root = _image_folder(tmp_path / "data", {"a": 5, "b": 5})
    (root / "c").mkdir()
    (root / "c" / "x.jpg").write_bytes(b"not a jpeg at all")
    (root / "c" / "notes.txt").write_text("hello")
    r = run_cli("train", root, "--out", tmp_path / "run")
    assert_one_clear_error(r, 1, "'c'", "no readable image")
    assert not (tmp_path / "run" / "model.keras").exists()


def test_corrupt_files_are_skipped_and_counted(run_cli, tmp_path: Path) -> None:
    root = _image_folder(tmp_path / "data", {"a": 10, "b": 10})
    (root / "a" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    (root / "b" / "readme.txt").write_text("not an image")
    out = tmp_path / "run"
    r = run_cli("train", root, "--out", out, "--epochs", "1", "--size", "16")
    assert r.code == 0, r.err
    assert "skipped 2 unreadable file(s)" in r.err
    from edgecnn.card import Card

    assert Card.load(out / "card.json").sections["dataset"]["skipped"] == 2


def test_run_dir_without_model(run_cli, tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    for command in ("quantize", "parity"):
        r = run_cli(command, tmp_path / "run")
        assert_one_clear_error(r, 1, "holds no trained model", "edgecnn train")


def test_run_dir_missing(run_cli, tmp_path: Path) -> None:
    r = run_cli("quantize", tmp_path / "nothing")
    assert_one_clear_error(r, 2, "run folder not found")


def test_retraining_into_a_used_run_dir_needs_overwrite(run_cli, tmp_path: Path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / "model.keras").write_bytes(b"old")
    (out / "card.json").write_text("{}")  # the done-mark: a finished run
    r = run_cli("train", "digits", "--out", out)
    assert_one_clear_error(r, 2, "--overwrite")
    assert (out / "model.keras").read_bytes() == b"old"


def test_unknown_recipe_key_suggests_the_right_one(run_cli, tmp_path: Path) -> None:
    recipe = tmp_path / "r.toml"
    recipe.write_text('data = "digits"\nepoch = 3\n')
    r = run_cli("train", "--recipe", recipe, "--out", tmp_path / "run")
    assert_one_clear_error(r, 2, "unknown key 'epoch'", "did you mean 'epochs'")


def test_bad_size_option(run_cli, tmp_path: Path) -> None:
    r = run_cli("train", "digits", "--out", tmp_path / "run", "--size", "big")
    assert_one_clear_error(r, 2, "--size")
