"""`edgecnn quantize`: model.keras -> float32 and quantized .tflite with the card inside."""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgecnn import atomic
from edgecnn.log import completed
from edgecnn.runtime.edgetpu_check import EdgeTPUReport, check_bytes
from edgecnn.workstation.config import QuantizeConfig
from edgecnn.workstation.models import load_keras
from edgecnn.workstation.quantize.budget import BudgetReport, format_attempts, search
from edgecnn.workstation.quantize.calibrate import Calibration, calibration_set
from edgecnn.workstation.quantize.convert import convert, export_saved_model
from edgecnn.workstation.quantize.metadata import with_card
from edgecnn.workstation.run import RunDir
from edgecnn.workstation.tasks import load_split, measure_for
from edgecnn.workstation.tf_env import tf


@dataclass(frozen=True)
class QuantizeResult:
    """Files written, what calibration used, and the readiness / budget reports when asked for."""

    path: Path
    float32_path: Path
    cfg: QuantizeConfig
    sizes: dict[str, int]
    calibration: dict[str, int]
    warnings: tuple[str, ...] = ()
    edgetpu: EdgeTPUReport | None = None  # with --target edgetpu
    budget: BudgetReport | None = None  # with --max-drop
    task: str = "classifier"

    def to_dict(self) -> dict[str, Any]:
        return {"model": str(self.path), "float32": str(self.float32_path), "mode": self.cfg.mode,
                "io": self.cfg.io, "sizes": self.sizes, "calibration": self.calibration,
                "warnings": list(self.warnings), "edgetpu": self.edgetpu.to_dict() if self.edgetpu else None,
                "budget": self.budget.to_dict() if self.budget else None}


def quantize_run(run_dir: str | Path, cfg: QuantizeConfig, out: str | Path | None = None,
                 data_override: str | None = None, max_drop: float | None = None) -> QuantizeResult:
    """Convert the run's Keras model to `cfg.mode` (and a float32 reference) with the card embedded."""
    run = RunDir(Path(run_dir))
    card = run.require_trained()
    atomic.clean_stale(run.path)
    measure = measure_for(card, "--max-drop") if max_drop is not None and cfg.mode == "int8" else None
    target = Path(out) if out else run.path / cfg.filename
    model = load_keras(run.model)
    train = calib = None
    if cfg.mode in ("int8", "int16x8"):
        train = load_split(run, card, "train", data_override)
        calib = calibration_set(train, card, cfg.calib_samples, cfg.min_per_class)
    with tempfile.TemporaryDirectory(prefix="edgecnn-export-") as tmp:
        saved = export_saved_model(model, card, Path(tmp))
        float_bytes = convert(saved, None)
        quant_bytes = convert(saved, cfg, calib.images if calib else None)
        budget = None
        if measure is not None and train is not None:
            held_out = load_split(run, card, "val", data_override) if run.read_split()["ids"]["val"] else train
            quant_bytes, budget = search(model, saved, card, cfg, max_drop, quant_bytes, train, held_out, measure)
    readiness = check_bytes(quant_bytes, str(target)) if cfg.target == "edgetpu" else None
    source_sha = hashlib.sha256(run.model.read_bytes()).hexdigest()
    float_path = run.path / "model_float32.tflite"
    for path, data, how in ((float_path, float_bytes, None), (target, quant_bytes, cfg)):
        section = _quant_section(how, calib, source_sha)
        if how is not None and budget is not None:
            section["budget"] = budget.to_dict()
        if how is not None and readiness is not None:
            section["edgetpu"] = {"ready": readiness.fully_mappable, "first_unmappable": readiness.first_unmappable}
        atomic.write_bytes(path, with_card(data, card.with_section("quantization", section)))
        completed(f"{path.name} was written")
    sizes = {"keras": run.model.stat().st_size, "float32": float_path.stat().st_size,
             "quantized": target.stat().st_size}
    return QuantizeResult(target, float_path, cfg, sizes, calib.per_class if calib else {},
                          calib.warnings if calib else (), readiness, budget, card.task)


def _quant_section(cfg: QuantizeConfig | None, calib: Calibration | None, source_sha: str) -> dict[str, Any]:
    base = {"tensorflow": tf.__version__, "source_model_sha256": source_sha}
    if cfg is None:
        return {"mode": "float32", "io": "float32", **base}
    section: dict[str, Any] = {"mode": cfg.mode, "io": cfg.io if cfg.mode == "int8" else "float32",
                               "target": cfg.target, **base}
    if calib is not None:
        section["calibration"] = {"samples": sum(calib.per_class.values()), "per_class": calib.per_class}
    return section


def describe(result: QuantizeResult) -> list[str]:
    """Human-readable lines: calibration diagnostics and sizes."""
    lines = []
    if result.calibration:
        per = list(result.calibration.values())
        what = "objects" if result.task == "detector" else "train images"
        lines.append(f"calibration: {sum(per)} {what}, {min(per)}-{max(per)} per class over {len(per)} classes")
    lines += [f"warning: {w}" for w in result.warnings]
    if result.budget is not None:
        lines += format_attempts(result.budget)
    s = result.sizes
    lines.append(f"sizes: model.keras {_kb(s['keras'])}, float32 .tflite {_kb(s['float32'])}, "
                 f"{result.path.name} {_kb(s['quantized'])} "
                 f"({s['float32'] / max(s['quantized'], 1):.2f}x smaller than float32)")
    return lines


def _kb(n: int) -> str:
    return f"{n / 1024:.1f} kB"
