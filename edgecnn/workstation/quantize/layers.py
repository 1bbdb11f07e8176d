"""`edgecnn quantize RUN_DIR --report layers`: the error each quantized layer introduces.

TensorFlow's quantization debugger runs the float and the int8 model side by side on the
calibration images and compares every quantized layer's output. The key column is RMSE / scale:
the layer's error measured in its own quantization steps. Pure rounding gives 1/sqrt(12) = 0.29;
layers well above that are where accuracy is lost (clipped outliers, wide ranges).
"""

from __future__ import annotations

import csv
import io
import math
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from edgecnn import atomic
from edgecnn.log import native_stderr_silenced
from edgecnn.workstation.config import QuantizeConfig
from edgecnn.workstation.models import load_keras
from edgecnn.workstation.plotting import md_table, png_bytes, pyplot
from edgecnn.workstation.quantize.calibrate import calibration_set
from edgecnn.workstation.quantize.convert import converter, export_saved_model
from edgecnn.workstation.run import RunDir
from edgecnn.workstation.tasks import load_split
from edgecnn.workstation.tf_env import tf

ROUNDING_FLOOR = 1 / math.sqrt(12)
FILES = ("quant_layers.json", "quant_layers.md", "quant_layers.png")


def layer_report(run_dir: str | Path, cfg: QuantizeConfig, data_override: str | None = None) -> dict[str, Any]:
    """Run the debugger on the run's model with `cfg` and return rows sorted worst first."""
    run = RunDir(Path(run_dir))
    card = run.require_trained()
    calib = calibration_set(load_split(run, card, "train", data_override), card, cfg.calib_samples).images
    model = load_keras(run.model)
    with tempfile.TemporaryDirectory(prefix="edgecnn-debug-") as tmp:
        rows = debugger_statistics(export_saved_model(model, card, Path(tmp)), calib, cfg)
    return {"run": str(run.path), "samples": len(calib), "rounding_floor": ROUNDING_FLOOR, "layers": rows}


def debugger_statistics(saved: Path, calib: np.ndarray, cfg: QuantizeConfig) -> list[dict[str, Any]]:
    """Per-layer error of full int8 on `calib`, worst (highest RMSE / scale) first."""
    conv = converter(saved, QuantizeConfig(mode="int8", io="float32", calib_samples=cfg.calib_samples), calib)
    options = tf.lite.experimental.QuantizationDebugOptions(
        layer_debug_metrics={"mean_abs_error": lambda diff: float(np.mean(np.abs(diff)))},
        layer_direct_compare_metrics={"relative_rmse": relative_rmse})
    with native_stderr_silenced(), warnings.catch_warnings():  # the debugger converts as it is made
        warnings.simplefilter("ignore")  # the debugger runs TensorFlow's deprecated interpreter
        debugger = tf.lite.experimental.QuantizationDebugger(
            converter=conv, debug_dataset=lambda: ([x[None]] for x in calib), debug_options=options)
        debugger.run()
    buf = io.StringIO()
    debugger.layer_statistics_dump(buf)
    return sorted(parse_statistics(buf.getvalue()), key=lambda r: -r["rmse_over_scale"])


def relative_rmse(float_value: np.ndarray, quant_value: np.ndarray, scale: float, zero_point: int) -> float:
    """RMSE of the dequantized layer output relative to the spread (std) of its float output.

    Comparable across layers whatever their scale: it says how much of a layer's signal the
    quantization noise amounts to. The budget's selective step keeps the worst of these in float.
    """
    f = np.asarray(float_value, dtype=np.float64)
    q = (np.asarray(quant_value, dtype=np.float64) - int(zero_point)) * float(scale)  # NaN stays NaN
    return float(np.sqrt(np.mean((f - q) ** 2)) / (np.std(f) + 1e-9))


def parse_statistics(text: str) -> list[dict[str, Any]]:
    """The debugger's CSV -> one dict per layer, in execution order, with RMSE / scale added."""
    rows = []
    for order, rec in enumerate(csv.DictReader(io.StringIO(text))):
        mse, scale = float(rec["mean_squared_error"]), float(rec["scale"])
        rmse = math.sqrt(max(mse, 0.0))
        rows.append({"order": order, "op": rec["op_name"], "tensor": rec["tensor_name"],
                     "elements": int(float(rec["num_elements"])), "rmse": rmse, "scale": scale,
                     "rmse_over_scale": rmse / scale if scale else float("inf"),
                     "max_abs_error": float(rec["max_abs_error"]),
                     "mean_abs_error": float(rec.get("mean_abs_error") or "nan"),
                     "relative_rmse": float(rec.get("relative_rmse") or "nan")})
    return rows


def short(name: str, width: int = 48) -> str:
    """Layer names from the converter join several ops with ';' — keep the first, trimmed."""
    first = name.split(";")[0]
    return first if len(first) <= width else "..." + first[-(width - 3):]


def table_rows(report: dict[str, Any], limit: int | None = None) -> list[tuple[str, ...]]:
    return [(str(r["order"]), r["op"], short(r["tensor"]), f"{r['rmse_over_scale']:.3f}",
             f"{r['relative_rmse']:.4f}", f"{r['rmse']:.5f}", f"{r['scale']:.5f}", f"{r['max_abs_error']:.4f}")
            for r in report["layers"][:limit]]


HEADER = ("#", "op", "layer", "RMSE/scale", "RMSE/std", "RMSE", "scale", "max |err|")


def write_layer_report(report: dict[str, Any], run_dir: Path) -> list[Path]:
    """quant_layers.json / .md / .png in the run folder, each written atomically."""
    paths = [run_dir / name for name in FILES]
    atomic.write_json(paths[0], report)
    md = [f"# Per-layer quantization error: {run_dir.name}", "",
          f"{report['samples']} calibration images; layers sorted by RMSE / scale (error in quantization "
          f"steps; rounding alone gives {ROUNDING_FLOOR:.3f}). RMSE / std is the error relative to the "
          f"spread of the layer's float output.", "", md_table(HEADER, table_rows(report)), "",
          "![RMSE / scale per layer](quant_layers.png)", ""]
    atomic.write_text(paths[1], "\n".join(md))
    plt = pyplot()
    ordered = sorted(report["layers"], key=lambda r: r["order"])
    fig, ax = plt.subplots(figsize=(max(5.0, 0.35 * len(ordered) + 2), 3.2))
    ax.bar(range(len(ordered)), [r["rmse_over_scale"] for r in ordered], color="tab:blue")
    ax.axhline(ROUNDING_FLOOR, color="tab:red", linestyle="--", linewidth=1, label="rounding only")
    ax.set_xticks(range(len(ordered)), [f"{r['order']} {r['op']}" for r in ordered], rotation=90, fontsize=7)
    ax.set_ylabel("RMSE / scale")
    ax.legend(fontsize=7)
    atomic.write_bytes(paths[2], png_bytes(fig))
    return paths
