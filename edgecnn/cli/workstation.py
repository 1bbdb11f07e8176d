"""Workstation commands: quantize, parity, quickstart (TensorFlow imported inside the callbacks)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from edgecnn.cli.app import cli
from edgecnn.cli.common import THREADS, Finite, emit_json, quiet_for_json
from edgecnn.text import printable_lines


@cli.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--recipe", help="Recipe: a shipped name (int8, int8-uint8io, float16, dynamic) or a TOML "
                               "file; options given here override it.")
@click.option("--mode", type=click.Choice(["int8", "int16x8", "float16", "dynamic"]),
              help="int8 = full integer (default); int16x8 = 16-bit activations, 8-bit weights; "
                   "float16; dynamic = int8 weights, float activations.")
@click.option("--io", type=click.Choice(["int8", "uint8", "float32"]),
              help="int8 mode: input/output tensor type [int8].")
@click.option("--calib-samples", type=click.IntRange(1, 10**7), help="Calibration images from the train split [500].")
@click.option("--target", type=click.Choice(["cpu", "edgetpu"]),
              help="edgetpu: check that every op maps to the Edge TPU; exit 1 when not [cpu].")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path),
              help="Model file to write (default RUN_DIR/model_MODE.tflite).")
@click.option("--max-drop", type=Finite(0, 100), default=None,
              help="Accuracy budget in pp on the validation split: try better calibration, int16 "
                   "activations, float layers until it is met (int8 mode).")
@click.option("--report", type=click.Choice(["layers"]),
              help="layers: also measure each int8 layer's error on the calibration images "
                   "(quant_layers.md/.json/.png).")
@click.option("--data", "data_override", help="Training data folder, if it moved since training.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary on stdout.")
def quantize(run_dir: Path, recipe: str | None, out: Path | None, data_override: str | None,
             report: str | None, max_drop: float | None, as_json: bool, **options: Any) -> None:
    """Convert RUN_DIR's model to TFLite with the card embedded (plus a float32 reference)."""
    from edgecnn.workstation.config import QuantizeConfig
    from edgecnn.workstation.recipes import build, merge, read_recipe
    from edgecnn.workstation.run import RunDir

    quiet_for_json(as_json)
    cfg = build(QuantizeConfig, merge(read_recipe(recipe, "quantize"), options), recipe or "options")
    RunDir(run_dir).require_trained()  # answered before TensorFlow loads
    from edgecnn.workstation.quantize.run import describe, quantize_run

    result = quantize_run(run_dir, cfg, out, data_override, max_drop)
    if as_json:
        layers = _layer_report(run_dir, cfg, data_override, as_json) if report == "layers" else None
        emit_json({**result.to_dict(), "layers": layers})
        if result.edgetpu is not None and not result.edgetpu.fully_mappable:
            _edgetpu_verdict(result)
        _budget_verdict(result)
        return
    for line in describe(result):
        click.echo(line)
    click.echo(f"wrote {result.path} and {result.float32_path.name}")
    if result.precision in ("mixed", "int16x8"):
        what = "keeps layers in float" if result.precision == "mixed" else "has 16-bit activations"
        click.echo(f"warning: {result.path.name} {what}: it is not a full-int8 model and will not map to the "
                   f"Edge TPU (its card lists the precision of each operator group)", err=True)
    if report == "layers":
        _layer_report(run_dir, cfg, data_override, as_json)
    _edgetpu_verdict(result)
    _budget_verdict(result)
    then = f", then edgecnn edgetpu compile {result.path}" if result.edgetpu is not None else ""
    click.echo(f"next: edgecnn parity {run_dir}{then}")


def _budget_verdict(result: Any) -> None:
    """With --max-drop: exit 1 when no attempt met the budget (the best one is still written)."""
    if result.budget is not None and not result.budget.met:
        from edgecnn.errors import BudgetExceeded

        best = min(a.drop_pp for a in result.budget.attempts)
        raise BudgetExceeded(f"no attempt met --max-drop {result.budget.max_drop_pp:.2f} pp "
                             f"(best {best:.2f} pp, written to {result.path.name})")


def _layer_report(run_dir: Path, cfg: Any, data_override: str | None, as_json: bool) -> dict:
    from edgecnn.workstation.plotting import text_table
    from edgecnn.workstation.quantize.layers import HEADER, layer_report, table_rows, write_layer_report

    report = layer_report(run_dir, cfg, data_override)
    write_layer_report(report, run_dir)
    if not as_json:
        click.echo("worst layers (RMSE / scale: error in quantization steps, rounding alone is 0.289; "
                   "RMSE / std: error relative to the float output's spread):")
        click.echo(text_table(HEADER, table_rows(report, 10)))
        click.echo(f"per-layer report in {run_dir / 'quant_layers.md'}")
    return report


def _edgetpu_verdict(result: Any) -> None:
    """With --target edgetpu: say whether the model is Edge-TPU-ready; exit 1 when it is not."""
    if result.edgetpu is None:
        return
    from edgecnn.errors import EdgeCNNError
    from edgecnn.runtime.edgetpu_check import format_check

    check = result.edgetpu
    if check.fully_mappable:
        click.echo(f"Edge TPU ready: all {check.operators} operators map")
        return
    click.echo(format_check(check), err=True)
    op = check.ops[check.first_unmappable]
    raise EdgeCNNError(f"{result.path.name} is NOT Edge TPU ready: op {op.index} ({op.op}) cannot be "
                       f"mapped: {op.reasons[0]}")


@cli.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--max-drop", default=1.0, show_default=True, type=Finite(0, 100),
              help="Budget: the largest drop (top-1 accuracy, or mAP@.5 for detectors), in percentage points, "
                   "that passes.")
@click.option("--min-accuracy", type=Finite(0, 100), default=None,
              help="Classifiers: the least top-1 accuracy (in %) the quantized model must reach.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=str),
              help="Also write the JSON report to this file ('-' for stdout).")
@click.option("--data", "data_override", help="Training data folder, if it moved since training.")
@click.option("--threads", type=THREADS, help="Interpreter threads for the .tflite models.")
def parity(run_dir: Path, max_drop: float, min_accuracy: float | None, json_path: str | None,
           data_override: str | None, threads: int | None) -> None:
    """Prove what quantization cost: float Keras vs every .tflite on the held-out test split.

    Writes parity.json, parity.md and PNG plots into RUN_DIR. Exit code 1 when the quantized
    model's drop exceeds --max-drop (top-1 accuracy for classifiers, COCO mAP@.5 for detectors),
    when a classifier's float model is no better than chance, or when the quantized model is
    below --min-accuracy.
    """
    from edgecnn.errors import EdgeCNNUsageError
    from edgecnn.workstation.run import RunDir

    quiet_for_json(json_path == "-")
    card = RunDir(run_dir).require_trained()  # answered before TensorFlow loads
    if min_accuracy is not None and card.task != "classifier":
        raise EdgeCNNUsageError(f"--min-accuracy is for classifiers; {run_dir} holds a {card.task}")
    from edgecnn.workstation.parity import run_parity
    from edgecnn.workstation.reports import parity_table, write_parity

    fraction = None if min_accuracy is None else min_accuracy / 100
    report = run_parity(run_dir, max_drop, data_override, threads, fraction)
    to_file = Path(json_path) if json_path not in (None, "-") else None
    write_parity(report, run_dir, to_file)
    if json_path == "-":
        emit_json(report.to_dict())
    else:
        click.echo(printable_lines(parity_table(report, run_dir)))
        click.echo(f"{report.verdict()}; report in {run_dir / 'parity.md'}")
    report.check(run_dir)
    if json_path != "-":
        click.echo(printable_lines(next_after_parity(run_dir, report.primary, card.task)))


def next_after_parity(run_dir: Path, model: str, task: str) -> str:
    """The command to run once the gate passed: the quantized model on the device."""
    if task == "detector":
        return f"next: edgecnn detect {run_dir / model} --source IMAGES_OR_CAMERA (on the device)"
    return f"next: edgecnn classify {run_dir / model} IMAGE... (on the device; the card inside carries the labels)"


@cli.command()
@click.option("--out", "-o", default="runs/quickstart", show_default=True,
              type=click.Path(file_okay=False, path_type=Path), help="Run folder (replaced if present).")
@click.option("--epochs", type=click.IntRange(1, 100000), default=None,
              help="Maximum training epochs [60 for digits, 40 for shapes].")
@click.option("--task", type=click.Choice(["classify", "detect"]), default="classify", show_default=True,
              help="classify: digits (about 20-40 s); detect: boxes on the built-in shapes (a few minutes).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def quickstart(out: Path, epochs: int | None, task: str, as_json: bool) -> None:
    """The whole story offline: train -> quantize int8 -> parity -> classify (digits) or detect
    (shapes, with --task detect) on a few test images with the device runtime."""
    quiet_for_json(as_json)
    from edgecnn.workstation.quickstart import format_summary, run_quickstart

    if task == "detect":
        from edgecnn.workstation.detection.quickstart import run_detection_quickstart

        summary = run_detection_quickstart(out, epochs)
    else:
        summary = run_quickstart(out, epochs)
    if as_json:
        emit_json(summary)
    else:
        click.echo(format_summary(summary))
    if not summary["parity"]["passed"]:
        from edgecnn.errors import BudgetExceeded

        raise BudgetExceeded(f"quantization cost {summary['parity']['drop_pp']:.2f} pp, more than the "
                             f"{summary['parity']['max_drop_pp']:.2f} pp budget; see {out / 'parity.md'}")
