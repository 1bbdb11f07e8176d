"""The camera detector on a generated video with known paths: five shapes cross the view (three at
once, paths crossing, one hidden behind another), scored with TrackEval's CLEAR and Identity
metrics; one new / end per visit, exact line counts, zone occupancy per frame."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import browse, chromium, free_port

pytest.importorskip("tensorflow", reason="the detector is trained with TensorFlow")
trackeval = pytest.importorskip("trackeval", reason="tracking metrics need trackeval (the test extra)")

SIZE, FRAMES, FPS = 192, 280, 10.0
LINE = "middle:96,0;96,192"
ZONE = "mid:50,50;140,50;140,150;50,150"


@dataclass(frozen=True)
class Path_:
    cls: int  # 0 circle, 1 square, 2 triangle
    size: int
    start: tuple[float, float]  # top-left at the first frame
    velocity: tuple[float, float]  # pixels per frame
    first: int
    last: int

    def box(self, f: int) -> tuple[float, float, float, float]:
        x, y = self.start[0] + self.velocity[0] * (f - self.first), self.start[1] + self.velocity[1] * (f - self.first)
        return x, y, x + self.size, y + self.size


PATHS = [  # drawn in this order: later ones hide earlier ones where they overlap
    Path_(0, 40, (-40, 16), (2, 0), 0, 136),
    Path_(1, 36, (232, 118), (-2, 0), 20, 154),
    Path_(2, 44, (-44, 140), (2, -0.9), 58, 196),  # up and right, across path 1: hides it for a while
    Path_(0, 34, (232, 66), (-3, 0), 150, 238),
    Path_(1, 40, (-40, 104), (2.5, 0), 170, 279),
]


def _draw(frame: np.ndarray, path: Path_, f: int) -> None:
    from edgecnn.workstation.detection.shapes import _draw as draw_shape

    x0, y0, _, _ = (int(round(v)) for v in path.box(f))
    pad = path.size
    canvas = cv2.copyMakeBorder(frame, pad, pad, pad, pad, cv2.BORDER_CONSTANT)
    rng = np.random.default_rng(path.cls * 100 + path.size)  # the same colour on every frame
    draw_shape(canvas, path.cls, [x0 + pad, y0 + pad, x0 + pad + path.size, y0 + pad + path.size], rng)
    frame[:] = canvas[pad:-pad, pad:-pad]


def _visible(path: Path_, f: int, hidden: np.ndarray) -> bool:
    x0, y0, x1, y1 = (int(round(v)) for v in path.box(f))
    cx0, cy0, cx1, cy1 = max(0, x0), max(0, y0), min(SIZE, x1), min(SIZE, y1)
    if cx1 <= cx0 or cy1 <= cy0:
        return False
    area = (x1 - x0) * (y1 - y0)
    shown = (cx1 - cx0) * (cy1 - cy0) - hidden[cy0:cy1, cx0:cx1].sum()
    return shown >= 0.4 * area  # MOT ground truth usually keeps objects at least a quarter to half visible


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> dict:
    from edgecnn.workstation.detection.shapes import _background

    folder = tmp_path_factory.mktemp("tracking")
    # made at the detector's input size and scaled up: once the detector scales the frame back down,
    # the background's texture is the training pictures' texture, not a finer one it never saw
    background = cv2.resize(_background(np.random.default_rng(11), SIZE // 2), (SIZE, SIZE),
                            interpolation=cv2.INTER_LINEAR)
    noise = np.random.default_rng(8)
    path = folder / "walk.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), FPS, (SIZE, SIZE))
    truth = []
    for f in range(FRAMES):
        frame = np.clip(background + noise.normal(0, 4, background.shape), 0, 255).astype(np.uint8)
        alive = [i for i, p in enumerate(PATHS) if p.first <= f <= p.last]
        for i in alive:
            _draw(frame, PATHS[i], f)
        visible = []
        for i in alive:  # what the later shapes cover, per object
            covered = np.zeros((SIZE, SIZE), bool)
            for j in alive[alive.index(i) + 1:]:
                x0, y0, x1, y1 = (int(round(v)) for v in PATHS[j].box(f))
                covered[max(0, y0):max(0, y1), max(0, x0):max(0, x1)] = True
            if _visible(PATHS[i], f, covered):
                visible.append(i)
        truth.append({"visible": visible, "present": alive})
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return {"path": path, "truth": truth}


def _expected_lines() -> tuple[int, int]:
    """(in, out): walking the line downwards, its right is the west; moving east is right -> left, "in"."""
    east = sum(1 for p in PATHS if p.velocity[0] > 0)
    return east, len(PATHS) - east


def _in_zone(path: Path_, f: int) -> bool:
    x0, _, x1, y1 = path.box(f)
    foot = ((x0 + x1) / 2, y1)
    return 50 <= foot[0] <= 140 and 50 <= foot[1] <= 150


def test_tracks_events_lines_and_zones_follow_the_truth(shapes_run: dict, video: dict, tmp_path: Path,
                                                         report_metric) -> None:
    from edgecnn.camera.loop import CameraLoop, DetectOptions

    per_frame: list[tuple[list[int], np.ndarray, dict]] = []

    def on_frame(frame, seen) -> None:
        live = [t for t in seen.tracks if t.missed == 0]
        per_frame.append(([t.id for t in live], np.array([t.box for t in live]).reshape(-1, 4), seen.counts))

    opts = DetectOptions(model=str(shapes_run["run"] / "model_int8.tflite"), source=str(video["path"]),
                         events=str(tmp_path / "events.jsonl"), lines=(LINE,), zones=(ZONE,), min_frames=3,
                         max_missed=10, window_view=False)
    status = CameraLoop(opts, on_frame=on_frame).run()
    events = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    scores = _mot(video["truth"], per_frame)
    zone_right = np.mean([counts.get("zones", {}).get("mid", 0)
                          == sum(_in_zone(PATHS[i], f) for i in video["truth"][f]["present"])
                          for f, (_, _, counts) in enumerate(per_frame)])
    lines = status["counts"]["lines"]["middle"]
    kinds = [e["type"] for e in events]
    report_metric(f"tracking ({FRAMES} frames, {len(PATHS)} objects, <= 3 at once, 1 occlusion): MOTA "
                  f"{scores['MOTA']:.3f}, IDF1 {scores['IDF1']:.3f}, ID switches {scores['IDSW']}, new "
                  f"{kinds.count('new')}, end {kinds.count('end')}, line in/out {lines['in']}/{lines['out']}, "
                  f"zone occupancy right on {zone_right * 100:.1f} % of frames")
    assert scores["IDSW"] <= 2
    assert kinds.count("new") == len(PATHS) and kinds.count("end") == len(PATHS)
    assert (lines["in"], lines["out"]) == _expected_lines(), (lines, scores, kinds)
    assert zone_right >= 0.95
    assert all({"id", "label", "score", "top_score", "box", "start_time", "end_time", "zones", "frame"} <= set(e)
               for e in events)


def _mot(truth: list[dict], per_frame: list) -> dict:
    """CLEAR (MOTA, ID switches) and Identity (IDF1) from TrackEval, IoU similarity."""
    from edgecnn.runtime.detection.boxes import iou_matrix

    gt_ids, tr_ids, sims = [], [], []
    tracker_index: dict[int, int] = {}
    for f, (ids, boxes, _) in enumerate(per_frame):
        gt = truth[f]["visible"]
        gt_boxes = np.array([PATHS[i].box(f) for i in gt]).reshape(-1, 4).clip(0, SIZE)
        gt_ids.append(np.array(gt, int))
        tr_ids.append(np.array([tracker_index.setdefault(i, len(tracker_index)) for i in ids], int))
        sims.append(iou_matrix(gt_boxes, boxes))
    data = {"num_timesteps": len(per_frame), "num_gt_ids": len(PATHS), "num_tracker_ids": len(tracker_index),
            "num_gt_dets": sum(len(g) for g in gt_ids), "num_tracker_dets": sum(len(t) for t in tr_ids),
            "gt_ids": gt_ids, "tracker_ids": tr_ids, "similarity_scores": sims}
    clear = trackeval.metrics.CLEAR({"THRESHOLD": 0.5, "PRINT_CONFIG": False}).eval_sequence(data)
    identity = trackeval.metrics.Identity({"THRESHOLD": 0.5, "PRINT_CONFIG": False}).eval_sequence(data)
    return {"MOTA": clear["MOTA"], "IDSW": int(clear["IDSW"]), "IDF1": identity["IDF1"]}


def test_web_view_shows_tracks_zones_lines_and_events(shapes_run: dict, video: dict, tmp_path: Path,
                                                      report_metric) -> None:
    """The same video played in real time behind --serve: the page a user opens, in headless chromium."""
    chromium()
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    proc = subprocess.Popen([sys.executable, "-m", "edgecnn", "detect", str(shapes_run["run"] / "model_int8.tflite"),
                             "--source", str(video["path"]), "--realtime", "--zone", ZONE,
                             "--line", LINE, "--serve", f"127.0.0.1:{port}", "--events", str(tmp_path / "e.jsonl"),
                             "--no-window"], stderr=subprocess.PIPE, text=True)
    try:
        status = _status_when(url, lambda s: s["counts"]["lines"]["middle"]["in"] >= 1 and len(s["events"]) >= 2)
        thumb = next(e["thumbnail"] for e in status["events"] if "thumbnail" in e)
        with urllib.request.urlopen(url + thumb.lstrip("/"), timeout=5) as resp:
            picture = cv2.imdecode(np.frombuffer(resp.read(), np.uint8), cv2.IMREAD_COLOR)
        shot = Path(os.environ.get("EDGECNN_ARTIFACTS", tmp_path)) / "detect_web_view_tracks.png"
        dom = browse(url, tmp_path / "profile", shot, ready=lambda d: 'data-loaded="yes"' in d and ">#1<" in d)
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert 'data-live="yes"' in dom, dom[-2000:]
    assert '<tr class="zone"><td>mid</td>' in dom and '<tr class="line"><td>middle</td>' in dom
    assert 'data-loaded="yes"' in dom and ">#1<" in dom  # events with their object's id and thumbnail
    assert dom.count('class="stage"') == 5 and "p50 (ms)" in dom
    assert picture is not None and max(picture.shape[:2]) <= 96  # a small crop, not the frame
    assert proc.returncode == 0 and url in err
    report_metric(f"detect web view with tracks, zone and line: {shot}")


def _status_when(url: str, ready, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    status: dict = {}
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "status", timeout=2) as resp:
                status = json.loads(resp.read())
            if ready(status):
                return status
        except (OSError, KeyError):
            pass
        time.sleep(0.2)
    raise AssertionError(f"the web view never showed what was expected: {status}")
