"""Edge TPU readiness: float, dynamic-shape and unsupported-op models are flagged at the right op."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorflow", reason="workstation tests need pip install 'edgecnn[train]'")

from edgecnn.runtime.edgetpu_check import check_bytes
from edgecnn.workstation.tf_env import keras, tf


def _model(leaky: bool = False):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    x = keras.layers.LeakyReLU(0.1)(keras.layers.Conv2D(4, 3, padding="same")(x)) if leaky else x
    x = keras.layers.Flatten()(x)
    return keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(x))


def _convert(model, tmp: Path, int8: bool = True, static: bool = True) -> bytes:
    signature = [tf.TensorSpec((1, 8, 8, 1), tf.float32)] if static else [tf.TensorSpec((None, 8, 8, 1), tf.float32)]
    model.export(str(tmp / "sm"), format="tf_saved_model", input_signature=signature, verbose=False)
    conv = tf.lite.TFLiteConverter.from_saved_model(str(tmp / "sm"))
    if int8:
        rng = np.random.default_rng(0)
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.representative_dataset = lambda: ([rng.random((1, 8, 8, 1), dtype=np.float32)] for _ in range(20))
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        conv.inference_input_type = conv.inference_output_type = tf.int8
    return bytes(conv.convert())


def test_full_int8_model_maps(tmp_path: Path) -> None:
    report = check_bytes(_convert(_model(), tmp_path), "int8").to_dict()
    assert report["fully_mappable"] is True


def test_float_model_is_flagged_at_op_0(tmp_path: Path) -> None:
    report = check_bytes(_convert(_model(), tmp_path, int8=False), "float").to_dict()
    assert report["first_unmappable"] == 0 and report["fully_mappable"] is False
    assert any("FLOAT32" in r for r in report["ops"][0]["reasons"])
    assert report["cpu_ops"] == report["operators"]


def test_dynamic_batch_is_flagged(tmp_path: Path) -> None:
    report = check_bytes(_convert(_model(), tmp_path, static=False), "dynamic").to_dict()
    assert report["first_unmappable"] == 0
    assert any("dynamic shape" in r for r in report["ops"][0]["reasons"])


def test_unsupported_op_is_flagged_at_its_index_and_splits_the_graph(tmp_path: Path) -> None:
    report = check_bytes(_convert(_model(leaky=True), tmp_path), "leaky").to_dict()
    names = [op["op"] for op in report["ops"]]
    k = names.index("LEAKY_RELU")
    assert k > 0 and report["first_unmappable"] == k
    assert list(report["ops"][k]["reasons"]) == ["LEAKY_RELU is not an Edge TPU operation"]
    assert all(op["device"] == "edgetpu" for op in report["ops"][:k])
    assert all(op["device"] == "cpu" for op in report["ops"][k:])
    assert report["edgetpu_ops"] == k


def test_check_cli_exit_codes(run_cli, tmp_path: Path) -> None:
    good, bad = tmp_path / "good.tflite", tmp_path / "bad.tflite"
    good.write_bytes(_convert(_model(), tmp_path / "g"))
    bad.write_bytes(_convert(_model(leaky=True), tmp_path / "b"))
    assert run_cli("edgetpu", "check", good).code == 0
    r = run_cli("edgetpu", "check", bad, "--json")
    assert r.code == 1 and json.loads(r.out)["first_unmappable"] > 0


def test_quantize_target_edgetpu_refuses_an_unmappable_model(run_cli, tmp_path: Path) -> None:
    """A run whose model has an op the Edge TPU lacks: quantize writes it but exits 1."""
    from edgecnn.workstation.config import TrainConfig
    from edgecnn.workstation.training import train

    run = tmp_path / "run"
    train("digits", run, TrainConfig(data="digits", epochs=1))
    ok = run_cli("quantize", run, "--target", "edgetpu", "--calib-samples", "50")
    assert ok.code == 0 and "Edge TPU ready" in ok.out
    model = keras.models.load_model(run / "model.keras", compile=False)
    x = keras.layers.LeakyReLU(0.1)(model.layers[-2].output)
    keras.Model(model.input, model.layers[-1](x)).save(run / "model.keras")
    bad = run_cli("quantize", run, "--target", "edgetpu", "--calib-samples", "50")
    assert bad.code == 1
    errors = [ln for ln in bad.err.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and "NOT Edge TPU ready" in errors[0] and "LEAKY_RELU" in errors[0]
    from edgecnn.runtime import read_card

    assert read_card(run / "model_int8.tflite").sections["quantization"]["edgetpu"]["ready"] is False
