"""Workstation commands: train, quantize, parity, quickstart (TensorFlow imported inside)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from edgecnn.cli.app import cli
from edgecnn.cli.common import SEED, THREADS, Finite, emit_json, parse_size, quiet_for_json


@cli.command()
@click.argument("data", required=False)
@click.option("--out", "-o", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Run folder to write (model.keras, card.json, split.json).")
@click.option("--recipe", help="Recipe: a shipped name (digits, faces) or a TOML file; options given here "
                               "override it.")
@click.option("--arch", type=click.Choice(["cnn", "mobilenetv2"]), help="Architecture [cnn].")
@click.option("--alpha", type=Finite(0, 4, min_open=True), help="MobileNetV2 width multiplier [0.35].")
@click.option("--weights", type=click.Choice(["none", "imagenet"]),
              help="MobileNetV2 initial weights [none]; imagenet needs internet once.")
@click.option("--size", help="Input size N or HxW (default: digits 8x8, folders 64x64).")
@click.option("--color", type=click.Choice(["rgb", "gray"]), help="Colour mode (default: detect).")
@click.option("--epochs", type=click.IntRange(1, 100000), help="Maximum epochs [60]; early stopping may end sooner.")
@click.option("--batch-size", type=click.IntRange(1, 65536), help="Batch size [32].")
@click.option("--lr", "learning_rate", type=Finite(0, 10, min_open=True), help="Adam learning rate [0.002].")
@click.option("--patience", type=click.IntRange(0, 100000), help="Early-stopping patience in epochs [15].")
@click.option("--seed", type=SEED, help="Seed for the split, initialisation and augmentation [0].")
@click.option("--val-fraction", type=Finite(0, 1, max_open=True), help="Validation fraction per class [0.15].")
@click.option("--test-fraction", type=Finite(0, 1, min_open=True, max_open=True),
              help="Held-out test fraction per class [0.2].")
@click.option("--overwrite", is_flag=True, help="Replace a model already in --out.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary on stdout.")
def train(data: str | None, out: Path, recipe: str | None, size: str | None, weights: str | None,
          overwrite: bool, as_json: bool, **options: Any) -> None:
    """Train a CNN on DATA: an image folder (one sub-folder per class) or `digits`.

    Writes RUN_DIR/model.keras and RUN_DIR/card.json (labels, input, preprocessing,
    split, float metrics) and the deterministic stratified split in split.json.
    """
    from edgecnn.errors import EdgeCNNUsageError
    from edgecnn.workstation.config import TrainConfig
    from edgecnn.workstation.datasets import check_source
    from edgecnn.workstation.recipes import build, merge, read_recipe
    from edgecnn.workstation.run import RunDir

    quiet_for_json(as_json)
    base = read_recipe(recipe, "train")
    options["height"], options["width"] = parse_size(size)
    if weights is not None:
        options["weights"] = None if weights == "none" else weights
    values = merge(base, options)
    data = data or values.get("data")
    if not data:
        raise EdgeCNNUsageError("give DATA (an image folder or 'digits') or a recipe with data = ...")
    values["data"] = data
    cfg = build(TrainConfig, values, recipe or "options")
    RunDir(out).check_writable(overwrite)  # answered before TensorFlow loads
    check_source(data)
    from edgecnn.workstation.training import train as run_training

    result = run_training(data, out, cfg, overwrite=overwrite)
    summary = {"run": str(out), "arch": cfg.arch, "classes": result.card.num_classes,
               "val_accuracy": result.val_accuracy, "test_accuracy": result.test_accuracy,
               "epochs": result.epochs_run, "seconds": round(result.seconds, 1)}
    if as_json:
        emit_json(summary)
    else:
        val = "-" if result.val_accuracy is None else f"{result.val_accuracy * 100:.2f} %"
        click.echo(f"trained {cfg.arch} on {data}: val {val}, test {result.test_accuracy * 100:.2f} % "
                   f"({result.epochs_run} epochs, {result.seconds:.1f} s) -> {out}/model.keras")


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
    if report == "layers":
        _layer_report(run_dir, cfg, data_override, as_json)
    _edgetpu_verdict(result)
    _budget_verdict(result)


def _budget_verdict(result: Any) -> None:
    """With --max-drop: exit 1 when no attempt met the budget (the best one is still written)."""
    if result.budget is not None and not result.budget.met:
        from edgecnn.errors import BudgetExceeded

        best = min(a.drop_pp for a in result.budget.attempts)
        raise BudgetExceeded(f"no attempt met --max-drop {result.budget.max_drop_pp:.2f} pp "
                             f"(best {best:.2f} pp, written to {result.path.name})")


def _layer_report(run_dir: Path, cfg: Any, data_override: str | None, as_json: bool) -> dict:
    from edgecnn.workstation.quantize.layers import HEADER, layer_report, table_rows, write_layer_report
    from edgecnn.workstation.reports import text_table

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
        click.echo(f"Edge TPU ready: all {check.operators} operators map; "
                   f"next: edgecnn edgetpu compile {result.path}")
        return
    click.echo(format_check(check), err=True)
    op = check.ops[check.first_unmappable]
    raise EdgeCNNError(f"{result.path.name} is NOT Edge TPU ready: op {op.index} ({op.op}) cannot be "
                       f"mapped: {op.reasons[0]}")


@cli.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--max-drop", default=1.0, show_default=True, type=Finite(0, 100),
              help="Budget: the largest top-1 accuracy drop, in percentage points, that passes.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=str),
              help="Also write the JSON report to this file ('-' for stdout).")
@click.option("--data", "data_override", help="Training data folder, if it moved since training.")
@click.option("--threads", type=THREADS, help="Interpreter threads for the .tflite models.")
def parity(run_dir: Path, max_drop: float, json_path: str | None, data_override: str | None,
           threads: int | None) -> None:
    """Prove what quantization cost: float Keras vs every .tflite on the held-out test split.

    Writes parity.json, parity.md and PNG plots into RUN_DIR. Exit code 1 when the
    quantized model's top-1 drop exceeds --max-drop.
    """
    from edgecnn.workstation.run import RunDir

    quiet_for_json(json_path == "-")
    RunDir(run_dir).require_trained()  # answered before TensorFlow loads
    from edgecnn.workstation.parity import check_budget, run_parity
    from edgecnn.workstation.reports import HEADER, summary_rows, text_table, write_reports

    report = run_parity(run_dir, max_drop, data_override, threads)
    to_file = Path(json_path) if json_path not in (None, "-") else None
    write_reports(report, run_dir, to_file)
    if json_path == "-":
        emit_json(report.to_dict())
    else:
        click.echo(text_table(HEADER, summary_rows(report, run_dir)))
        verdict = "passed" if report.passed else "FAILED"
        click.echo(f"{verdict}: drop {report.drop_pp:.2f} pp (budget {max_drop:.2f} pp), "
                   f"agreement {report.quantized.agreement * 100:.2f} % on {report.n} test images; "
                   f"report in {run_dir / 'parity.md'}")
    check_budget(report, run_dir)


@cli.command()
@click.option("--out", "-o", default="runs/quickstart", show_default=True,
              type=click.Path(file_okay=False, path_type=Path), help="Run folder (replaced if present).")
@click.option("--epochs", type=click.IntRange(1, 100000), default=None, help="Maximum training epochs [60].")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def quickstart(out: Path, epochs: int | None, as_json: bool) -> None:
    """Train digits -> quantize int8 -> parity -> classify a few test images, offline."""
    quiet_for_json(as_json)
    from edgecnn.workstation.quickstart import format_summary, run_quickstart

    summary = run_quickstart(out, epochs)
    if as_json:
        emit_json(summary)
    else:
        click.echo(format_summary(summary))
    if not summary["parity"]["passed"]:
        from edgecnn.errors import BudgetExceeded

        raise BudgetExceeded(f"quantization cost {summary['parity']['drop_pp']:.2f} pp, more than the "
                             f"{summary['parity']['max_drop_pp']:.2f} pp budget; see {out / 'parity.md'}")
