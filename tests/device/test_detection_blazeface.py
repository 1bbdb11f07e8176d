"""MediaPipe BlazeFace through ObjectDetector (no TensorFlow): recognised from its outputs, faces
found on the ORL images and on coral/face.jpg, keypoints where a face has them."""

from __future__ import annotations

import statistics
import time

import numpy as np
import pytest
from conftest import shared

from edgecnn.images import load_image
from edgecnn.runtime.detection import Letterbox, ObjectDetector
from edgecnn.runtime.detection.blazeface import ANCHOR_GRIDS, anchor_centres, recognise
from edgecnn.runtime.detection.boxes import iou_matrix
from edgecnn.runtime.detection.layouts import DecodeOptions
from edgecnn.runtime.tensors import TensorSpec

SHORT, FULL = "face_detection_short_range.tflite", "face_detection_full_range_sparse.tflite"
RIGHT_EYE, LEFT_EYE, NOSE, MOUTH = 0, 1, 2, 3


@pytest.fixture(scope="module")
def short_range() -> ObjectDetector:
    return ObjectDetector(shared("mediapipe", SHORT), threads=2)


def spec(index: int, shape: tuple[int, ...]) -> TensorSpec:
    return TensorSpec(index, f"t{index}", shape, np.dtype(np.float32), 0.0, 0)


def test_anchors_follow_the_ssd_grids() -> None:
    short = anchor_centres(ANCHOR_GRIDS[896])
    assert short.shape == (896, 2) and np.allclose(short[:2], [[0.5 / 16, 0.5 / 16]] * 2)
    assert np.allclose(short[2], [1.5 / 16, 0.5 / 16]) and np.allclose(short[512:518], [[0.5 / 8, 0.5 / 8]] * 6)
    assert np.allclose(short[-1], [7.5 / 8, 7.5 / 8])
    full = anchor_centres(ANCHOR_GRIDS[2304])
    assert full.shape == (2304, 2) and np.allclose(full[48], [0.5 / 48, 1.5 / 48])


def test_recognised_in_either_output_order() -> None:
    a = recognise([spec(0, (1, 896, 16)), spec(1, (1, 896, 1))], None)
    b = recognise([spec(0, (1, 2304, 1)), spec(1, (1, 2304, 16))], None)
    assert a is not None and (a.regressors, a.scores) == (0, 1)
    assert b is not None and (b.regressors, b.scores) == (1, 0) and len(b.anchors) == 2304
    assert recognise([spec(0, (1, 900, 16)), spec(1, (1, 900, 1))], None) is None
    assert recognise([spec(0, (1, 896, 18)), spec(1, (1, 896, 1))], None) is None


def test_decode_places_box_and_keypoints_from_the_anchor() -> None:
    decoder = recognise([spec(0, (1, 896, 16)), spec(1, (1, 896, 1))], None)
    assert decoder is not None
    reg, logits = np.zeros((1, 896, 16), np.float32), np.full((1, 896, 1), -10, np.float32)
    logits[0, 513, 0] = 3.0  # second anchor of the 8 x 8 grid's first cell: centre (8, 8) at 128 px
    reg[0, 513, :4] = [2, -1, 20, 10]
    reg[0, 513, 4:] = np.arange(12)
    out = decoder.decode([reg, logits], (128, 128), DecodeOptions(0.5, 0.5, 10))
    np.testing.assert_allclose(out.boxes, [[0, 2, 20, 12]])
    np.testing.assert_allclose(out.scores, [1 / (1 + np.exp(-3.0))])
    assert out.keypoints is not None
    np.testing.assert_allclose(out.keypoints[0], 8 + np.arange(12).reshape(6, 2))
    assert len(decoder.decode([reg, logits], (128, 128), DecodeOptions(0.96, 0.5, 10)).boxes) == 0


@pytest.mark.x86_only  # 300 invokes: 80 s under qemu; the full-range test below runs BlazeFace on ARM
def test_short_range_finds_one_face_per_orl_image(short_range: ObjectDetector, report_metric) -> None:
    images = sorted(shared("att_faces").glob("s*/*.pgm"))
    assert len(images) == 300
    one, invoke_s, decode_s = 0, [], []
    for path in images:
        tensor, box = short_range.preprocess(load_image(path, "rgb"))
        start = time.perf_counter()
        raw = short_range.invoke(tensor)
        invoke_s.append(time.perf_counter() - start)
        found = short_range.postprocess(raw, box)
        decode_s.append(short_range.last_decode_s)
        if len(found) != 1:
            continue
        one += 1
        face = found[0]
        assert face.label == "face" and face.index == 0 and face.score >= 0.5 and len(face.keypoints) == 6
        x0, y0, x1, y1 = face.box
        h, w = box.frame_h, box.frame_w
        assert 0.25 * w < (x0 + x1) / 2 < 0.75 * w and 0.25 * h < (y0 + y1) / 2 < 0.85 * h, (path, face.box)
        assert x1 - x0 > 0.2 * w and y1 - y0 > 0.2 * h, (path, face.box)
        kp = np.asarray(face.keypoints)
        assert kp[RIGHT_EYE, 1] < kp[MOUTH, 1] and kp[LEFT_EYE, 1] < kp[MOUTH, 1], (path, face.keypoints)
        assert kp[RIGHT_EYE, 0] < kp[LEFT_EYE, 0], (path, face.keypoints)  # the person's right eye is on the left
        assert all(x0 <= x <= x1 and y0 <= y <= y1 for x, y in kp[:4]), (path, face.box, face.keypoints)
    report_metric(f"BlazeFace short range: exactly one face in {one}/300 ORL images "
                  f"(median a frame: postprocess {statistics.median(decode_s) * 1e6:.0f} us, "
                  f"invoke {statistics.median(invoke_s) * 1e6:.0f} us)")
    assert one >= 294  # 98 %


def test_full_range_finds_the_four_faces_in_face_jpg(short_range: ObjectDetector, report_metric) -> None:
    full = ObjectDetector(shared("mediapipe", FULL), threads=2)
    image = load_image(shared("coral", "face.jpg"), "rgb")
    faces = full.detect(image)
    report_metric(f"BlazeFace full range on coral/face.jpg: {len(faces)} faces, scores "
                  + ", ".join(f"{f.score:.2f}" for f in faces))
    assert len(faces) == 4
    boxes = np.array([f.box for f in faces])
    overlaps = iou_matrix(boxes, boxes)
    assert (overlaps[~np.eye(4, dtype=bool)] < 0.1).all()  # four different faces
    for f in faces:
        kp = np.asarray(f.keypoints)
        assert kp[RIGHT_EYE, 1] < kp[MOUTH, 1] and kp[LEFT_EYE, 1] < kp[MOUTH, 1]
    large = short_range.detect(image)  # short range sees the two large faces, at the same places
    assert len(large) == 2
    assert (iou_matrix(np.array([f.box for f in large]), boxes).max(axis=1) > 0.7).all()


def test_frame_is_padded_to_a_square(short_range: ObjectDetector) -> None:
    image = load_image(shared("coral", "face.jpg"), "rgb")
    tensor, box = short_range.preprocess(image)
    h, w = image.shape[:2]
    assert box == Letterbox.fit(h, w, 128, 128, "letterbox")
    assert abs(box.scale_x * w - box.scale_y * w) <= 1  # one scale, up to the whole-pixel rounding
    assert tensor.shape == (1, 128, 128, 3) and tensor.dtype == np.float32
    assert tensor.min() >= -1.0 and tensor.max() <= 1.0
    assert (tensor[0, 0] == -1.0).all() or (tensor[0, :, 0] == -1.0).all()  # the black padding
