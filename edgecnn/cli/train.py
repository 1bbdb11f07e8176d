"""`edgecnn train`: a classifier on an image folder or `digits`, a detector on a COCO, YOLO or VOC
set or `shapes` (the task comes from the data, or --task). Arguments, recipe and data are checked
before TensorFlow loads, so a wrong path is answered at once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from edgecnn.cli.app import cli
from edgecnn.cli.common import SEED, Finite, emit_json, parse_size, quiet_for_json
from edgecnn.cli.distribute import distribute_options, launch_workers
from edgecnn.text import printable

CLASSIFIER_ONLY = ("arch", "alpha", "weights")


@cli.command()
@click.argument("data", required=False)
@click.option("--out", "-o", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Run folder to write (model.keras, card.json, split.json).")
@click.option("--recipe", help="Recipe: a shipped name (digits, faces, shapes) or a TOML file; options "
                               "given here override it.")
@click.option("--task", type=click.Choice(["auto", "classify", "detect"]), default="auto", show_default=True,
              help="classify (one label per image) or detect (boxes); auto takes it from the data.")
@click.option("--arch", type=click.Choice(["cnn", "mobilenetv2"]), help="Architecture [cnn].")
@click.option("--alpha", type=Finite(0, 4, min_open=True), help="MobileNetV2 width multiplier [0.35].")
@click.option("--weights", type=click.Choice(["none", "imagenet"]),
              help="MobileNetV2 initial weights [none]; imagenet needs internet once.")
@click.option("--size", help="Input size N or HxW (default: digits 8x8, folders 64x64, detectors 96x96).")
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
@distribute_options
def train(data: str | None, out: Path, recipe: str | None, task: str, size: str | None, weights: str | None,
          overwrite: bool, as_json: bool, distribute: str, workers: int, restarts: int, connect_timeout: float,
          **options: Any) -> None:
    """Train a CNN on DATA: a classifier on an image folder (one sub-folder per class) or `digits`; a
    detector (boxes) on a COCO, YOLO or Pascal VOC data set or the built-in `shapes`.

    Writes RUN_DIR/model.keras and RUN_DIR/card.json (labels, input, preprocessing, split, float
    metrics) and the deterministic split in split.json.
    """
    from edgecnn.errors import EdgeCNNUsageError
    from edgecnn.workstation.config import TrainConfig
    from edgecnn.workstation.datasets import check_source
    from edgecnn.workstation.detection.data import detection_format
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
    if task == "detect" or (task == "auto" and detection_format(data)):
        _train_detector(data, out, {k: v for k, v in values.items() if k not in CLASSIFIER_ONLY or v is None},
                        recipe, overwrite, as_json, [k for k in CLASSIFIER_ONLY if options.get(k) is not None],
                        (distribute, workers, restarts, connect_timeout))
        return
    cfg = build(TrainConfig, values, recipe or "options")
    RunDir(out).check_writable(overwrite)  # answered before TensorFlow loads
    check_source(data)
    if launch_workers(workers, restarts, distribute, cfg.batch_size):
        return
    from edgecnn.workstation.training import train as run_training

    result = run_training(data, out, cfg, overwrite=overwrite, distribute=distribute, connect_timeout=connect_timeout)
    if as_json:
        emit_json(result.to_dict())
    else:
        val = "-" if result.val_accuracy is None else f"{result.val_accuracy * 100:.2f} %"
        click.echo(printable(f"trained {cfg.arch} on {data}: val {val}, test {result.test_accuracy * 100:.2f} % "
                             f"of {result.chance.n} images (chance {result.chance.chance * 100:.2f} %); "
                             f"{result.stopped}; {result.seconds:.1f} s -> {out}/model.keras, curves in "
                             f"{out}/train_curves.png"))
    _verdict(result.chance, out, as_json)


def _verdict(chance: Any, out: Path, as_json: bool) -> None:
    """Exit 1 (the run is kept for a look) when the model is no better than chance."""
    if chance.failed:
        from edgecnn.errors import NoBetterThanChance

        raise NoBetterThanChance(f"{chance.verdict()}: the model learned nothing it can use; the run in {out} "
                                 f"is kept for a look (train_curves.png). Check that each class folder holds "
                                 f"its own class, add images, or try more --epochs")
    if not as_json:
        click.echo(printable(f"next: edgecnn quantize {out}"))


def _train_detector(data: str, out: Path, values: dict[str, Any], recipe: str | None, overwrite: bool,
                    as_json: bool, refused: list[str], how: tuple[str, int, int, float]) -> None:
    from edgecnn.errors import EdgeCNNUsageError
    from edgecnn.workstation.config import DetectConfig
    from edgecnn.workstation.detection.data import check_detection_source
    from edgecnn.workstation.recipes import build
    from edgecnn.workstation.run import RunDir

    if refused:
        raise EdgeCNNUsageError(f"--{refused[0]} is for classifiers; a detector has its own backbone")
    values = {k: v for k, v in values.items() if v is not None}
    if values.get("height") is None:
        values.pop("height", None)
        values.pop("width", None)
    cfg = build(DetectConfig, values, recipe or "options")
    RunDir(out).check_writable(overwrite)
    check_detection_source(data)
    distribute, workers, restarts, connect_timeout = how
    if launch_workers(workers, restarts, distribute, cfg.batch_size):
        return
    from edgecnn.workstation.detection.train import train_detector

    result = train_detector(data, out, cfg, overwrite=overwrite, distribute=distribute,
                            connect_timeout=connect_timeout)
    test = result.test
    summary = {"run": str(out), "task": "detector", "classes": len(result.card.labels),
               "val_map50": result.val.map50 if result.val else None, "test_map": test.map,
               "test_map50": test.map50, "epochs": result.epochs_run, "seconds": round(result.seconds, 1)}
    if as_json:
        emit_json(summary)
        return
    click.echo(printable(f"trained a detector on {data}: test mAP@.5 {test.map50:.4f}, mAP {test.map:.4f} "
                         f"({result.epochs_run} epochs, {result.seconds:.1f} s) -> {out}/model.keras; "
                         f"next: edgecnn quantize {out}"))
