"""The Pi camera path with a stand-in for picamera2 (no camera here): the lores stream is asked for
at about the model's input size with the main stream's aspect ratio, every request is released, and
inference on the small frame gives what the full frame gives."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import shared

from edgecnn.camera.loop import CameraLoop, DetectOptions
from edgecnn.camera.picamera import lores_size
from edgecnn.face.blazeface import SHIPPED
from edgecnn.runtime.detection.boxes import iou_matrix

BLAZEFACE = SHIPPED  # the installed package's model: on the emulated Pi there is no source tree


class StandIn:
    """picamera2.Picamera2 as its documentation describes it: video configuration with main
    (RGB888, BGR in memory) and lores (YUV420, I420 planes), capture_request / make_array / release."""

    made: list[StandIn] = []
    picture: np.ndarray

    def __init__(self) -> None:
        self.config: dict = {}
        self.requests = self.released = self.started = 0
        StandIn.made.append(self)

    def create_video_configuration(self, main: dict, lores: dict | None = None) -> dict:
        return {"main": main, "lores": lores}

    def configure(self, config: dict) -> None:
        self.config = config
        w, h = config["main"]["size"]
        self.main = cv2.resize(self.picture, (w, h), interpolation=cv2.INTER_AREA)
        if config["lores"]:
            lw, lh = config["lores"]["size"]
            self.yuv = cv2.cvtColor(cv2.resize(self.main, (lw, lh), interpolation=cv2.INTER_AREA),
                                    cv2.COLOR_BGR2YUV_I420)

    def start(self) -> None:
        self.started += 1

    def stop(self) -> None:
        pass

    def close(self) -> None:
        pass

    def capture_array(self, name: str = "main") -> np.ndarray:
        return self.main.copy()

    def capture_request(self) -> StandIn:
        self.requests += 1
        return self

    def make_array(self, name: str) -> np.ndarray:
        return self.main.copy() if name == "main" else self.yuv.copy()

    def release(self) -> None:
        self.released += 1


@pytest.fixture
def picamera(monkeypatch: pytest.MonkeyPatch):
    module = types.ModuleType("picamera2")
    module.Picamera2 = StandIn  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "picamera2", module)
    StandIn.made = []
    return StandIn


def test_lores_size_keeps_the_aspect_and_covers_the_model() -> None:
    assert lores_size((640, 480), (128, 128)) == (192, 144)
    assert lores_size((1280, 720), (96, 96)) == (192, 108)
    assert lores_size((640, 480), (300, 300)) == (448, 336)
    assert lores_size((320, 240), (320, 320)) is None  # as big as the main stream: no lores


def _run(model: Path, picture: np.ndarray, picamera, **extra) -> tuple[list, StandIn]:
    picamera.picture = picture
    seen = []
    opts = DetectOptions(model=str(model), source="picamera", max_frames=4, window_view=False, min_frames=1,
                         window=1, **extra)
    CameraLoop(opts, on_frame=lambda frame, s: seen.append((frame, s))).run()
    return seen, picamera.made[-1]


def test_classifier_reads_the_lores_stream(picamera) -> None:
    model = shared("coral", "mobilenet_v1_0.25_128_quant.tflite")
    cat = cv2.imread(str(shared("coral", "cat.bmp")))
    seen, cam = _run(model, cat, picamera, labels=str(shared("coral", "imagenet_labels.txt")), threshold=0.0,
                     ignore=())
    assert cam.config["lores"] == {"size": (192, 144), "format": "YUV420"}
    assert cam.config["main"] == {"size": (640, 480), "format": "RGB888"}
    assert cam.requests == cam.released >= len(seen) == 4  # every request went back to the camera
    frame, s = seen[-1]
    assert frame.bgr.shape == (480, 640, 3) and frame.small.shape == (144, 192, 3)
    from edgecnn.runtime import Classifier

    full = Classifier(model, labels=str(shared("coral", "imagenet_labels.txt")))
    small = full.postprocess(full.invoke(full.preprocess(frame.small, bgr=True)))
    assert s.label == full.labels[int(np.argmax(small))]  # the loop classified the small frame ...
    scores = full.postprocess(full.invoke(full.preprocess(frame.bgr, bgr=True)))
    top3 = [full.labels[i] for i in np.argsort(-scores)[:3]]
    assert s.label in top3, top3  # ... and sees what the full frame shows (a cat: tabby / tiger cat)


def test_detector_boxes_from_the_lores_stream_land_on_the_full_frame(picamera) -> None:
    face = cv2.imread(str(shared("coral", "face.jpg")))
    seen, cam = _run(BLAZEFACE, face, picamera)
    assert cam.config["lores"] == {"size": (192, 144), "format": "YUV420"}  # BlazeFace reads 128x128
    frame, s = seen[-1]
    from edgecnn.runtime.detection import ObjectDetector

    detector = ObjectDetector(BLAZEFACE)
    got = np.array([d.box for d in s.detections])
    # the loop's boxes are the small frame's boxes, scaled to the full frame
    tensor, box = detector.preprocess(frame.small, bgr=True)
    small = np.array([d.box for d in detector.postprocess(detector.invoke(tensor), box)])
    np.testing.assert_allclose(got, small * (640 / 192), atol=2.0)
    # and they are the faces the full frame shows: same places, within what 4:2:0 chroma and a second
    # resize change (IoU 0.89-0.97 here; boxes in the small frame's pixels would give 0)
    tensor, box = detector.preprocess(frame.bgr, bgr=True)
    full = np.array([d.box for d in detector.postprocess(detector.invoke(tensor), box)])
    assert len(got) == len(full) == 2
    overlap = iou_matrix(got, full)
    assert overlap.max(axis=1).min() >= 0.85, overlap


def test_no_camera_is_one_clear_error(run_cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    class Absent(StandIn):
        def __init__(self) -> None:
            raise IndexError("list index out of range")  # what picamera2 raises with no camera attached

    module = types.ModuleType("picamera2")
    module.Picamera2 = Absent  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "picamera2", module)
    r = run_cli("detect", BLAZEFACE, "--source", "picamera", "--max-frames", "2", "--no-window",
                "--events", tmp_path / "e.jsonl")
    assert r.code != 0 and "cannot open the Pi camera" in r.err and "Traceback" not in r.err
