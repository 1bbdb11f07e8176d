"""Device commands: numpy + LiteRT only, never TensorFlow."""

from __future__ import annotations

import click

from edgecnn.cli import cli
from edgecnn.cli.common import emit_json


@cli.command()
@click.argument("model", type=click.Path(dir_okay=False, path_type=str))
@click.argument("images", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option("--top-k", "-k", default=3, show_default=True, type=click.IntRange(min=1),
              help="How many classes to show per image.")
@click.option("--threads", type=int, default=None, help="Interpreter threads (default: LiteRT's choice).")
@click.option("--json", "as_json", is_flag=True,
              help='Print [{"image", "top": [{"index", "label", "score"}]}] instead of text.')
def classify(model: str, images: tuple[str, ...], top_k: int, threads: int | None, as_json: bool) -> None:
    """Classify IMAGES with a .tflite MODEL (labels and preprocessing come from its embedded card).

    Works with edgecnn's own models and with other people's (such as Coral's quantized
    MobileNets): without a card, uint8 models get raw pixels and labels are indices.
    """
    from edgecnn.runtime import Classifier

    clf = Classifier(model, threads=threads)
    results = [(path, clf.classify_file(path, top_k)) for path in images]
    if as_json:
        emit_json([{"image": path, "top": [c._asdict() for c in top]} for path, top in results])
        return
    for path, top in results:
        best = ", ".join(f"{c.label} ({c.score:.3f})" for c in top)
        click.echo(f"{path}: {best}")
