"""Other people's models: Coral's quantized MobileNets, and models that cannot run."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import assert_one_clear_error, shared

from edgecnn.runtime import Classifier, ModelError, read_card
from edgecnn.runtime.modelinfo import read_metadata


def test_mobilenet_v1_classifies_cat_and_parrot() -> None:
    clf = Classifier(shared("coral", "mobilenet_v1_0.5_160_quant.tflite"))
    assert clf.card is None
    assert clf.classify_file(shared("coral", "cat.bmp"), 1)[0].index == 286
    assert clf.classify_file(shared("coral", "parrot.jpg"), 1)[0].index == 89


def test_reads_metadata_of_a_third_party_model() -> None:
    data = shared("coral", "mobilenet_v1_0.25_128_quant.tflite").read_bytes()
    assert isinstance(read_metadata(data), dict)
    assert read_card(shared("coral", "mobilenet_v1_0.25_128_quant.tflite")) is None


def test_model_failing_to_run_gives_a_clear_error(run_cli) -> None:
    model = shared("coral", "invalid_models", "model_invoking_error.tflite")
    with pytest.raises(ModelError):
        Classifier(model).classify_file(shared("coral", "cat.bmp"))
    r = run_cli("classify", model, shared("coral", "cat.bmp"))
    assert_one_clear_error(r, 1, "model_invoking_error.tflite")


@pytest.mark.parametrize("kind", ["truncated", "empty", "text"])
def test_broken_model_files(run_cli, tmp_path: Path, kind: str) -> None:
    good = shared("coral", "mobilenet_v1_0.25_128_quant.tflite").read_bytes()
    bad = tmp_path / f"{kind}.tflite"
    bad.write_bytes({"truncated": good[: len(good) // 3], "empty": b"", "text": b"hello world, no model"}[kind])
    r = run_cli("classify", bad, shared("coral", "cat.bmp"))
    assert_one_clear_error(r, 1, str(bad))


def test_missing_model_and_missing_image(run_cli, tmp_path: Path) -> None:
    assert_one_clear_error(run_cli("classify", tmp_path / "none.tflite", tmp_path / "x.png"), 1, "model not found")
    model = shared("coral", "mobilenet_v1_0.25_128_quant.tflite")
    assert_one_clear_error(run_cli("classify", model, tmp_path / "x.png"), 1, "image not found")


def test_unreadable_image(run_cli, tmp_path: Path) -> None:
    fake = tmp_path / "fake.jpg"
    fake.write_text("this is not a jpeg")
    model = shared("coral", "mobilenet_v1_0.25_128_quant.tflite")
    assert_one_clear_error(run_cli("classify", model, fake), 1, "not a readable image")


def test_threads_must_be_positive(run_cli) -> None:
    model = shared("coral", "mobilenet_v1_0.25_128_quant.tflite")
    assert_one_clear_error(run_cli("classify", model, shared("coral", "cat.bmp"), "--threads", "0"), 2, "--threads")
