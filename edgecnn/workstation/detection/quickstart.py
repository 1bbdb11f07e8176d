"""`edgecnn quickstart --task detect`: train a detector on the built-in shapes, int8 it, prove its
mAP, and detect on sample test images with the device runtime (boxes drawn into PNGs)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import cv2

from edgecnn import atomic
from edgecnn.log import get_logger
from edgecnn.runtime.detection import ObjectDetector
from edgecnn.workstation.config import DetectConfig, QuantizeConfig
from edgecnn.workstation.detection.report import summary_rows, write_detection_reports
from edgecnn.workstation.detection.train import train_detector
from edgecnn.workstation.parity import run_parity
from edgecnn.workstation.quantize.run import describe, quantize_run
from edgecnn.workstation.run import RunDir
from edgecnn.workstation.tasks import load_split

log = get_logger(__name__)
SAMPLES = 4


def run_detection_quickstart(out: Path, epochs: int | None = None) -> dict[str, Any]:
    """Train, quantize, parity, detect on samples; return a summary dict."""
    start = time.perf_counter()
    cfg = DetectConfig() if epochs is None else DetectConfig(epochs=epochs)
    log.info(f"[1/4] training a detector on the built-in shapes (96x96, 3 classes, up to {cfg.epochs} epochs)")
    trained = train_detector("shapes", out, cfg, overwrite=True)
    log.info("[2/4] quantizing to full int8 (for the CPU and the Edge TPU)")
    quant = quantize_run(out, QuantizeConfig(target="edgetpu"))
    for line in describe(quant):
        log.info("      " + line)
    log.info("[3/4] parity: float vs int8 mAP on the held-out test split")
    report = run_parity(out, max_drop=1.0)
    write_detection_reports(report, out)  # type: ignore[arg-type]
    log.info("[4/4] detecting on sample test images with the device runtime")
    samples = _detect_samples(RunDir(out), quant.path)
    return {"run": str(out), "task": "detector", "seconds": round(time.perf_counter() - start, 1),
            "train": {"test_map50": trained.test.map50, "epochs": trained.epochs_run,
                      "seconds": round(trained.seconds, 1)},
            "sizes": quant.sizes, "edgetpu_ready": bool(quant.edgetpu and quant.edgetpu.fully_mappable),
            "parity": {"n": report.n, "drop_pp": report.drop_pp, "max_drop_pp": report.max_drop_pp,
                       "passed": report.passed, "float_map50": report.float_metrics.map50,
                       "int8_map50": report.quantized.map50, "agreement": report.quantized.agreement,
                       "table": summary_rows(report, out)},  # type: ignore[arg-type]
            "samples": samples, "artifacts": sorted(p.name for p in out.iterdir() if p.is_file())}


def _detect_samples(run: RunDir, model: Path) -> list[dict[str, Any]]:
    card = run.require_trained()
    test = load_split(run, card, "test")
    detector = ObjectDetector(model)
    folder = run.path / "samples"
    results = []
    for i in range(min(SAMPLES, len(test.images))):
        found = detector.detect(test.images[i])
        bgr = cv2.cvtColor(test.images[i], cv2.COLOR_RGB2BGR)
        for d in found:
            x0, y0, x1, y1 = (int(round(v)) for v in d.box)
            cv2.rectangle(bgr, (x0, y0), (x1, y1), (0, 0, 255), 1)
        path = folder / f"test_{i}_{len(test.classes[i])}_objects.png"
        atomic.write_bytes(path, cv2.imencode(".png", bgr)[1].tobytes())
        results.append({"image": str(path), "objects": len(test.classes[i]), "found": [d.to_dict() for d in found]})
    return results
