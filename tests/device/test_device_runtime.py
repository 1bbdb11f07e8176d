"""Backends, Edge TPU handling, labels files, inspect and bench on the device runtime."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from conftest import assert_one_clear_error, shared

from edgecnn.errors import EdgeCNNError, EdgeCNNUsageError
from edgecnn.runtime.backend import load_backend
from edgecnn.runtime.edgetpu import Device, parse_device
from edgecnn.runtime.labels import labels_for_outputs, read_labels

CPU_MODEL = ("coral", "mobilenet_v1_0.5_160_quant.tflite")
TPU_MODEL = ("coral", "mobilenet_v1_0.5_160_quant_edgetpu.tflite")
INSTALLED = {name: importlib.util.find_spec(mod) is not None
             for name, mod in (("litert", "ai_edge_litert"), ("tflite-runtime", "tflite_runtime"))}


def test_classify_with_coral_labels_gives_label_text(run_cli) -> None:
    r = run_cli("classify", shared(*CPU_MODEL), shared("coral", "cat.bmp"), shared("coral", "parrot.jpg"),
                "--labels", shared("coral", "imagenet_labels.txt"), "--json", "--top-k", "1")
    assert r.code == 0, r.err
    cat, parrot = json.loads(r.out)
    assert (cat["top"][0]["index"], cat["top"][0]["label"]) == (286, "Egyptian cat")
    assert (parrot["top"][0]["index"], parrot["top"][0]["label"]) == (89, "macaw")


def test_mean_std_reproduce_the_raw_pixel_convention(run_cli) -> None:
    # Coral: uint8 input with scale 1/128, zero point 128, so (pixel - 128) / 128 quantizes back to pixel.
    r = run_cli("classify", shared(*CPU_MODEL), shared("coral", "cat.bmp"), "--mean", "128", "--std", "128",
                "--json", "--top-k", "1")
    assert r.code == 0, r.err
    assert json.loads(r.out)[0]["top"][0]["index"] == 286


def test_edgetpu_model_on_cpu_names_the_cpu_build(run_cli) -> None:
    r = run_cli("classify", shared(*TPU_MODEL), shared("coral", "cat.bmp"))
    assert_one_clear_error(r, 1, "compiled for the Edge TPU", "--device edgetpu",
                           "mobilenet_v1_0.5_160_quant.tflite")


def test_edgetpu_without_the_runtime_library_says_what_to_install(run_cli) -> None:
    r = run_cli("classify", shared(*TPU_MODEL), shared("coral", "cat.bmp"), "--device", "edgetpu")
    assert_one_clear_error(r, 1, "libedgetpu", "--device cpu")


def test_cpu_model_on_edgetpu_warns_nothing_is_delegated(run_cli) -> None:
    r = run_cli("classify", shared(*CPU_MODEL), shared("coral", "cat.bmp"), "--device", "edgetpu:usb", "--json")
    assert r.code == 0, r.err
    assert "nothing will be delegated" in r.err
    assert json.loads(r.out)[0]["top"][0]["index"] == 286


@pytest.mark.parametrize("text,expected", [
    ("cpu", Device("cpu", None)), ("edgetpu", Device("edgetpu", None)),
    ("edgetpu:usb", Device("edgetpu", "usb")), ("edgetpu:pci", Device("edgetpu", "pci")),
    ("edgetpu:1", Device("edgetpu", ":1")), ("EdgeTPU:usb:0", Device("edgetpu", "usb:0")),
])
def test_device_names(text: str, expected: Device) -> None:
    assert parse_device(text) == expected


def test_unknown_device_and_backend(run_cli) -> None:
    model, image = shared(*CPU_MODEL), shared("coral", "cat.bmp")
    assert_one_clear_error(run_cli("classify", model, image, "--device", "gpu"), 2, "unknown device 'gpu'")
    assert_one_clear_error(run_cli("classify", model, image, "--backend", "onnx"), 2, "unknown backend 'onnx'")
    assert_one_clear_error(run_cli("classify", model, image, "--threads", "-2"), 2, "--threads")


def test_backend_choice_and_missing_backend(monkeypatch) -> None:
    chosen = load_backend()
    assert chosen.name in ("litert", "tflite-runtime") and chosen.version != "unknown"
    monkeypatch.setenv("EDGECNN_BACKEND", "nonsense")
    with pytest.raises(EdgeCNNUsageError):
        load_backend()
    missing = [name for name, ok in INSTALLED.items() if not ok]
    if missing:
        with pytest.raises(EdgeCNNError, match="is not installed: pip install"):
            load_backend(missing[0])


@pytest.mark.parametrize("backend", [b for b, ok in INSTALLED.items() if ok])
def test_each_installed_backend_classifies_the_cat(run_cli, backend: str) -> None:
    r = run_cli("classify", shared(*CPU_MODEL), shared("coral", "cat.bmp"), "--backend", backend,
                "--threads", "2", "--json")
    assert r.code == 0, r.err
    assert json.loads(r.out)[0]["top"][0]["index"] == 286


def test_labels_files(tmp_path: Path) -> None:
    plain = tmp_path / "plain.txt"
    plain.write_text("cat\ndog\n\n")
    indexed = tmp_path / "indexed.txt"
    indexed.write_text("0  background\n1 cat\n2: dog\n")
    assert labels_for_outputs(read_labels(plain), 2, "plain") == ("cat", "dog")
    assert labels_for_outputs(read_labels(plain), 3, "plain") == ("background", "cat", "dog")
    assert labels_for_outputs(read_labels(indexed), 3, "indexed") == ("background", "cat", "dog")
    with pytest.raises(EdgeCNNError, match="has 2 labels but the model has 5 outputs"):
        labels_for_outputs(read_labels(plain), 5, "plain")


def test_labels_file_with_wrong_count_is_one_line(run_cli, tmp_path: Path) -> None:
    labels = tmp_path / "labels.txt"
    labels.write_text("\n".join(f"class {i}" for i in range(10)))
    r = run_cli("classify", shared(*CPU_MODEL), shared("coral", "cat.bmp"), "--labels", labels)
    assert_one_clear_error(r, 1, "10 labels", "1001 outputs")


def test_inspect_reports_tensors_ops_and_edgetpu(run_cli) -> None:
    r = run_cli("inspect", shared(*CPU_MODEL), "--json")
    assert r.code == 0, r.err
    info = json.loads(r.out)
    assert info["inputs"][0]["shape"] == [1, 160, 160, 3] and info["inputs"][0]["dtype"] == "UINT8"
    assert info["inputs"][0]["scale"] == [0.0078125] and info["inputs"][0]["zero_point"] == [128]
    assert info["outputs"][0]["shape"] == [1, 1001]
    assert info["op_histogram"]["CONV_2D"] == 15 and info["edgetpu_ops"] is False
    assert info["card"] is None
    tpu = json.loads(run_cli("inspect", shared(*TPU_MODEL), "--json").out)
    assert tpu["edgetpu_ops"] is True and tpu["op_histogram"] == {"edgetpu-custom-op": 1}
    text = run_cli("inspect", shared(*TPU_MODEL)).out
    assert "compiled for the Edge TPU" in text


def test_inspect_broken_file(run_cli, tmp_path: Path) -> None:
    bad = tmp_path / "half.tflite"
    bad.write_bytes(shared(*CPU_MODEL).read_bytes()[:2000])
    assert_one_clear_error(run_cli("inspect", bad), 1, "half.tflite")


def test_bench_reports_latency_overhead_cold_start_and_rss(run_cli) -> None:
    r = run_cli("bench", shared("coral", "mobilenet_v1_0.25_128_quant.tflite"), "--runs", "20",
                "--warmup", "2", "--json")
    assert r.code == 0, r.err
    report = json.loads(r.out)
    for key in ("invoke", "predict"):
        s = report[key]
        assert 0 < s["p50_ms"] <= s["p90_ms"] <= s["p99_ms"]
    assert report["overhead_ratio"] > 0 and report["throughput_per_s"] > 0
    assert report["backend"] in ("litert", "tflite-runtime") and report["device"] == "cpu"
    assert report["cold_start"]["seconds"] > 0 and report["cold_start"]["peak_rss_mb"] > 10
    assert report["peak_rss_mb"] > 10


def test_bench_rejects_bad_counts(run_cli) -> None:
    r = run_cli("bench", shared(*CPU_MODEL), "--runs", "0", "--no-cold-start")
    assert_one_clear_error(r, 2, "--runs")
