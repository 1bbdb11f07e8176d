"""The accuracy budget: a model plain int8 breaks is rescued by the budgeted quantize."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

pytest.importorskip("tensorflow", reason="workstation tests need pip install 'edgecnn[train]'")

from edgecnn.workstation.tf_env import keras


@pytest.fixture(scope="module")
def hard_run(tmp_path_factory: pytest.TempPathFactory, digits_run: Path) -> Path:
    """A digits run whose first block has one channel scaled x100 (compensated in the next conv):
    the float function is unchanged, but that channel's outliers set the int8 activation range.
    Made from a copy of the session's default digits run (its training files, not its models)."""
    run = tmp_path_factory.mktemp("hard") / "run"
    shutil.copytree(digits_run, run, ignore=shutil.ignore_patterns("*.tflite", "parity*"))
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
    assert all({"drop_pp", "size_bytes", "latency_ms", "accuracy", "precision"} <= set(a) for a in attempts)
    from edgecnn.runtime import read_card

    # the file is named after what it holds: a fallback is never model_int8.tflite
    precision = attempts[-1]["precision"]
    assert precision in ("int16x8", "mixed") and json.loads(r.out)["precision"] == precision
    written = Path(json.loads(r.out)["model"])
    assert written.name == {"int16x8": "model_int16x8.tflite", "mixed": "model_mixed.tflite"}[precision]
    assert not (hard_run / "model_int8.tflite").exists()  # the plain int8 file it replaces is gone
    section = read_card(written).sections["quantization"]
    assert section["budget"]["chosen"] == budget["chosen"] and section["mode"] == precision
    groups = section["precision"]  # {tensor type: {operator: count}}
    if precision == "mixed":
        assert "float32" in groups and "int8" in groups and section["float_layers"]
    else:
        assert "int16" in groups and "float32" not in groups and section["io"] == "int16"
    after = run_cli("parity", hard_run, "--max-drop", "0.5", "--json", "-")
    assert after.code == 0, after.err
    report_metric("budget attempts (hard model): " + "; ".join(
        f"{a['attempt']} drop {a['drop_pp']:.2f} pp {a['size_bytes'] / 1024:.1f} kB {a['latency_ms']:.3f} ms"
        for a in attempts) + f"; test-split drop after: {json.loads(after.out)['drop_pp']:.2f} pp")


def test_edgetpu_target_allows_only_integer_fixes(hard_run: Path, run_cli) -> None:
    before = {p.name for p in hard_run.glob("model_*.tflite")}
    r = run_cli("quantize", hard_run, "--calib-samples", "200", "--max-drop", "0.5", "--target", "edgetpu",
                "--json")
    assert r.code == 1
    out = json.loads(r.out)
    assert Path(out["model"]).name == "model_int8.tflite" and out["precision"] == "int8"
    assert {p.name for p in hard_run.glob("model_*.tflite")} - before <= {"model_int8.tflite", "model_float32.tflite"}
    from edgecnn.runtime import read_card

    section = read_card(hard_run / "model_int8.tflite").sections["quantization"]
    assert section["mode"] == "int8" and set(section["precision"]) <= {"int8", "int32"}
    budget = out["budget"]
    assert [a["attempt"] for a in budget["attempts"]] == ["plain int8", "all train images for calibration"]
    assert budget["met"] is False and "no fully-integer fix met the budget" in budget["note"]
    errors = [ln for ln in r.err.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and "no attempt met --max-drop 0.50 pp" in errors[0]


def test_without_a_val_split_the_budget_holds_out_part_of_train(tmp_path: Path, run_cli) -> None:
    from edgecnn.workstation.config import TrainConfig
    from edgecnn.workstation.training import train

    run = tmp_path / "noval"
    train("digits", run, TrainConfig(data="digits", val_fraction=0.0, epochs=3))
    split = json.loads((run / "split.json").read_text())["ids"]
    assert not split["val"]
    r = run_cli("quantize", run, "--max-drop", "100", "--calib-samples", "5000", "--json")
    assert r.code == 0, r.err
    out = json.loads(r.out)
    budget = out["budget"]
    assert budget["held_out_of_train"] is True and budget["split"] == "held-out part of train"
    n_train = len(split["train"])
    assert abs(budget["n"] - 0.2 * n_train) <= 10  # a fifth of each class
    assert sum(out["calibration"].values()) == n_train - budget["n"]  # calibration never saw them


def test_hold_out_is_stratified_and_disjoint() -> None:
    import numpy as np

    from edgecnn.workstation.quantize.budget import hold_out
    from edgecnn.workstation.tasks import Split

    targets = np.array([0] * 10 + [1] * 7 + [2] * 2 + [3])
    train = Split("train", np.arange(len(targets))[:, None], targets)
    rest, held = hold_out(train, 0.2, seed=0)
    assert held.name == "held-out part of train"
    assert not set(rest.images[:, 0]) & set(held.images[:, 0])
    assert len(rest.images) + len(held.images) == len(targets)
    assert [int((held.targets == c).sum()) for c in range(4)] == [2, 1, 1, 0]  # a lone image stays for calibration


class OnlyFloatLayersPass:
    """A stand-in measure: full marks for a model that kept layers in float, none for any other, so
    the budget must walk to its float fallback (real conversions, real files; only the score is made up)."""

    name = "top-1"

    def of_keras(self, model, card, split) -> float:
        return 1.0

    def of_tflite(self, path: Path, card, split) -> float:
        from edgecnn.workstation.quantize.run import precision_groups

        return 1.0 if "float32" in precision_groups(path.read_bytes()) else 0.0


def test_float_fallback_is_not_called_int8(hard_run: Path, run_cli, tmp_path: Path, monkeypatch) -> None:
    import shutil

    from edgecnn.runtime import read_card
    from edgecnn.workstation.quantize import run as quantize_module

    run = tmp_path / "run"
    shutil.copytree(hard_run, run)
    assert run_cli("quantize", run, "--calib-samples", "100").code == 0  # a plain model_int8.tflite from before
    monkeypatch.setattr(quantize_module, "measure_for", lambda card, why: OnlyFloatLayersPass())
    r = run_cli("quantize", run, "--calib-samples", "100", "--max-drop", "1")
    assert r.code == 0, r.err
    assert "keeps layers in float: it is not a full-int8 model" in r.err
    assert "chosen: keep the 1 worst layer(s) in float (int8 with float layers" in r.out
    assert (run / "model_mixed.tflite").is_file() and not (run / "model_int8.tflite").exists()
    section = read_card(run / "model_mixed.tflite").sections["quantization"]
    assert section["mode"] == "mixed" and len(section["float_layers"]) == 1
    assert section["precision"]["float32"] and section["precision"]["int8"]  # operators per type
    parity = run_cli("parity", run, "--max-drop", "100", "--json", "-")
    assert parity.code == 0, parity.err
    assert json.loads(parity.out)["quantized"]["model"] == "model_mixed.tflite"  # the verdict is about it

    r = run_cli("quantize", run, "--calib-samples", "100", "--max-drop", "1", "--target", "edgetpu", "--json")
    assert r.code == 1  # no integer attempt passes the stand-in measure
    assert Path(json.loads(r.out)["model"]).name == "model_int8.tflite"
    assert [a["precision"] for a in json.loads(r.out)["budget"]["attempts"]] == ["int8", "int8"]
