"""Edge TPU readiness on Coral's models (no TensorFlow needed)."""

from __future__ import annotations

import json

import pytest
from conftest import shared


@pytest.mark.parametrize("name", ["mobilenet_v1_0.25_128_quant.tflite", "mobilenet_v1_0.5_160_quant.tflite"])
def test_coral_cpu_models_are_fully_mappable(run_cli, name: str) -> None:
    r = run_cli("edgetpu", "check", shared("coral", name), "--json")
    assert r.code == 0, r.err
    report = json.loads(r.out)
    assert report["fully_mappable"] is True and report["first_unmappable"] is None
    assert report["operators"] == 31 and report["cpu_ops"] == 0
    assert all(op["mappable"] and op["device"] == "edgetpu" for op in report["ops"])


def test_compiled_model_is_recognised(run_cli) -> None:
    r = run_cli("edgetpu", "check", shared("coral", "mobilenet_v1_0.5_160_quant_edgetpu.tflite"))
    assert r.code == 0 and "already compiled" in r.out


def test_custom_op_is_flagged_at_its_index(run_cli) -> None:
    r = run_cli("edgetpu", "check", shared("coral", "invalid_models", "model_invoking_error.tflite"), "--json")
    assert r.code == 1
    report = json.loads(r.out)
    assert report["first_unmappable"] == 0
    assert "fake-op-double is not an Edge TPU operation" in report["ops"][0]["reasons"]


def test_compile_without_compiler_says_how_to_get_it(run_cli, monkeypatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    r = run_cli("edgetpu", "compile", shared("coral", "mobilenet_v1_0.25_128_quant.tflite"))
    assert r.code == 1
    assert "edgetpu_compiler is not on PATH" in r.err and "x86-64" in r.err
