"""Device commands: numpy + LiteRT only, never TensorFlow."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from edgecnn.cli.app import cli
from edgecnn.cli.classify import run_classify
from edgecnn.cli.common import THREADS, Finite, emit_json, quiet_for_json
from edgecnn.text import printable_lines


def runtime_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """--backend, --device, --threads, --labels, --mean, --std."""
    options = [
        click.option("--backend", default=None, metavar="NAME",
                     help="auto | litert | tflite-runtime | tensorflow  [env EDGECNN_BACKEND, default auto]"),
        click.option("--device", default="cpu", show_default=True, metavar="DEV",
                     help="cpu | edgetpu | edgetpu:usb | edgetpu:pci | edgetpu:N"),
        click.option("--threads", type=THREADS, default=None, help="Interpreter threads (default: backend's choice)."),
        click.option("--labels", "labels", type=click.Path(dir_okay=False), default=None,
                     help="Labels file: one per line, or 'index label'; overrides the card."),
        click.option("--mean", type=Finite(), default=None, help="Cardless models: input = (pixel - mean) / std."),
        click.option("--std", type=Finite(), default=None, help="Cardless models: see --mean."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _classifier(model: str, opts: dict[str, Any]) -> Any:
    from edgecnn.runtime import Classifier

    return Classifier(model, opts["threads"], backend=opts["backend"], device=opts["device"],
                      labels=opts["labels"], mean=opts["mean"], std=opts["std"])


@cli.command()
@click.argument("model", type=click.Path(dir_okay=False, path_type=str))
@click.argument("images", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option("--top-k", "-k", default=3, show_default=True, type=click.IntRange(min=1),
              help="How many classes to show per image.")
@click.option("--json", "as_json", is_flag=True,
              help='Print [{"image", "top": [{"index", "label", "score"}]}] instead of text.')
@runtime_options
def classify(model: str, images: tuple[str, ...], top_k: int, as_json: bool, **opts: Any) -> None:
    """Classify IMAGES with a .tflite MODEL (labels and preprocessing come from its embedded card).

    Works with edgecnn's own models and with other people's (such as Coral's quantized
    MobileNets): without a card, uint8 models get raw pixels (resized nearest-neighbour),
    and labels come from --labels (a list one shorter than the outputs means index 0 is
    background) or are indices.
    """
    run_classify(model, images, top_k, as_json, **opts)


@cli.command()
@click.argument("model", type=click.Path(dir_okay=False, path_type=str))
@click.option("--json", "as_json", is_flag=True, help="Print the inspection as JSON.")
def inspect(model: str, as_json: bool) -> None:
    """Show what a .tflite MODEL holds: tensors, quantization, operators, Edge TPU ops, card.

    Reads the file alone, so it also works on *_edgetpu.tflite models on a CPU-only machine.
    """
    from edgecnn.runtime.describe import format_inspection, inspect_model

    report = inspect_model(model)
    if as_json:
        emit_json(report.to_dict())
    else:
        click.echo(printable_lines(format_inspection(report)))


@cli.command()
@click.argument("model", type=click.Path(dir_okay=False, path_type=str))
@click.option("--runs", default=200, show_default=True, type=click.IntRange(1, 10**6), help="Timed runs.")
@click.option("--warmup", default=20, show_default=True, type=click.IntRange(0, 10**6), help="Untimed runs first.")
@click.option("--repeats", default=7, show_default=True, type=click.IntRange(1, 1000),
              help="Repeats of --runs interleaved pairs; the overhead's range is over these.")
@click.option("--image", type=click.Path(dir_okay=False), help="Input image (default: random pixels).")
@click.option("--no-cold-start", is_flag=True, help="Skip the fresh-process cold-start measurement.")
@click.option("--cold-starts", default=9, show_default=True, type=click.IntRange(1, 1000),
              help="Fresh processes for the cold start (median time, largest peak RSS).")
@click.option("--json", "as_json", is_flag=True, help="Print the measurements as JSON.")
@runtime_options
def bench(model: str, runs: int, warmup: int, repeats: int, image: str | None, no_cold_start: bool,
          cold_starts: int, as_json: bool, **opts: Any) -> None:
    """Measure MODEL on this machine: latency p50/p90/p99, throughput, predict-path overhead over a
    bare invoke(), cold start of `edgecnn classify` (or `detect`) and peak RSS. For detectors the
    decoding and NMS are timed on their own too.

    The overhead is the median of per-call ratios predict_i / bare_i over interleaved pairs (order
    alternated), given with its range over --repeats; it holds on a busy machine. The report names
    the CPU (and its int8 instructions) and the load average."""
    from edgecnn.runtime import load_model
    from edgecnn.runtime.bench import format_report, option_args, run_bench
    from edgecnn.runtime.detection import ObjectDetector
    from edgecnn.runtime.detection.detector import is_detector

    quiet_for_json(as_json)
    loaded = load_model(model, opts["threads"], opts["backend"], opts["device"])
    runner = (ObjectDetector(loaded, labels=opts["labels"], mean=opts["mean"], std=opts["std"]) if is_detector(loaded)
              else _classifier(loaded, opts))
    extra = option_args(opts)
    report = run_bench(runner, runs, warmup, image, not no_cold_start, extra, repeats, opts["threads"], cold_starts)
    if as_json:
        emit_json(report.to_dict())
    else:
        click.echo(format_report(report))
