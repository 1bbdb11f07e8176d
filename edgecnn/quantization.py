"""`edgecnn quantize`: model.keras -> float32 and quantized .tflite with the card inside."""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from edgecnn import atomic
from edgecnn.card import METADATA_NAME, Card
from edgecnn.config import QuantizeConfig
from edgecnn.edgetpu_check import check_bytes
from edgecnn.errors import EdgeCNNError
from edgecnn.progress import Progress, info
from edgecnn.run import RunDir, load_split_images
from edgecnn.runtime.classify import normalize
from edgecnn.tf_env import import_tf
from edgecnn.tflite_meta import embed_metadata


@dataclass
class QuantizeResult:
    """Files written and what calibration used."""

    path: Path
    float32_path: Path
    sizes: dict[str, int]
    calibration: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    edgetpu: dict[str, Any] | None = None  # the readiness report, with --target edgetpu
    budget: dict[str, Any] | None = None  # the attempts, with --max-drop


def quantize_run(run_dir: str | Path, cfg: QuantizeConfig, out: str | Path | None = None,
                 data_override: str | None = None, max_drop: float | None = None) -> QuantizeResult:
    """Convert the run's Keras model to `cfg.mode` (and a float32 reference) with the card embedded."""
    run = RunDir(Path(run_dir))
    card = run.require_trained()
    target = Path(out) if out else run.path / cfg.filename
    tf, keras = import_tf()
    model = load_keras(keras, run.model)
    calib, counts, warnings = (None, {}, [])
    if cfg.mode in ("int8", "int16x8"):
        calib, counts, warnings = calibration_set(run, card, cfg, data_override)
    with tempfile.TemporaryDirectory(prefix="edgecnn-export-") as tmp:
        saved = export_saved_model(tf, model, card, Path(tmp))
        float_bytes = _convert(tf, saved, QuantizeConfig(mode="dynamic"), None, reference=True)
        quant_bytes = _convert(tf, saved, cfg, calib)
        budget = None
        if max_drop is not None and cfg.mode == "int8":
            from edgecnn.budget import search

            quant_bytes, budget = search(tf, model, saved, run, card, cfg, max_drop, quant_bytes, data_override)
    readiness = check_bytes(quant_bytes, str(target)) if cfg.target == "edgetpu" else None
    source_sha = hashlib.sha256(run.model.read_bytes()).hexdigest()
    float_path = run.path / "model_float32.tflite"
    for path, data, how in ((float_path, float_bytes, None), (target, quant_bytes, cfg)):
        section = _quant_section(tf, how, counts, source_sha)
        if how is not None and budget is not None:
            section["budget"] = budget
        if how is not None and readiness is not None:
            section["edgetpu"] = {"ready": readiness["fully_mappable"],
                                  "first_unmappable": readiness["first_unmappable"]}
        atomic.write_bytes(path, embed_metadata(data, METADATA_NAME,
                                                card.with_section("quantization", section).to_json().encode()))
    sizes = {"keras": run.model.stat().st_size, "float32": float_path.stat().st_size,
             "quantized": target.stat().st_size}
    return QuantizeResult(target, float_path, sizes, counts, warnings, readiness, budget)


def calibration_set(run: RunDir, card: Card, cfg: QuantizeConfig,
                    data_override: str | None) -> tuple[np.ndarray, dict[str, int], list[str]]:
    """Up to cfg.calib_samples train images, balanced across classes, with diagnostics."""
    images, targets = load_split_images(run, card, "train", data_override)
    seed = int(card.sections.get("dataset", {}).get("seed", 0))
    chosen = balanced_choice(targets, len(card.labels), cfg.calib_samples, seed)
    counts = {lab: int((targets[chosen] == i).sum()) for i, lab in enumerate(card.labels)}
    warnings = [f"class '{lab}' has only {n} calibration image(s) (fewer than {cfg.min_per_class}); "
                f"its activation ranges may be under-represented" for lab, n in counts.items()
                if n < cfg.min_per_class]
    return normalize(images[chosen], card.preprocessing), counts, warnings


def balanced_choice(targets: np.ndarray, num_classes: int, total: int, seed: int) -> np.ndarray:
    """Indices of up to `total` samples, as even across classes as the data allows."""
    rng = np.random.default_rng(seed)
    pools = [list(rng.permutation(np.flatnonzero(targets == c))) for c in range(num_classes)]
    chosen: list[int] = []
    while len(chosen) < total and any(pools):
        for pool in pools:
            if pool and len(chosen) < total:
                chosen.append(int(pool.pop()))
    return np.array(sorted(chosen), dtype=np.int64)


def export_saved_model(tf: Any, model: Any, card: Card, folder: Path) -> Path:
    """model.export() with a static batch-1 float signature (what the Edge TPU compiler needs)."""
    saved = folder / "saved_model"
    spec = card.input
    signature = [tf.TensorSpec((1, spec.height, spec.width, spec.channels), tf.float32, name="image")]
    model.export(str(saved), format="tf_saved_model", input_signature=signature, verbose=False)
    return saved


def load_keras(keras: Any, path: Path) -> Any:
    """Load a run's model.keras; one clear error when the file is damaged."""
    try:
        return keras.models.load_model(path, compile=False)
    except Exception as exc:  # zip, h5 or deserialisation errors all mean "damaged file"
        raise EdgeCNNError(f"cannot load {path} ({type(exc).__name__}); retrain the run") from None


def _convert(tf: Any, saved: Path, cfg: QuantizeConfig, calib: np.ndarray | None,
             reference: bool = False) -> bytes:
    conv = tf.lite.TFLiteConverter.from_saved_model(str(saved))
    if not reference:
        configure(tf, conv, cfg, calib)
    try:
        return bytes(conv.convert())
    except Exception as exc:  # the converter raises ConverterError, RuntimeError, ValueError...
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise EdgeCNNError(f"TFLite conversion ({'float32' if reference else cfg.mode}) failed: {first}") from None


def configure(tf: Any, conv: Any, cfg: QuantizeConfig, calib: np.ndarray | None) -> None:
    """Set a TFLiteConverter up for `cfg.mode` (int8 needs the calibration images `calib`)."""
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    if cfg.mode == "float16":
        conv.target_spec.supported_types = [tf.float16]
    elif cfg.mode in ("int8", "int16x8"):
        assert calib is not None  # internal invariant: integer modes always get a calibration set
        conv.representative_dataset = representative(calib)
        if cfg.mode == "int8":
            conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            io_type = {"int8": tf.int8, "uint8": tf.uint8, "float32": tf.float32}[cfg.io]
        else:  # 16-bit activations, 8-bit weights; integer io becomes int16
            ops = tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8
            conv.target_spec.supported_ops = [ops]
            io_type = tf.float32 if cfg.io == "float32" else tf.int16
        conv.inference_input_type = io_type
        conv.inference_output_type = io_type


def representative(calib: np.ndarray) -> Callable[[], Iterator[list[np.ndarray]]]:
    """A representative-dataset generator over calibration images, with a progress bar."""
    def generate() -> Iterator[list[np.ndarray]]:
        bar = Progress(len(calib), "calibrating")
        for x in calib:
            yield [x[None, ...].astype(np.float32)]
            bar.update()
        bar.close()
    return generate


def _quant_section(tf: Any, cfg: QuantizeConfig | None, counts: dict[str, int], source_sha: str) -> dict:
    base = {"tensorflow": tf.__version__, "source_model_sha256": source_sha}
    if cfg is None:
        return {"mode": "float32", "io": "float32", **base}
    section: dict[str, Any] = {"mode": cfg.mode, "io": cfg.io if cfg.mode == "int8" else "float32",
                               "target": cfg.target, **base}
    if cfg.mode in ("int8", "int16x8"):
        section["calibration"] = {"samples": sum(counts.values()), "per_class": counts}
    return section


def describe(result: QuantizeResult) -> list[str]:
    """Human-readable lines: calibration diagnostics and sizes."""
    lines = []
    if result.calibration:
        per = list(result.calibration.values())
        lines.append(f"calibration: {sum(per)} train images, {min(per)}-{max(per)} per class "
                     f"over {len(per)} classes")
    lines += [f"warning: {w}" for w in result.warnings]
    if result.budget is not None:
        from edgecnn.budget import format_attempts

        lines += format_attempts(result.budget)
    s = result.sizes
    lines.append(f"sizes: model.keras {_kb(s['keras'])}, float32 .tflite {_kb(s['float32'])}, "
                 f"{result.path.name} {_kb(s['quantized'])} "
                 f"({s['float32'] / max(s['quantized'], 1):.2f}x smaller than float32)")
    return lines


def _kb(n: int) -> str:
    return f"{n / 1024:.1f} kB"


def log(result: QuantizeResult) -> None:
    for line in describe(result):
        info(line)
