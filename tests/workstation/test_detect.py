"""`edgecnn detect` on a video with known ground truth, its web view, and a source that fails."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import assert_one_clear_error, browse, chromium, free_port

pytest.importorskip("tensorflow", reason="training the test model needs pip install 'edgecnn[train]'")

ROI = (48, 28, 64, 64)
TIMELINE = [(None, 40), ("1", 60), (None, 40), ("7", 60), (None, 40), ("4", 60), (None, 30)]


def _digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    d = load_digits()
    return np.rint(d.images * 255 / 16).astype(np.uint8), d.target


def _frame(rng: np.random.Generator, digit: np.ndarray | None) -> np.ndarray:
    frame = rng.integers(0, 40, (120, 160, 3), dtype=np.uint8)
    if digit is not None:
        x, y, w, h = ROI
        frame[y:y + h, x:x + w] = cv2.resize(digit, (w, h), interpolation=cv2.INTER_NEAREST)[:, :, None]
    return frame


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A model for 1 / 4 / 7 / background, and a video whose frames are labelled."""
    from edgecnn.workstation.config import QuantizeConfig, TrainConfig
    from edgecnn.workstation.quantize.run import quantize_run
    from edgecnn.workstation.training import train

    root = tmp_path_factory.mktemp("detect")
    images, targets = _digits()
    rng = np.random.default_rng(0)
    held_out = {c: list(np.flatnonzero(targets == int(c))[-30:]) for c in "147"}
    for c in "147":
        (root / "data" / c).mkdir(parents=True)
        for i in np.flatnonzero(targets == int(c))[:-30]:
            patch = crop(_frame(rng, images[i]))
            cv2.imwrite(str(root / "data" / c / f"{i}.png"), patch)
    (root / "data" / "background").mkdir()
    for i in range(150):
        cv2.imwrite(str(root / "data" / "background" / f"{i}.png"), crop(_frame(rng, None)))
    cfg = TrainConfig(data="x", height=16, width=16, color="gray", epochs=25, val_fraction=0.1,
                      test_fraction=0.1, shift=0.05)
    train(str(root / "data"), root / "run", cfg)
    quantize_run(root / "run", QuantizeConfig(calib_samples=200))
    video, truth = root / "scene.avi", []
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 30, (160, 120))
    for label, n in TIMELINE:
        for k in range(n):
            digit = None if label is None else images[held_out[label][k % 30]]
            writer.write(_frame(rng, digit))
            truth.append(label)
    writer.release()
    return {"model": root / "run" / "model_int8.tflite", "video": video, "truth": truth, "root": root}


def crop(frame: np.ndarray) -> np.ndarray:
    x, y, w, h = ROI
    return frame[y:y + h, x:x + w]


def test_events_match_the_ground_truth(scene: dict, run_cli, tmp_path: Path, report_metric) -> None:
    events_file, summary = tmp_path / "events.jsonl", tmp_path / "summary.json"
    r = run_cli("detect", scene["model"], "--source", scene["video"], "--roi", ",".join(map(str, ROI)),
                "--smooth", "5", "--events", events_file, "--snapshots", tmp_path / "snaps",
                "--summary", summary)
    assert r.code == 0, r.err
    events = [json.loads(line) for line in events_file.read_text().splitlines()]
    expected = []
    for label, _ in TIMELINE:
        if label is not None:
            expected += [("new", label), ("end", label)]  # one event pair per visit
    assert [(e["type"], e["label"]) for e in events] == expected
    assert [e["id"] for e in events] == [1, 1, 2, 2, 3, 3]
    labels: list[str | None] = [None] * len(scene["truth"])
    for new, end in zip(events[::2], events[1::2], strict=True):  # a visit: first to last frame seen
        first, last = round(new["start_time"] * 30), round(end["end_time"] * 30)  # the video has 30 fps
        labels[first:last + 1] = [new["label"]] * (last + 1 - first)
    right = sum(a == b for a, b in zip(labels, scene["truth"], strict=True)) / len(scene["truth"])
    assert right >= 0.95, right
    assert len(list((tmp_path / "snaps").glob("*.jpg"))) == len(events) // 2  # the best shot of each visit
    status = json.loads(summary.read_text())
    assert status["timings"]["frames"] == len(scene["truth"])
    assert set(status["timings"]["stages"]) == {"capture_wait", "preprocess", "inference", "postprocess",
                                                 "draw_encode"}
    report_metric(f"detect: {right * 100:.1f} % of {len(labels)} frames carry the right smoothed label; "
                  f"{len(events)} events as expected")


class FlakySource:
    """A live source that delivers, goes dead (reads fail, first reopen fails), then recovers."""

    name, live, fps = "flaky test camera", True, 0.0

    def __init__(self, frame: np.ndarray) -> None:
        self.frame, self.reads, self.opens = frame, 0, 0

    def open(self) -> None:
        from edgecnn.camera.sources import SourceError

        self.opens += 1
        if self.opens == 2:
            raise SourceError("camera is gone")

    def read(self) -> np.ndarray | None:
        self.reads += 1
        time.sleep(0.002)
        return None if 30 <= self.reads < 45 else self.frame

    def close(self) -> None:
        pass


def test_source_that_fails_then_recovers(scene: dict) -> None:
    from edgecnn.camera.loop import CameraLoop, DetectOptions

    source = FlakySource(_frame(np.random.default_rng(1), None))
    detector = CameraLoop(DetectOptions(model=str(scene["model"]), source="unused", max_frames=60), source)
    status = detector.run()
    assert status["reconnects"] >= 1 and source.opens >= 3
    assert status["failed_reads"] >= 5
    assert status["frames"] == 60  # the loop went on after the source came back


def test_bad_inputs(scene: dict, run_cli, tmp_path: Path) -> None:
    model, video = scene["model"], scene["video"]
    assert_one_clear_error(run_cli("detect", model, "--source", "nonsense-source"), 2, "unknown source")
    assert_one_clear_error(run_cli("detect", model, "--source", "/dev/video99"), 1, "/dev/video99")
    assert_one_clear_error(run_cli("detect", model, "--source", "9"), 1, "cannot open camera 9")
    assert_one_clear_error(run_cli("detect", tmp_path / "none.tflite", "--source", video), 1, "model not found")
    assert_one_clear_error(run_cli("detect", model, "--source", video, "--roi", "1,2,3"), 2, "--roi")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = run_cli("detect", model, "--source", video, "--serve", f"127.0.0.1:{port}")
        assert_one_clear_error(r, 1, f"port {port}", "already in use")


def test_web_view_in_headless_chromium(scene: dict, tmp_path: Path, report_metric) -> None:
    chromium()
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "edgecnn", "detect", str(scene["model"]), "--source",
                             str(scene["video"]), "--roi", ",".join(map(str, ROI)), "--realtime",
                             "--duration", "60", "--serve", f"127.0.0.1:{port}", "--events",
                             str(tmp_path / "events.jsonl")], stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait_for_event(url)
        shot = Path(os.environ.get("EDGECNN_ARTIFACTS", tmp_path)) / "detect_web_view.png"
        dom = browse(url, tmp_path / "profile", shot, ready=lambda d: 'data-loaded="yes"' in d)
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert 'data-live="yes"' in dom, dom[-2000:]
    assert 'class="event"' in dom and ">new<" in dom  # the classifier's label is one tracked visit
    assert 'data-loaded="yes"' in dom  # its thumbnail was served and shown
    assert dom.count('class="stage"') == 5 and "p50 (ms)" in dom
    assert shot.stat().st_size > 1000
    assert proc.returncode == 0 and "fps" in err and url in err  # SIGTERM ends cleanly; the URL was printed
    report_metric(f"detect web view screenshot: {shot}")


def _wait_for_event(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "status", timeout=2) as resp:
                if json.loads(resp.read())["events"]:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError("the detector served no event in time")
