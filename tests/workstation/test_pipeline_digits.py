"""digits end to end: train -> int8 -> parity, through the API and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorflow", reason="workstation tests need pip install 'edgecnn[train]'")

from edgecnn.card import Card
from edgecnn.runtime import Classifier, read_card
from edgecnn.workstation.config import QuantizeConfig, TrainConfig


def test_run_folder_holds_every_artifact(digits_run: Path) -> None:
    names = {p.name for p in digits_run.iterdir()}
    assert {"model.keras", "card.json", "split.json", "model_int8.tflite", "model_float32.tflite"} <= names
    assert not [n for n in names if ".tmp" in n], names


def test_card_records_labels_input_split_and_metrics(digits_run: Path) -> None:
    card = Card.load(digits_run / "card.json")
    assert card.labels == tuple(str(i) for i in range(10))
    assert (card.input.height, card.input.width, card.input.channels) == (8, 8, 1)
    assert card.preprocessing.color == "gray"
    assert card.sections["dataset"]["split"]["test"] == 359
    assert card.sections["metrics"]["float"]["test_accuracy"] > 0.95


def test_split_is_stratified_disjoint_and_recorded(digits_run: Path) -> None:
    split = json.loads((digits_run / "split.json").read_text())
    ids = split["ids"]
    assert not set(ids["train"]) & set(ids["test"])
    assert not set(ids["val"]) & set(ids["test"])
    assert len(ids["train"]) + len(ids["val"]) + len(ids["test"]) == 1797


def test_tflite_carries_the_card_and_int8_tensors(digits_run: Path) -> None:
    model = digits_run / "model_int8.tflite"
    card = read_card(model)
    assert card is not None and card.labels == Card.load(digits_run / "card.json").labels
    assert card.sections["quantization"]["mode"] == "int8"
    assert card.sections["quantization"]["calibration"]["samples"] == 500
    clf = Classifier(model)
    assert clf.model.input.dtype == np.int8 and clf.model.output.dtype == np.int8
    assert model.stat().st_size * 3 < (digits_run / "model_float32.tflite").stat().st_size


def test_parity_gate_on_digits(digits_run: Path, run_cli, tmp_path: Path, report_metric) -> None:
    report_path = tmp_path / "parity.json"
    result = run_cli("parity", digits_run, "--json", report_path)
    assert result.code == 0, result.err
    report = json.loads(report_path.read_text())
    assert report["n"] == 359
    assert report["max_drop_pp"] == 1.0 and report["passed"] is True
    assert report["drop_pp"] <= 1.0
    assert report["quantized"]["agreement"] >= 0.98
    assert report["quantized"]["mean_cosine"] > 0.99
    assert report["float"]["accuracy"] > 0.95
    for name in ("parity.json", "parity.md", "parity_confusion.png", "parity_per_class.png"):
        assert (digits_run / name).stat().st_size > 0
    report_metric(f"digits: float {report['float']['accuracy']:.4f} int8 {report['quantized']['accuracy']:.4f} "
          f"drop {report['drop_pp']:.2f} pp agreement {report['quantized']['agreement']:.4f}")


def test_parity_fails_with_exit_1_when_budget_is_missed(digits_run: Path, run_cli, tmp_path: Path) -> None:
    """The run's int8 model swapped for a barely trained one (carrying the run's card): the gate must fail."""
    import shutil

    from edgecnn.runtime import read_card
    from edgecnn.workstation.quantize.metadata import with_card
    from edgecnn.workstation.quantize.run import quantize_run
    from edgecnn.workstation.training import train

    run = tmp_path / "run"
    shutil.copytree(digits_run, run)
    weak = tmp_path / "weak"
    train("digits", weak, TrainConfig(data="digits", epochs=1, learning_rate=1e-4))
    quantize_run(weak, QuantizeConfig(calib_samples=20))
    card = read_card(run / "model_int8.tflite")
    (run / "model_int8.tflite").write_bytes(with_card((weak / "model_int8.tflite").read_bytes(), card))
    result = run_cli("parity", run, "--max-drop", "1")
    assert result.code == 1, result.err
    assert [ln for ln in result.err.splitlines() if ln.startswith("error:")][0].count("exceeds --max-drop") == 1


def test_classify_json_schema(digits_run: Path, run_cli, tmp_path: Path) -> None:
    import cv2

    from edgecnn.workstation.run import RunDir
    from edgecnn.workstation.tasks import load_split

    card = Card.load(digits_run / "card.json")
    test = load_split(RunDir(digits_run), card, "test")
    images, targets = test.images, test.targets
    paths = []
    for i in range(4):
        paths.append(tmp_path / f"d{i}.png")
        cv2.imwrite(str(paths[-1]), images[i])
    result = run_cli("classify", digits_run / "model_int8.tflite", *paths, "--top-k", "2", "--json")
    assert result.code == 0, result.err
    out = json.loads(result.out)
    assert [o["image"] for o in out] == [str(p) for p in paths]
    for o in out:
        assert len(o["top"]) == 2
        assert set(o["top"][0]) == {"index", "label", "score"}
        assert o["top"][0]["score"] >= o["top"][1]["score"]
    hits = sum(o["top"][0]["index"] == int(t) for o, t in zip(out, targets[:4], strict=True))
    assert hits >= 3


def test_other_quantization_modes_are_evaluated(digits_run: Path, tmp_path: Path) -> None:
    import shutil

    from edgecnn.workstation.parity import run_parity
    from edgecnn.workstation.quantize.run import quantize_run

    run = tmp_path / "copy"
    shutil.copytree(digits_run, run)
    for mode, io in (("float16", "int8"), ("dynamic", "int8"), ("int8", "uint8")):
        quantize_run(run, QuantizeConfig(mode=mode, io=io, calib_samples=100))
    assert Classifier(run / "model_int8_uint8io.tflite").model.input.dtype == np.uint8
    report = run_parity(run).to_dict()
    assert set(report["models"]) == {"model_float32.tflite", "model_int8.tflite", "model_float16.tflite",
                                     "model_dynamic.tflite", "model_int8_uint8io.tflite"}
    assert report["quantized"]["model"] == "model_int8.tflite"
    assert report["models"]["model_float16.tflite"]["agreement"] >= 0.99
    assert report["models"]["model_int8_uint8io.tflite"]["drop_pp"] <= 1.0


def test_per_layer_error_report(digits_run: Path, run_cli, tmp_path: Path, report_metric) -> None:
    import shutil

    run = tmp_path / "copy"
    shutil.copytree(digits_run, run)
    r = run_cli("quantize", run, "--report", "layers", "--calib-samples", "200", "--json")
    assert r.code == 0, r.err
    layers = json.loads(r.out)["layers"]["layers"]
    ops = {row["op"] for row in layers}
    assert {"CONV_2D", "FULLY_CONNECTED", "SOFTMAX"} <= ops
    values = [row["rmse_over_scale"] for row in layers]
    assert values == sorted(values, reverse=True)
    conv = [row for row in layers if row["op"] == "CONV_2D"]
    assert all(0.05 < row["rmse_over_scale"] < 2.0 for row in conv)  # near the 0.29 rounding floor
    for name in ("quant_layers.json", "quant_layers.md", "quant_layers.png"):
        assert (run / name).stat().st_size > 0
    report_metric("digits worst layer: " + ", ".join(f"{row['op']} {row['rmse_over_scale']:.3f}"
                                                      for row in layers[:3]))


def test_json_keys_unchanged_by_typed_reports(digits_run: Path, run_cli, tmp_path: Path) -> None:
    """parity / bench / edgetpu check --json keep every key the untyped versions had."""
    from conftest import json_key_paths, keys_before_layout

    model = digits_run / "model_int8.tflite"
    outputs = {"parity": run_cli("parity", digits_run, "--json", "-"),
               "bench": run_cli("bench", model, "--runs", "20", "--warmup", "2", "--json"),
               "edgetpu": run_cli("edgetpu", "check", model, "--json")}
    for name, result in outputs.items():
        assert result.code == 0, (name, result.err)
        missing = keys_before_layout(name) - json_key_paths(json.loads(result.out))
        assert not missing, (name, sorted(missing))


def markdown_tables(text: str) -> list[list[list[str]]]:
    """Every table a Markdown renderer (markdown-it-py, GitHub's table rules) finds: rows of cell texts."""
    from markdown_it import MarkdownIt

    tables: list[list[list[str]]] = []
    row: list[str] | None = None
    cell = False
    for token in MarkdownIt("commonmark").enable("table").parse(text):
        if token.type == "table_open":
            tables.append([])
        elif token.type == "tr_open":
            row = []
        elif token.type == "tr_close":
            tables[-1].append(row)
        elif token.type in ("th_open", "td_open"):
            cell = True
        elif token.type == "inline" and cell and row is not None:
            row.append(token.content)
            cell = False
    return tables


def test_reports_render_as_tables(digits_run: Path, run_cli, tmp_path: Path) -> None:
    """parity.md and quant_layers.md: every table parses with the columns of its header, and the
    headers holding '|' ("max |diff|", "max |err|") stay one cell each."""
    import shutil

    run = tmp_path / "copy"
    shutil.copytree(digits_run, run)
    assert run_cli("parity", run).code == 0
    assert run_cli("quantize", run, "--report", "layers", "--calib-samples", "100").code == 0
    parity = markdown_tables((run / "parity.md").read_text())
    layers = markdown_tables((run / "quant_layers.md").read_text())
    assert len(parity) == 2 and len(layers) == 1
    for table in parity + layers:
        assert len(table) > 2 and all(len(r) == len(table[0]) for r in table), table
    assert parity[0][0][-1] == "max |diff|" and len(parity[0]) == 4  # header, keras, float32, int8
    assert parity[1][0] == ["class", "test images", "float", "quantized", "change (pp)"] and len(parity[1]) == 11
    assert layers[0][0][-1] == "max |err|"
    assert sum(int(r[1]) for r in parity[1][1:]) == 359  # per-class counts of the test images
