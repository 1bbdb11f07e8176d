"""Object detection end to end on the built-in shapes: train -> int8 -> mAP parity -> Edge TPU check
-> detect on images; COCO / YOLO / VOC copies of one set; bad annotations."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import assert_one_clear_error, error_lines

pytest.importorskip("tensorflow", reason="workstation tests need pip install 'edgecnn[train]'")


def test_int8_detector_keeps_its_map(shapes_run: dict, report_metric) -> None:
    p = shapes_run["parity"]
    q = p["quantized"]
    sizes = {n: (shapes_run["run"] / n).stat().st_size // 1024 for n in ("model.keras", "model_float32.tflite",
                                                                          "model_int8.tflite")}
    report_metric(f"detector (shapes, {shapes_run['epochs']} epochs, {p['n']} test images): "
                  f"mAP float {p['float']['map']:.4f} "
                  f"int8 {q['map']:.4f}; mAP@.5 float {p['float']['map50']:.4f} int8 {q['map50']:.4f}, drop "
                  f"{p['drop_pp']:.2f} pp; box agreement {q['agreement'] * 100:.1f} % mean IoU {q['mean_iou']:.3f}; "
                  f"sizes kB {sizes}; seconds " + ", ".join(f"{k} {v:.0f}" for k, v in shapes_run["seconds"].items()))
    assert p["task"] == "detector" and p["passed"] and p["quantized"]["model"] == "model_int8.tflite"
    assert q["map50"] >= 0.90 and p["drop_pp"] <= 1.0
    assert set(p["float"]) >= {"map", "map50"} and set(p["models"]) == {"model_float32.tflite", "model_int8.tflite"}
    assert q["agreement"] >= 0.9 and set(q["per_class_delta_pp"]) == {"circle", "square", "triangle"}
    assert (shapes_run["run"] / "parity_boxes.png").stat().st_size > 10_000


def test_int8_detector_maps_to_the_edge_tpu(shapes_run: dict, run_cli) -> None:
    r = run_cli("edgetpu", "check", shapes_run["run"] / "model_int8.tflite", "--json")
    report = json.loads(r.out)
    assert r.code == 0 and report["fully_mappable"], [o for o in report["ops"] if not o["mappable"]][:3]


def test_detect_lists_boxes_for_images(shapes_run: dict, run_cli, tmp_path: Path, report_metric) -> None:
    """--json lists exactly what the runtime finds, and every box it lists is a real object."""
    from edgecnn.runtime.detection import ObjectDetector
    from edgecnn.runtime.detection.boxes import iou_matrix
    from edgecnn.workstation.detection.data import export, load_detections

    data = load_detections("shapes", 96, 96, "rgb")
    export(data.subset(np.arange(5)), tmp_path / "set", "coco")
    model = shapes_run["run"] / "model_int8.tflite"
    r = run_cli("detect", model, "--source", tmp_path / "set" / "images", "--json", "--events", tmp_path / "e.jsonl",
                "--no-window")
    assert r.code == 0, r.err
    out = json.loads(r.out)
    assert [Path(o["image"]).name for o in out] == [f"{i:05d}.png" for i in range(5)]
    detector, found, truth = ObjectDetector(model), 0, 0
    for i, o in enumerate(out):
        tensor, box = detector.preprocess(data.images[i])
        direct = detector.postprocess(detector.invoke(tensor), box)
        assert [d["box"] for d in o["detections"]] == [d.to_dict()["box"] for d in direct]
        for d in o["detections"]:
            assert set(d) == {"label", "index", "score", "box"} and d["label"] in ("circle", "square", "triangle")
            x0, y0, x1, y1 = d["box"]
            assert 0 <= x0 < x1 <= 96 and 0 <= y0 < y1 <= 96
        if o["detections"]:  # each box is an object of its class (no false positive)
            overlap = iou_matrix(np.array([d["box"] for d in o["detections"]]), data.boxes[i])
            same = np.array([d["index"] for d in o["detections"]])[:, None] == data.classes[i][None, :]
            assert (np.where(same, overlap, 0).max(axis=1) >= 0.5).all(), (o, data.boxes[i], data.classes[i])
        found, truth = found + len(o["detections"]), truth + len(data.classes[i])
    report_metric(f"detect --json on 5 shapes pictures at --threshold 0.5: {found} of {truth} objects, "
                  f"no false positive")


def test_detector_and_classifier_refuse_each_others_commands(shapes_run: dict, run_cli, tmp_path: Path) -> None:
    image = tmp_path / "x.png"
    import cv2

    cv2.imwrite(str(image), np.zeros((96, 96, 3), np.uint8))
    assert_one_clear_error(run_cli("classify", shapes_run["run"] / "model_int8.tflite", image), 1, "is a detector",
                           "edgecnn detect")
    r = run_cli("detect", shapes_run["run"] / "model_int8.tflite", "--source", image, "--roi", "0,0,10,10")
    assert_one_clear_error(r, 2, "--roi is for classifiers")


def test_coco_yolo_and_voc_copies_read_back_and_split_alike(tmp_path: Path, run_cli, report_metric) -> None:
    """One small set written in the three formats reads back as the same pictures, boxes, classes
    and ids, so it splits the same way (the split depends on the ids and the seed only); `train`
    takes a folder as a detection set. (The same arrays and seed train the same model: training on
    each copy would only repeat itself.)"""
    from edgecnn.card import Card
    from edgecnn.workstation.detection.data import export, load_detections, split_ids

    data = load_detections("shapes", 96, 96, "rgb").subset(np.arange(300))
    worst, ids = {}, {}
    for fmt in ("coco", "yolo", "voc"):
        export(data, tmp_path / fmt, fmt)
        back = load_detections(str(tmp_path / fmt), 96, 96, "rgb")
        assert (back.format, back.labels, back.ids, back.problems) == (fmt, data.labels, data.ids, {})
        assert np.array_equal(back.images, data.images)
        assert all(np.array_equal(a, b) for a, b in zip(back.classes, data.classes, strict=True))
        worst[fmt] = max(float(np.abs(a - b).max(initial=0.0)) for a, b in zip(back.boxes, data.boxes, strict=True))
        assert worst[fmt] <= 0.01, (fmt, worst[fmt])  # pixels; YOLO's normalised text rounds in the 6th digit
        ids[fmt] = back.ids
    r = run_cli("train", tmp_path / "voc", "--epochs", "1", "--out", tmp_path / "run", "--json")
    assert r.code == 0, r.err
    assert json.loads(r.out)["task"] == "detector"
    written = json.loads((tmp_path / "run" / "split.json").read_text())["ids"]
    d = Card.load(tmp_path / "run" / "card.json").sections["dataset"]
    for fmt, names in ids.items():
        parts = split_ids(names, d["val_fraction"], d["test_fraction"], d["seed"])
        assert {k: [names[i] for i in v] for k, v in parts.items()} == written, fmt
    report_metric("detection formats, 300 shapes written as COCO / YOLO / VOC: pictures, classes and ids identical, "
                  "largest box difference " + ", ".join(f"{k} {v:.1e} px" for k, v in worst.items()))


def test_parity_on_coco_yolo_and_voc_copies_of_the_test_split(shapes_run: dict, tmp_path: Path, run_cli) -> None:
    """parity --data OTHER_SET in any format scores the same test split as the built-in set."""
    from edgecnn.workstation.detection.data import export, load_detections

    split = json.loads((shapes_run["run"] / "split.json").read_text())["ids"]["test"]
    data = load_detections("shapes", 96, 96, "rgb")
    test = data.subset(np.array([data.ids.index(i) for i in split]))
    for fmt in ("coco", "yolo", "voc"):
        export(test, tmp_path / fmt, fmt)
        r = run_cli("parity", shapes_run["run"], "--data", tmp_path / fmt, "--json", "-")
        assert r.code == 0, r.err
        report = json.loads(r.out)
        assert report["n"] == shapes_run["parity"]["n"]
        assert report["quantized"]["map50"] == pytest.approx(shapes_run["parity"]["quantized"]["map50"], abs=0.005)


def test_bad_annotations_are_counted_or_one_line(tmp_path: Path, run_cli) -> None:
    from edgecnn.workstation.detection.data import export, load_detections

    data = load_detections("shapes", 96, 96, "rgb").subset(np.arange(12))
    coco = export(data, tmp_path / "coco", "coco")
    spec = json.loads((coco / "annotations.json").read_text())
    spec["annotations"][0]["category_id"] = 99  # unknown class
    spec["annotations"][1]["bbox"] = [500, 500, 10, 10]  # outside the image
    spec["images"][2]["file_name"] = "gone.png"  # listed, missing
    (coco / "annotations.json").write_text(json.dumps(spec))
    loaded = load_detections(str(coco), 96, 96, "rgb")
    assert loaded.problems == {"unknown class ids": 1, "boxes outside the image": 1,
                               "listed images that are missing": 1}
    yolo = export(data, tmp_path / "yolo", "yolo")
    label = yolo / "labels" / "00000.txt"
    label.write_text(label.read_text() + "7 0.5 0.5 0.1 0.1\nnot a line\n")
    assert load_detections(str(yolo), 96, 96, "rgb").problems == {"unknown class ids": 1, "malformed label lines": 1}
    (coco / "annotations.json").write_text("[1, 2, 3]")
    assert_one_clear_error(run_cli("train", coco, "--out", tmp_path / "r1"), 1, "not a COCO detection annotation")
    (coco / "annotations.json").write_text("")
    assert_one_clear_error(run_cli("train", coco, "--out", tmp_path / "r2"), 1, "not a COCO detection annotation")
    r = run_cli("train", tmp_path / "nowhere", "--task", "detect", "--out", tmp_path / "r3")
    assert_one_clear_error(r, 2, "data not found")
    assert not error_lines(run_cli("train", "shapes", "--help").err)
