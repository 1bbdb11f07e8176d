"""`edgecnn quickstart`: the whole workstation-to-device story on the built-in digits."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import cv2

from edgecnn import atomic
from edgecnn.log import get_logger
from edgecnn.runtime import Classifier
from edgecnn.workstation.config import QuantizeConfig, TrainConfig
from edgecnn.workstation.detection.report import HEADER as DETECTION_HEADER
from edgecnn.workstation.parity import run_parity
from edgecnn.workstation.plotting import text_table
from edgecnn.workstation.quantize.run import describe, quantize_run
from edgecnn.workstation.reports import HEADER, summary_rows, write_reports
from edgecnn.workstation.run import RunDir
from edgecnn.workstation.tasks import load_split
from edgecnn.workstation.training import train

log = get_logger(__name__)

SAMPLES = 6


def run_quickstart(out: Path, epochs: int | None = None) -> dict[str, Any]:
    """Train, quantize, check parity, classify sample images; return a summary dict."""
    start = time.perf_counter()
    cfg = TrainConfig(data="digits") if epochs is None else TrainConfig(data="digits", epochs=epochs)
    log.info("[1/4] training a CNN on the built-in digits (8x8, 10 classes)")
    trained = train("digits", out, cfg, overwrite=True)
    log.info("[2/4] quantizing to full int8")
    quant = quantize_run(out, QuantizeConfig())
    for line in describe(quant):
        log.info("      " + line)
    log.info("[3/4] parity: float vs int8 on the held-out test split")
    report = run_parity(out, max_drop=1.0)
    write_reports(report, out)
    log.info("[4/4] classifying sample test images with the device runtime")
    samples = _classify_samples(RunDir(out), quant.path)
    return {
        "run": str(out),
        "seconds": round(time.perf_counter() - start, 1),
        "train": {"test_accuracy": trained.test_accuracy, "epochs": trained.epochs_run,
                  "seconds": round(trained.seconds, 1)},
        "sizes": quant.sizes,
        "parity": {"n": report.n, "drop_pp": report.drop_pp, "max_drop_pp": report.max_drop_pp,
                   "passed": report.passed, "float_accuracy": report.float_accuracy,
                   "int8_accuracy": report.quantized.accuracy, "agreement": report.quantized.agreement,
                   "table": summary_rows(report, out)},
        "samples": samples,
        "artifacts": sorted(p.name for p in out.iterdir() if p.is_file()),
    }


def _classify_samples(run: RunDir, model: Path) -> list[dict[str, Any]]:
    card = run.require_trained()
    test = load_split(run, card, "test")
    images, targets = test.images, test.targets
    folder = run.path / "samples"
    folder.mkdir(exist_ok=True)
    clf = Classifier(model)
    results = []
    for i in range(min(SAMPLES, len(images))):
        path = folder / f"test_{i}_true_{card.labels[targets[i]]}.png"
        ok, png = cv2.imencode(".png", images[i])
        atomic.write_bytes(path, png.tobytes())
        best = clf.classify_file(path, top_k=1)[0]
        results.append({"image": str(path), "true": card.labels[targets[i]], "predicted": best.label,
                        "score": round(best.score, 4)})
    return results


def format_summary(s: dict[str, Any]) -> str:
    """The table quickstart prints at the end."""
    p = s["parity"]
    if s.get("task") == "detector":
        return "\n".join([
            "", text_table(DETECTION_HEADER, [tuple(r) for r in p["table"]]), "",
            f"int8 vs float: mAP@.5 {p['int8_map50']:.4f} vs {p['float_map50']:.4f}, drop {p['drop_pp']:.2f} pp "
            f"(budget {p['max_drop_pp']:.2f}), box agreement {p['agreement'] * 100:.1f} % on {p['n']} held-out "
            f"images -> {'PASSED' if p['passed'] else 'FAILED'}; "
            f"Edge TPU ready: {'yes' if s['edgetpu_ready'] else 'no'}",
            "samples (device runtime, int8): " + ", ".join(f"{r['objects']} objects -> {len(r['found'])} found"
                                                            for r in s["samples"]),
            f"artifacts in {s['run']}/: {', '.join(s['artifacts'])}",
            f"total {s['seconds']:.1f} s. Next: edgecnn detect {s['run']}/model_int8.tflite --source "
            f"{s['run']}/samples --json"])
    lines = [
        "",
        text_table(HEADER, [tuple(r) for r in p["table"]]),
        "",
        f"int8 vs float: drop {p['drop_pp']:.2f} pp (budget {p['max_drop_pp']:.2f}), "
        f"agreement {p['agreement'] * 100:.2f} % on {p['n']} held-out images -> "
        f"{'PASSED' if p['passed'] else 'FAILED'}",
        "samples (device runtime, int8): " + ", ".join(
            f"{r['true']}->{r['predicted']}" for r in s["samples"]),
        f"artifacts in {s['run']}/: {', '.join(s['artifacts'])}",
        f"total {s['seconds']:.1f} s. Next: edgecnn classify {s['run']}/model_int8.tflite "
        f"{s['run']}/samples/*.png",
    ]
    return "\n".join(lines)
