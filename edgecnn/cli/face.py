"""`edgecnn face train | evaluate | demo`: the workstation side of face unlock."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from edgecnn.cli.app import cli
from edgecnn.cli.common import SEED, Finite, emit_json, parse_size, quiet_for_json
from edgecnn.cli.distribute import distribute_options, launch_workers
from edgecnn.text import printable


@cli.group()
def face() -> None:
    """Face unlock with an int8 embedding CNN: train and evaluate (FAR / FRR / EER) on the
    workstation; enroll, verify, unlock, list and remove on the device."""


@face.command("train")
@click.argument("data", type=click.Path(path_type=str))
@click.option("--out", "-o", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Run folder to write; then `edgecnn quantize RUN_DIR` makes the int8 model.")
@click.option("--size", help="Input size N or HxW [64x56].")
@click.option("--dim", type=click.IntRange(2, 4096), help="Embedding length [128].")
@click.option("--epochs", type=click.IntRange(1, 100000), help="Training epochs [60].")
@click.option("--margin", type=Finite(0, 1, max_open=True),
              help="Additive cosine margin of the AM-softmax loss [0.35].")
@click.option("--seed", type=SEED, help="Seed [0].")
@click.option("--no-detect", "detect", flag_value=False, default=None,
              help="Train on whole images (already face crops) instead of detected (BlazeFace), levelled crops.")
@click.option("--overwrite", is_flag=True, help="Replace a model already in --out.")
@distribute_options
def face_train_cmd(data: str, out: Path, size: str | None, overwrite: bool, distribute: str, workers: int,
                   restarts: int, connect_timeout: float, **options: Any) -> None:
    """Train a face embedding CNN on DATA (one sub-folder per person) with an additive-margin
    softmax loss; the exported model maps a face to a unit-length vector."""
    from edgecnn.workstation.config import FaceConfig
    from edgecnn.workstation.recipes import build, merge

    options["height"], options["width"] = parse_size(size)
    cfg = build(FaceConfig, merge({}, options), "options")
    if launch_workers(workers, restarts, distribute, cfg.batch_size):
        return
    from edgecnn.workstation.face.training import face_train

    card = face_train(data, out, cfg, overwrite, distribute, connect_timeout)
    click.echo(f"trained a {cfg.dim}-d face embedder on {card.num_classes} identities -> {out}/model.keras; "
               f"next: edgecnn quantize {out}")


@face.command("evaluate")
@click.option("--model", "model", required=True, type=click.Path(exists=True, path_type=Path),
              help="A run folder, or its model_int8.tflite (model_float32.tflite beside it is the float side).")
@click.option("--data", required=True, type=click.Path(path_type=str),
              help="Identity folder of people to verify (best: people the model never saw).")
@click.option("--enroll", default=3, show_default=True, type=click.IntRange(min=1),
              help="Images per person enrolled as the template; the rest probe.")
@click.option("--target-far", default=0.01, show_default=True, type=Finite(0, 1),
              help="Report the threshold that keeps the false accept rate at or below this.")
@click.option("--no-detect", "detect", is_flag=True, default=True, flag_value=False,
              help="Embed whole images instead of the largest detected face (as the device does).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="Write the report here ('-': stdout).")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False),
              help="DET curve PNG [det.png beside --json FILE, else none].")
def face_evaluate_cmd(model: Path, data: str, enroll: int, target_far: float, detect: bool,
                      json_path: str | None, plot_path: str | None) -> None:
    """Verification metrics of the float and int8 embedders side by side: every genuine and impostor
    pair among the identities in --data, FAR / FRR at the EER threshold, EER, the threshold for a
    target FAR, and the mean cosine between float and int8 embeddings."""
    import dataclasses

    from edgecnn import atomic
    from edgecnn.errors import EdgeCNNError
    from edgecnn.workstation.face.evaluate import evaluate

    quiet_for_json(json_path == "-")
    folder = model if model.is_dir() else model.parent
    models = {name: folder / f"model_{kind}.tflite" for name, kind in (("float", "float32"), ("int8", "int8"))}
    if model.is_file():
        models["int8"] = model
    models = {k: v for k, v in models.items() if v.is_file()}
    if not models:
        raise EdgeCNNError(f"no model_int8.tflite / model_float32.tflite in {folder}; run edgecnn quantize first")
    evaluation = evaluate(models, data, enroll, target_far, detect)
    if plot_path is None and json_path not in (None, "-"):
        plot_path = str(Path(json_path).with_name("det.png"))
    if plot_path:
        from edgecnn.workstation.face.plots import det_png

        if det_png(evaluation, plot_path):
            evaluation = dataclasses.replace(evaluation, plot=plot_path)
        else:
            click.echo("note: no DET plot without matplotlib (pip install 'edgecnn[train]')", err=True)
    report = evaluation.to_dict()
    if json_path == "-":
        emit_json(report)
    elif json_path:
        atomic.write_json(json_path, report)
    if json_path != "-":
        click.echo(_table(report, target_far))


def look_alikes(report: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(enrolled, stranger row) pairs of `nearest_strangers` with accepted images, most first."""
    pairs = [(w, r) for w, rows in report.get("nearest_strangers", {}).items() for r in rows if r["accepted"]]
    return sorted(pairs, key=lambda p: (-p[1]["accepted"], -p[1]["max_score"]))


def _table(report: dict[str, Any], target_far: float) -> str:
    lines = [f"{report['identities']} identities, {report['images']} images, enrol {report['enroll']} each",
             f"{'model':7}{'EER':>8}{'threshold':>11}{'FAR':>8}{'FRR':>8}{'genuine':>9}{'impostor':>10}"
             f"{'thr@FAR' + format(target_far, 'g'):>14}{'FRR there':>11}"]
    for name in ("float", "int8"):
        if name in report:
            r = report[name]
            lines.append(f"{name:7}{r['eer'] * 100:7.2f}%{r['threshold']:11.4f}{r['far'] * 100:7.2f}%"
                         f"{r['frr'] * 100:7.2f}%{r['n_genuine']:9d}{r['n_impostor']:10d}"
                         f"{r['threshold_at_target_far']:14.4f}{r['frr_at_target_far'] * 100:10.2f}%")
    if "mean_cosine_float_int8" in report:
        lines.append(f"float vs int8: mean embedding cosine {report['mean_cosine_float_int8']:.5f}, "
                     f"EER change {report['eer_delta_pp']:+.2f} pp")
    n_imp = next(report[k]["n_impostor"] for k in ("int8", "float") if k in report)
    lines.append(f"a FAR of {target_far:g} rests on {n_imp} impostor pairs ({target_far * n_imp:.1f} false accepts)")
    if report.get("no_face"):
        lines.append(f"no face detected in {report['no_face']} of {report['images']} images (embedded whole)")
    alikes = look_alikes(report)
    if alikes:
        shown = ", ".join(f"{printable(s)} as {printable(w)} ({r['accepted']} of {r['images']})"
                          for w, r in alikes[:5] for s in [r["stranger"]])
        lines.append(f"look-alikes accepted at the thr@FAR threshold: {shown}"
                     f"{f' and {len(alikes) - 5} more' if len(alikes) > 5 else ''} -- a global FAR hides them; "
                     f"a stricter threshold or more training people helps")
    if report.get("plot"):
        lines.append(f"DET curve: {report['plot']}")
    return "\n".join(lines)


@face.command("demo")
@click.argument("data", default="olivetti")
@click.option("--out", "-o", default="runs/face-demo", show_default=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the run, gallery, video and reports.")
@click.option("--enroll", default=5, show_default=True, type=click.IntRange(1), help="Photos enrolled for the owner.")
@click.option("--epochs", type=click.IntRange(1), help="Training epochs [60].")
@click.option("--target-far", default=0.01, show_default=True, type=Finite(0, 1),
              help="The unlock threshold keeps the false accept rate at or below this on unseen people.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="Write the summary here ('-': stdout).")
def face_demo_cmd(data: str, out: Path, enroll: int, epochs: int | None, target_far: float,
                  json_path: str | None) -> None:
    """The face-unlock story in one command on DATA (a folder with one sub-folder per person, or
    'olivetti', which scikit-learn downloads once): train on two thirds of the people, quantize to
    int8, measure FAR / FRR / EER on the rest, enrol one of them, and replay a generated walk-up
    video: the owner unlocks, strangers are refused and then locked out."""
    from edgecnn import atomic
    from edgecnn.workstation.face.demo import run_demo

    quiet_for_json(json_path == "-")
    summary = run_demo(data, out, enroll=enroll, epochs=epochs, target_far=target_far)
    if json_path == "-":
        emit_json(summary)
        return
    if json_path:
        atomic.write_json(json_path, summary)
    click.echo(_table(summary["metrics"], target_far))
    click.echo(f"\nenrolled {summary['owner']} (never seen in training); threshold {summary['threshold']:.4f}")
    click.echo(f"walk-up video {summary['video']}:")
    for e in summary["events"]:
        who = e["name"] if e.get("name") else (f"closest {e['closest']}" if e.get("closest") else "")
        score = f" score {e['score']:.3f}" if "score" in e else ""
        click.echo(f"  t={e['t']:5.1f}s  {e['event']:12} {who}{score}")
    u = summary["unlock"]
    click.echo(f"{u['unlocks']} unlock(s), {u['lockouts']} lockout(s) in {u['frames']} frames; "
               f"done in {summary['seconds']:.0f} s -> {summary['out']}")
