"""`edgecnn detect`: the camera detector (numpy + OpenCV + LiteRT, never TensorFlow)."""

from __future__ import annotations

import os
from typing import Any

import click

from edgecnn.cli.app import cli
from edgecnn.cli.common import Finite, emit_json
from edgecnn.cli.device import runtime_options
from edgecnn.text import printable


@cli.command()
@click.argument("model", type=click.Path(dir_okay=False, path_type=str))
@click.option("--source", "-s", required=True,
              help="Camera index (0), /dev/videoN, picamera, a video file, an image or a folder of images, "
                   "or an rtsp:// / http:// stream.")
@click.option("--roi", help="Where to classify: x,y,w,h in pixels, 'faces' (largest face, the same BlazeFace "
                            "detector as `face unlock`) or 'full' (default).")
@click.option("--smooth", "window", default=5, show_default=True, type=click.IntRange(min=1),
              help="Average scores over the last N frames before deciding a label.")
@click.option("--threshold", default=0.5, show_default=True, type=Finite(0, 1),
              help="Classifiers: the smoothed score a label needs. Detectors: the score a box needs to be shown "
                   "and to start an object; boxes down to half of it only keep an object already tracked.")
@click.option("--iou", type=Finite(0, 1), help="Detectors: boxes overlapping more than this are one [0.5].")
@click.option("--max-detections", type=click.IntRange(1, 10000), help="Detectors: at most this many boxes [100].")
@click.option("--ignore", multiple=True, default=("background",), show_default=True,
              help="Labels that mean 'nothing' (repeatable).")
@click.option("--min-frames", default=3, show_default=True, type=click.IntRange(1, 1000),
              help="An object (or label) must be seen on this many frames before its 'new' event.")
@click.option("--max-missed", default=10, show_default=True, type=click.IntRange(0, 100000),
              help="An object unseen for more than this many frames has ended ('end' event).")
@click.option("--zone", "zones", multiple=True, metavar="NAME:x,y;x,y;...",
              help="Detectors: a zone polygon, in pixels or fractions (0-1) of the frame; events say which "
                   "zones an object is in, the summary counts who is inside. Repeatable.")
@click.option("--line", "lines", multiple=True, metavar="NAME:x0,y0;x1,y1",
              help="Detectors: a counting line; objects crossing it from its right to its left (looking from "
                   "the first point to the second) count 'in', the other way 'out'. Repeatable.")
@click.option("--events", help="Append events as JSON lines to this file (default: stdout).")
@click.option("--mqtt", metavar="URL", help="Also publish to MQTT: mqtt://[user@]host[:port]/PREFIX (mqtts:// for "
                                            "TLS). Events on PREFIX/events, counts, presence, snapshots; see README. "
                                            "Needs pip install 'edgecnn[mqtt]'.")
@click.option("--mqtt-password-file", type=click.Path(dir_okay=False),
              help="The MQTT password, from a file (or EDGECNN_MQTT_PASSWORD); never on the command line.")
@click.option("--mqtt-ca", type=click.Path(dir_okay=False), help="CA certificate for mqtts:// (default: the system's).")
@click.option("--mqtt-discovery", is_flag=True,
              help="Publish Home Assistant MQTT discovery: zone and line counters, '<label> present' sensors.")
@click.option("--snapshots", type=click.Path(file_okay=False),
              help="Save each object's best frame (JPEG) here when it ends; its 'end' event names the file.")
@click.option("--serve", metavar="HOST:PORT", help="Serve MJPEG, a status page and /status (host 127.0.0.1 "
                                                   "unless given).")
@click.option("--allow-host", "allow_hosts", multiple=True, metavar="NAME",
              help="A host name the web view may be reached by (besides IP addresses, localhost and this "
                   "machine's name); others are refused, against DNS rebinding. Repeatable.")
@click.option("--max-frames", type=click.IntRange(min=1), help="Stop after N frames.")
@click.option("--duration", type=Finite(min=0, min_open=True), help="Stop after S seconds.")
@click.option("--realtime", is_flag=True, help="Play video files at their own frame rate, dropping "
                                               "frames the loop cannot keep up with.")
@click.option("--no-window", "window_view", is_flag=True, flag_value=False, default=True,
              help="Never open a window (one opens when a display and a GUI OpenCV exist).")
@click.option("--summary", "summary_path", type=click.Path(dir_okay=False),
              help="Also write the end-of-run summary (timings, counters) as JSON here.")
@click.option("--json", "as_json", is_flag=True,
              help='Print [{"image", "detections": [{"label", "index", "score", "box": [x0, y0, x1, y1]}]}] for '
                   "an image or a folder of images (detectors).")
@runtime_options
def detect(model: str, summary_path: str | None, as_json: bool, **opts: Any) -> None:
    """Watch a camera, video, stream or images with a .tflite MODEL.

    A detector (edgecnn's own, SSD post-processed, YOLO, BlazeFace) finds boxes (x0 y0 x1 y1, pixels
    of the frame); they become tracked objects with stable ids, and each visit gives one 'new' and
    one 'end' event (JSON lines), with 'update's between (label changed, better best score, zone
    entered or left). A classifier labels the frame (or --roi); its smoothed label is one tracked
    object the same way. Ends at the end of a file, after
    --max-frames / --duration, or on Ctrl-C / SIGTERM, printing stage timings (capture wait,
    preprocess, inference, postprocess, draw/encode: p50 and p95). A live source that stops
    delivering is reopened with backoff.
    """
    from edgecnn import atomic
    from edgecnn.camera.loop import CameraLoop, DetectOptions
    from edgecnn.camera.timings import format_summary

    for key in ("ignore", "allow_hosts", "zones", "lines"):
        opts[key] = tuple(opts[key])
    if as_json and not opts["events"]:
        opts["events"] = os.devnull  # stdout carries the JSON list
    regions = region_finder(opts.pop("roi"))
    collect = _Collect() if as_json else None
    loop = CameraLoop(DetectOptions(model=model, **opts), regions=regions, on_frame=collect)
    if collect is not None and not hasattr(loop.source, "current"):
        from edgecnn.errors import EdgeCNNUsageError

        raise EdgeCNNUsageError("--json lists what each image shows: give an image or a folder as --source")
    status = loop.run()
    if collect is not None:
        emit_json(collect.results)
    t = status["timings"]
    click.echo(format_summary(t), err=True)
    click.echo(f"{t['frames']} frames in {t['seconds']:.1f} s: {t['fps']:.1f} fps; dropped {status['dropped']}, "
               f"failed reads {status['failed_reads']}, reconnects {status['reconnects']}, "
               f"events {status['events_total']}", err=True)
    if "mqtt" in status:
        m = status["mqtt"]
        click.echo(f"mqtt {m['broker']}: published {m['published']}, dropped {m['dropped']}, "
                   f"connections {m['connects']}", err=True)
    counts = status["counts"]
    for name, inside in counts.get("zones", {}).items():
        click.echo(printable(f"zone {name}: {inside} inside at the end"), err=True)
    for name, c in counts.get("lines", {}).items():
        click.echo(printable(f"line {name}: in {c['in']}, out {c['out']}"), err=True)
    if summary_path:
        atomic.write_json(summary_path, status)


class _Collect:
    """--json: what each image of a folder (or one image) showed."""

    def __init__(self) -> None:
        self.results: list[dict[str, Any]] = []

    def __call__(self, frame: Any, seen: Any) -> None:
        record = {"image": frame.origin, "detections": [d.to_dict() for d in seen.detections]}
        if seen.label:
            record.update(label=seen.label, score=round(seen.score, 4))
        self.results.append(record)


def region_finder(roi: str | None) -> Any:
    """--roi as a region finder: None (whole frame), a fixed box, or faces (edgecnn.face)."""
    from edgecnn.camera.regions import FixedRegion, parse_roi

    parsed = parse_roi(roi)
    if parsed == "faces":
        from edgecnn.face.detect import FaceRegions

        return FaceRegions()  # BlazeFace (Haar when it cannot load): the faces face unlock finds
    return FixedRegion(parsed) if isinstance(parsed, tuple) else None
