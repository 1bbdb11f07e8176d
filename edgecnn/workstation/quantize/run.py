"""`edgecnn quantize`: model.keras -> float32 and quantized .tflite with the card inside."""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgecnn import atomic
from edgecnn.card import Card
from edgecnn.log import completed, get_logger
from edgecnn.runtime.edgetpu_check import EdgeTPUReport, check_bytes
from edgecnn.runtime.modelinfo import read_model_info
from edgecnn.workstation.config import QuantizeConfig
from edgecnn.workstation.models import load_keras
from edgecnn.workstation.quantize.budget import BudgetReport, format_attempts, hold_out, search
from edgecnn.workstation.quantize.calibrate import Calibration, calibration_set
from edgecnn.workstation.quantize.convert import convert, export_saved_model
from edgecnn.workstation.quantize.metadata import with_card
from edgecnn.workstation.run import RunDir
from edgecnn.workstation.tasks import Split, load_split, measure_for
from edgecnn.workstation.tf_env import tf

log = get_logger(__name__)
HOLD_OUT_FRACTION = 0.2  # of each class of the train split, for the budget when there is no val split


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

    @property
    def precision(self) -> str:
        """"int8", "int16x8", "mixed" (int8 with float layers), or the mode asked for."""
        return self.budget.kept.precision if self.budget is not None else self.cfg.mode

    def to_dict(self) -> dict[str, Any]:
        return {"model": str(self.path), "float32": str(self.float32_path), "mode": self.cfg.mode,
                "io": self.cfg.io, "precision": self.precision, "sizes": self.sizes, "calibration": self.calibration,
                "warnings": list(self.warnings), "edgetpu": self.edgetpu.to_dict() if self.edgetpu else None,
                "budget": self.budget.to_dict() if self.budget else None}


def quantize_run(run_dir: str | Path, cfg: QuantizeConfig, out: str | Path | None = None,
                 data_override: str | None = None, max_drop: float | None = None) -> QuantizeResult:
    """Convert the run's Keras model to `cfg.mode` (and a float32 reference) with the card embedded.
    With `max_drop`, the file is named after the precision the budget chose (run.py's filename_for)."""
    run = RunDir(Path(run_dir))
    card = run.require_trained()
    atomic.clean_stale(run.path)
    measure = measure_for(card, "--max-drop") if max_drop is not None and cfg.mode == "int8" else None
    model = load_keras(run.model)
    train = calib = held_out = None
    if cfg.mode in ("int8", "int16x8"):
        train = load_split(run, card, "train", data_override)
        if measure is not None:
            train, held_out = _budget_parts(run, card, train, data_override)
        calib = calibration_set(train, card, cfg.calib_samples, cfg.min_per_class)
    with tempfile.TemporaryDirectory(prefix="edgecnn-export-") as tmp:
        saved = export_saved_model(model, card, Path(tmp))
        float_bytes = convert(saved, None)
        quant_bytes = convert(saved, cfg, calib.images if calib else None)
        budget = None
        if measure is not None and train is not None and held_out is not None:
            quant_bytes, budget = search(model, saved, card, cfg, max_drop, quant_bytes, train, held_out, measure)
    target = Path(out) if out else run.path / filename_for(cfg, budget)
    _supersede(run, cfg, target, out)
    readiness = check_bytes(quant_bytes, str(target)) if cfg.target == "edgetpu" else None
    source_sha = hashlib.sha256(run.model.read_bytes()).hexdigest()
    float_path = run.path / "model_float32.tflite"
    for path, data, how in ((float_path, float_bytes, None), (target, quant_bytes, cfg)):
        section = _quant_section(how, calib, source_sha, budget, data)
        if how is not None and readiness is not None:
            section["edgetpu"] = {"ready": readiness.fully_mappable, "first_unmappable": readiness.first_unmappable}
        atomic.write_bytes(path, with_card(data, card.with_section("quantization", section)))
        completed(f"{path.name} was written")
    sizes = {"keras": run.model.stat().st_size, "float32": float_path.stat().st_size,
             "quantized": target.stat().st_size}
    return QuantizeResult(target, float_path, cfg, sizes, calib.per_class if calib else {},
                          calib.warnings if calib else (), readiness, budget, card.task)


def filename_for(cfg: QuantizeConfig, budget: BudgetReport | None) -> str:
    """The file's name says its precision: model_int8.tflite only when every layer is int8;
    model_int16x8.tflite for 16-bit activations; model_mixed.tflite when layers stayed float."""
    precision = budget.kept.precision if budget is not None else "int8"
    if precision == "int16x8":
        return "model_int16x8.tflite"
    if precision == "mixed":
        return "model_mixed.tflite" if cfg.io == "int8" else f"model_mixed_{cfg.io}io.tflite"
    return cfg.filename


def _supersede(run: RunDir, cfg: QuantizeConfig, target: Path, out: str | Path | None) -> None:
    """A budget fallback replaces the run's model_int8.tflite (plain int8 missed the budget): remove
    the old file, so nothing later mistakes it for the model this command chose."""
    plain = run.path / cfg.filename
    if out is None and target != plain and plain.exists():
        plain.unlink()
        log.info(f"removed {plain.name}: plain int8 missed the budget, {target.name} replaces it")


def _budget_parts(run: RunDir, card: Card, train: Split, data_override: str | None) -> tuple[Split, Split]:
    """(calibration images, budget images): the val split, or without one a held-out part of train."""
    if run.read_split()["ids"].get("val"):
        return train, load_split(run, card, "val", data_override)
    rest, held = hold_out(train, HOLD_OUT_FRACTION, int(card.sections.get("dataset", {}).get("seed", 0)))
    log.info(f"no validation split: the budget is measured on {len(held.images)} train images set aside "
             f"(calibration uses the other {len(rest.images)})")
    return rest, held


def precision_groups(model: bytes) -> dict[str, dict[str, int]]:
    """{tensor type: {operator: count}} by each operator's output type, QUANTIZE / DEQUANTIZE left out
    (they convert between groups): what runs in int8 and what stays float."""
    info = read_model_info(model)
    groups: dict[str, dict[str, int]] = {}
    for op in info.operators:
        if op.name in ("QUANTIZE", "DEQUANTIZE") or not op.outputs:
            continue
        dtype = info.tensors[op.outputs[0]].dtype.lower()  # "int8", "float32", "int16"
        groups.setdefault(dtype, {})
        groups[dtype][op.name] = groups[dtype].get(op.name, 0) + 1
    return groups


def _quant_section(cfg: QuantizeConfig | None, calib: Calibration | None, source_sha: str,
                   budget: BudgetReport | None, data: bytes) -> dict[str, Any]:
    base = {"tensorflow": tf.__version__, "source_model_sha256": source_sha, "precision": precision_groups(data)}
    if cfg is None:
        return {"mode": "float32", "io": "float32", **base}
    mode = budget.kept.precision if budget is not None and budget.kept.precision != "int8" else cfg.mode
    io = cfg.io if mode in ("int8", "mixed") else "float32"
    if mode == "int16x8" and cfg.io != "float32":
        io = "int16"  # the converter's integer io for 16-bit activations
    section: dict[str, Any] = {"mode": mode, "io": io, "target": cfg.target, **base}
    if calib is not None:
        section["calibration"] = {"samples": sum(calib.per_class.values()), "per_class": calib.per_class}
    if budget is not None:
        section["budget"] = budget.to_dict()
        if budget.kept.float_layer_names:
            section["float_layers"] = list(budget.kept.float_layer_names)
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
