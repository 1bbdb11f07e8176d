"""The accuracy budget: a model plain int8 breaks is rescued by the budgeted quantize."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("tensorflow", reason="workstation tests need pip install 'edgecnn[train]'")

from edgecnn.workstation.tf_env import keras


@pytest.fixture(scope="module")
def hard_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A digits run whose first block has one channel scaled x100 (compensated in the next conv):
    the float function is unchanged, but that channel's outliers set the int8 activation range."""
    from edgecnn.workstation.config import TrainConfig
    from edgecnn.workstation.training import train

    run = tmp_path_factory.mktemp("hard") / "run"
    train("digits", run, TrainConfig(data="digits"))
    model = keras.models.load_model(run / "model.keras", compile=False)
    bn = model.get_layer("bn1_1")
    gamma, beta, mean, var = bn.get_weights()
    gamma[0] *= 100
    beta[0] *= 100
    bn.set_weights([gamma, beta, mean, var])
    conv = model.get_layer("conv1_2")
    (kernel,) = conv.get_weights()
    kernel[:, :, 0, :] /= 100
    conv.set_weights([kernel])
    model.save(run / "model.keras")
    return run


def test_plain_int8_misses_and_budget_meets(hard_run: Path, run_cli, report_metric) -> None:
    plain = run_cli("quantize", hard_run, "--calib-samples", "200")
    assert plain.code == 0, plain.err
    gate = run_cli("parity", hard_run, "--max-drop", "0.5")
    assert gate.code == 1 and "exceeds --max-drop" in gate.err

    r = run_cli("quantize", hard_run, "--calib-samples", "200", "--max-drop", "0.5", "--json")
    assert r.code == 0, r.err
    budget = json.loads(r.out)["budget"]
    attempts = budget["attempts"]
    assert attempts[0]["attempt"] == "plain int8" and attempts[0]["met"] is False
    assert attempts[0]["drop_pp"] > 0.5
    assert attempts[-1]["met"] is True and budget["met"] is True
    assert budget["chosen"] == attempts[-1]["attempt"]
    assert all({"drop_pp", "size_bytes", "latency_ms", "accuracy"} <= set(a) for a in attempts)
    from edgecnn.runtime import read_card

    card = read_card(hard_run / "model_int8.tflite")
    assert card.sections["quantization"]["budget"]["chosen"] == budget["chosen"]
    after = run_cli("parity", hard_run, "--max-drop", "0.5", "--json", "-")
    assert after.code == 0, after.err
    report_metric("budget attempts (hard model): " + "; ".join(
        f"{a['attempt']} drop {a['drop_pp']:.2f} pp {a['size_bytes'] / 1024:.1f} kB {a['latency_ms']:.3f} ms"
        for a in attempts) + f"; test-split drop after: {json.loads(after.out)['drop_pp']:.2f} pp")


def test_edgetpu_target_allows_only_integer_fixes(hard_run: Path, run_cli) -> None:
    r = run_cli("quantize", hard_run, "--calib-samples", "200", "--max-drop", "0.5", "--target", "edgetpu",
                "--json")
    assert r.code == 1
    budget = json.loads(r.out)["budget"]
    assert [a["attempt"] for a in budget["attempts"]] == ["plain int8", "all train images for calibration"]
    assert budget["met"] is False and "no fully-integer fix met the budget" in budget["note"]
    errors = [ln for ln in r.err.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and "no attempt met --max-drop 0.50 pp" in errors[0]
