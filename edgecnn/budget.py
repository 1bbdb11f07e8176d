"""`edgecnn quantize --max-drop PP`: meet an accuracy budget, trying fixes in a fixed order.

1. plain full int8 with the calibration asked for;
2. better calibration: every train image, balanced across classes;
3. 16-bit activations with 8-bit weights for the whole model (not for the Edge TPU);
4. selective quantization: keep the 1, 2, then 3 worst layers in float (not for the Edge TPU).
Each attempt is measured on the validation split (the train split when there is none): top-1
drop against the float Keras model, file size and mean invoke latency. The first that meets the
budget is kept.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from edgecnn.card import METADATA_NAME, Card
from edgecnn.config import QuantizeConfig
from edgecnn.progress import info
from edgecnn.run import RunDir, load_split_images
from edgecnn.runtime import Classifier
from edgecnn.runtime.classify import normalize


def search(tf: Any, model: Any, saved: Path, run: RunDir, card: Card, cfg: QuantizeConfig, max_drop: float,
           first: bytes, data_override: str | None) -> tuple[bytes, dict[str, Any]]:
    """Return the bytes of the first attempt within `max_drop` (or the best one) and the report."""
    from edgecnn.layer_report import debugger_statistics
    from edgecnn.quantization import _convert, calibration_set

    split = "val" if run.read_split()["ids"]["val"] else "train"
    images, targets = load_split_images(run, card, split, data_override)
    float_acc = float((model.predict(normalize(images, card.preprocessing), batch_size=256, verbose=0)
                       .argmax(1) == targets).mean())
    edgetpu = cfg.target == "edgetpu"
    full = dataclasses.replace(cfg, calib_samples=10**6)
    steps: list[tuple[str, Callable[[], bytes]]] = [
        ("plain int8", lambda: first),
        ("all train images for calibration",
         lambda: _convert(tf, saved, full, calibration_set(run, card, full, data_override)[0])),
    ]
    if not edgetpu:
        steps.append(("int16 activations, int8 weights", lambda: _convert(
            tf, saved, dataclasses.replace(full, mode="int16x8"), calibration_set(run, card, full, data_override)[0])))
        worst: list[str] = []

        def selective(k: int) -> bytes:
            if not worst:
                calib = calibration_set(run, card, full, data_override)[0]
                rows = debugger_statistics(tf, saved, calib, full)
                rows.sort(key=lambda r: -(r["relative_rmse"] if r["relative_rmse"] == r["relative_rmse"] else 0.0))
                worst.extend(r["tensor"] for r in rows)  # worst relative error first
            return _selective(tf, saved, full, calibration_set(run, card, full, data_override)[0], worst[:k])

        steps += [(f"keep the {k} worst layer(s) in float", lambda k=k: selective(k)) for k in (1, 2, 3)]
    attempts, chosen = [], None
    for name, make in steps:
        data = make()
        result = _measure(data, card, images, targets, float_acc)
        attempts.append({"attempt": name, **result, "met": result["drop_pp"] <= max_drop})
        info(f"budget: {name}: drop {result['drop_pp']:.2f} pp, {result['size_bytes'] / 1024:.1f} kB, "
             f"{result['latency_ms']:.3f} ms")
        if result["drop_pp"] <= max_drop:
            chosen = (name, data)
            break
        chosen = chosen if chosen and _drop(attempts, chosen[0]) <= result["drop_pp"] else (name, data)
    met = attempts[-1]["met"]
    report = {"max_drop_pp": max_drop, "split": split, "n": int(len(targets)), "float_accuracy": float_acc,
              "attempts": attempts, "chosen": chosen[0], "met": met,
              "note": None if met or not edgetpu else "no fully-integer fix met the budget; "
                      "float or 16-bit layers would split the model off the Edge TPU"}
    return chosen[1], report


def _drop(attempts: list[dict[str, Any]], name: str) -> float:
    return next(a["drop_pp"] for a in attempts if a["attempt"] == name)


def _measure(data: bytes, card: Card, images: np.ndarray, targets: np.ndarray,
             float_acc: float) -> dict[str, Any]:
    from edgecnn.tflite_meta import embed_metadata

    with tempfile.TemporaryDirectory(prefix="edgecnn-attempt-") as tmp:
        path = Path(tmp) / "attempt.tflite"
        path.write_bytes(embed_metadata(data, METADATA_NAME, card.to_json().encode()))
        clf = Classifier(path)
        start = time.perf_counter()
        preds = np.array([int(np.argmax(clf.scores(img))) for img in images])
        latency = (time.perf_counter() - start) / max(len(images), 1) * 1e3
    acc = float((preds == targets).mean())
    return {"accuracy": acc, "drop_pp": (float_acc - acc) * 100.0, "size_bytes": len(data), "latency_ms": latency}


def _selective(tf: Any, saved: Path, cfg: QuantizeConfig, calib: np.ndarray, denylist: list[str]) -> bytes:
    from edgecnn.quantization import configure

    conv = tf.lite.TFLiteConverter.from_saved_model(str(saved))
    configure(tf, conv, cfg, calib)
    options = tf.lite.experimental.QuantizationDebugOptions(denylisted_nodes=denylist, fully_quantize=True)
    debugger = tf.lite.experimental.QuantizationDebugger(
        converter=conv, debug_dataset=lambda: ([x[None]] for x in calib), debug_options=options)
    return bytes(debugger.get_nondebug_quantized_model())


def format_attempts(report: dict[str, Any]) -> list[str]:
    """The attempt table for people."""
    lines = [f"accuracy budget {report['max_drop_pp']:.2f} pp on the {report['split']} split "
             f"({report['n']} images, float {report['float_accuracy'] * 100:.2f} %):",
             f"  {'attempt':38} {'top-1':>8} {'drop pp':>8} {'size kB':>8} {'ms':>7}  met"]
    for a in report["attempts"]:
        lines.append(f"  {a['attempt']:38} {a['accuracy'] * 100:7.2f}% {a['drop_pp']:8.2f} "
                     f"{a['size_bytes'] / 1024:8.1f} {a['latency_ms']:7.3f}  {'yes' if a['met'] else 'no'}")
    lines.append(f"chosen: {report['chosen']}" + ("" if report["met"] else " (budget NOT met; best attempt kept)"))
    if report.get("note"):
        lines.append(report["note"])
    return lines
