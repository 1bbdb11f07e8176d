"""`edgecnn face enroll | verify | unlock | list | remove`: the device side of face unlock (no TensorFlow)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from edgecnn.cli.common import Finite, emit_json, quiet_for_json
from edgecnn.cli.face import face
from edgecnn.text import printable


def default_gallery() -> Path:
    """$EDGECNN_GALLERY, else $XDG_DATA_HOME/edgecnn/faces.sqlite (~/.local/share/...)."""
    if os.environ.get("EDGECNN_GALLERY"):
        return Path(os.environ["EDGECNN_GALLERY"])
    data = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return data / "edgecnn" / "faces.sqlite"


gallery_option = click.option(
    "--gallery", type=click.Path(dir_okay=False, path_type=Path), default=default_gallery,
    show_default="$EDGECNN_GALLERY or ~/.local/share/edgecnn/faces.sqlite", help="The enrolled people (SQLite).")
model_option = click.option(
    "--model", type=click.Path(dir_okay=False, path_type=Path),
    help="Embedding .tflite (from face train + quantize); default: the model the gallery was made with.")
detect_option = click.option(
    "--no-detect", "detect", is_flag=True, default=True, flag_value=False,
    help="Images are already face crops: skip face detection and alignment.")
threshold_option = click.option(
    "--threshold", type=Finite(-1, 1),
    help="Accept when cosine similarity >= this; default: the gallery's (see face enroll --set-threshold).")
json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")


def _session(gallery: Path, model: Path | None, detect: bool = True, threshold: float | None = None,
             create: bool = False) -> Any:
    from edgecnn.face.session import FaceSession

    return FaceSession(gallery, model, detect, threshold, create)


def _notes(session: Any) -> None:
    for note in session.notes:
        click.echo(f"note: {note}", err=True)


@face.command("enroll")
@click.option("--name", required=True, help="Who this is (one gallery entry per name).")
@click.option("--images", type=click.Path(file_okay=False, path_type=Path), help="A folder of photos of them.")
@click.option("--source", help="Or a camera (0, /dev/video0, picamera), video file or stream to take shots from.")
@click.option("--shots", default=5, show_default=True, type=click.IntRange(1, 100), help="Shots from --source.")
@click.option("--interval", default=0.3, show_default=True, type=Finite(0),
              help="Seconds between shots: move your head a little between them.")
@click.option("--replace", is_flag=True, help="Replace the embeddings of a name already enrolled.")
@click.option("--set-threshold", "new_threshold", type=Finite(-1, 1),
              help="Store this acceptance threshold in the gallery (face evaluate reports the one for "
                   "your target FAR).")
@gallery_option
@model_option
@detect_option
@json_option
def enroll_cmd(name: str, images: Path | None, source: str | None, shots: int, interval: float, replace: bool,
               new_threshold: float | None, gallery: Path, model: Path | None, detect: bool, as_json: bool) -> None:
    """Enrol a person: embed the largest face of each photo (or camera shot) and store them all in
    the gallery in one transaction."""
    from edgecnn.errors import EdgeCNNUsageError
    from edgecnn.face.gallery import check_name

    if (images is None) == (source is None):
        raise EdgeCNNUsageError("give exactly one of --images DIR or --source CAMERA")
    check_name(name)
    quiet_for_json(as_json)
    with _session(gallery, model, detect, create=True) as session:
        # faces first, the gallery after: a failed enrolment changes (or creates) nothing
        vectors, sources = (session.enroll_images(images) if images else session.enroll_source(source, shots, interval))
        stored = session.enroll(name, vectors, sources, replace)
        if new_threshold is not None:
            stored.set_threshold(new_threshold, "face enroll --set-threshold")
        _notes(session)
        report = {"name": name, "embeddings": len(vectors), "gallery": str(gallery), "people": len(stored.names()),
                  "threshold": stored.threshold, "threshold_source": stored.threshold_source}
    if as_json:
        emit_json(report)
        return
    click.echo(f"enrolled {printable(name)} with {len(vectors)} embeddings -> {printable(gallery)} "
               f"({report['people']} people, threshold {report['threshold']:.4f} from "
               f"{report['threshold_source']})")
    if report["threshold_source"] == "default":
        click.echo("note: the threshold is the untuned default; run edgecnn face evaluate and pass "
                   "--set-threshold with its threshold for your target FAR", err=True)


@face.command("verify")
@click.argument("image", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--source", help="Verify the first face seen on this camera / video instead of an IMAGE.")
@gallery_option
@model_option
@detect_option
@threshold_option
@json_option
def verify_cmd(image: Path | None, source: str | None, gallery: Path, model: Path | None, detect: bool,
               threshold: float | None, as_json: bool) -> None:
    """Is this face someone enrolled? Prints match / no match with the cosine score; exit code 0 on a
    match, 3 on no match (1 and 2 stay errors)."""
    from edgecnn.errors import EdgeCNNUsageError

    if (image is None) == (source is None):
        raise EdgeCNNUsageError("give exactly one of IMAGE or --source CAMERA")
    quiet_for_json(as_json)
    with _session(gallery, model, detect, threshold) as session:
        if not session.names():
            raise EdgeCNNUsageError("the gallery is empty; enrol someone first (edgecnn face enroll)")
        match, found = session.verify_image(image) if image else session.verify_source(source)
        _notes(session)
    report = {"match": match.accepted, "name": match.name if match.accepted else None, "closest": match.name,
              "score": round(match.score, 4), "threshold": session.threshold, "box": list(found.box),
              "faces": found.faces_in_frame, "aligned": found.aligned}
    if as_json:
        emit_json(report)
    elif match.accepted:
        click.echo(f"match: {printable(match.name)} (score {match.score:.4f} >= {session.threshold:.4f})")
    else:
        click.echo(f"no match (closest {printable(match.name)}, score {match.score:.4f} < {session.threshold:.4f})")
    if not match.accepted:
        raise SystemExit(3)


@face.command("unlock")
@click.option("--source", required=True, help="Camera index, /dev/videoN, picamera, video file, folder or URL.")
@click.option("--consecutive", "-k", default=3, show_default=True, type=click.IntRange(1),
              help="Frames in a row that must match the same person.")
@click.option("--max-failures", default=5, show_default=True, type=click.IntRange(1),
              help="Failed attempts (K non-matching frames each) before a lockout.")
@click.option("--lockout", default=30.0, show_default=True, type=Finite(0), help="Lockout seconds.")
@click.option("--relock-after", default=2.0, show_default=True, type=Finite(0),
              help="Lock again after this many seconds without the unlocked person.")
@click.option("--duration", type=Finite(0, min_open=True), help="Stop after this many seconds.")
@click.option("--max-frames", type=click.IntRange(1), help="Stop after this many frames.")
@click.option("--events", type=click.Path(dir_okay=False), help="Append JSON events here (default: stdout).")
@gallery_option
@model_option
@threshold_option
def unlock_cmd(source: str, consecutive: int, max_failures: int, lockout: float, relock_after: float,
               duration: float | None, max_frames: int | None, events: str | None, gallery: Path,
               model: Path | None, threshold: float | None) -> None:
    """Phone-style unlock: JSON events (unlock, rejected, lockout, lockout_over, locked) one per line;
    a summary line on stderr at the end (source end, --duration, Ctrl-C or SIGTERM). Files are timed
    by their frame rate, so a recorded video gives the same events anywhere."""
    from edgecnn.camera.events import JsonLines
    from edgecnn.face.unlock import UnlockPolicy

    policy = UnlockPolicy(consecutive, max_failures, lockout, relock_after)
    with _session(gallery, model, True, threshold) as session:
        sink = JsonLines(events)
        try:
            summary = session.unlock(source, policy, sink, duration, max_frames)
        finally:
            sink.close()
    click.echo(f"{summary.frames} frames ({summary.frames_with_face} with a face), {summary.unlocks} unlocks, "
               f"{summary.lockouts} lockouts, ended {summary.state}", err=True)


@face.command("list")
@gallery_option
@json_option
def list_cmd(gallery: Path, as_json: bool) -> None:
    """Who is enrolled, with how many embeddings each."""
    from edgecnn.face.gallery import Gallery

    with Gallery(gallery) as g:
        people = g.people()
        report = {"gallery": str(gallery), "model_sha256": g.meta["model_sha256"], "threshold": g.threshold,
                  "people": people}
    if as_json:
        emit_json(report)
        return
    click.echo(f"{printable(gallery)}: {len(people)} people, model sha256 {report['model_sha256'][:12]}..., "
               f"threshold {report['threshold']:.4f}")
    for p in people:
        click.echo(f"  {printable(p['name']):24} {p['embeddings']:3d} embeddings")


@face.command("remove")
@click.argument("name")
@gallery_option
def remove_cmd(name: str, gallery: Path) -> None:
    """Forget NAME and all their embeddings."""
    from edgecnn.face.gallery import Gallery

    with Gallery(gallery) as g:
        n = g.remove(name)
    click.echo(f"removed {printable(name)} ({n} embeddings) from {printable(gallery)}")
