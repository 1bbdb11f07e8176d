"""Haar detection and eye alignment on real faces composed into larger frames (no TensorFlow)."""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from conftest import shared

from edgecnn.face.blazeface import BlazeFaceDetector
from edgecnn.face.detect import FaceCropper, NoFaceError, load_face
from edgecnn.face.haar import HaarDetector
from edgecnn.workstation.face.footage import background, compose


def _inside(box: tuple[int, int, int, int], x: int, y: int, w: int, h: int) -> bool:
    """The detected box's centre lies in the pasted face and the box is face-sized."""
    bx, by, bw, bh = box
    cx, cy = bx + bw / 2, by + bh / 2
    return x <= cx <= x + w and y <= cy <= y + h and 0.4 * w <= bw <= 1.3 * w


def test_faces_pasted_into_frames_are_found_where_they_are() -> None:
    faces = shared("att_faces")
    cropper = FaceCropper()
    hits, total = 0, 0
    for person in range(21, 31):
        for shot, (x, y) in zip((1, 4, 8), ((20, 30), (120, 90), (210, 10)), strict=True):
            frame = compose([faces / f"s{person}" / f"{shot}.pgm"], [(x, y)], seed=person)
            face = cropper.largest(frame)
            total += 1
            hits += face is not None and _inside(face.box, x, y, 92, 112)
            if face is not None:
                assert face.image.shape[0] > face.image.shape[1] > 40  # a head-shaped crop
    assert hits >= 0.9 * total, f"found {hits} of {total} faces"


def test_the_largest_of_several_faces_comes_first() -> None:
    faces = shared("att_faces")
    big = cv2.resize(cv2.imread(str(faces / "s23" / "1.pgm")), None, fx=1.6, fy=1.6)
    frame = background(300, 420)
    frame[20:132, 10:102] = cv2.imread(str(faces / "s22" / "1.pgm"))
    frame[100:100 + big.shape[0], 200:200 + big.shape[1]] = big
    face = FaceCropper().largest(frame)
    assert face is not None and face.faces_in_frame == 2
    assert _inside(face.box, 200, 100, big.shape[1], big.shape[0])


@pytest.mark.parametrize("detector, faces", [(BlazeFaceDetector, 2), (HaarDetector, 4)])
def test_coral_photo_faces_and_the_largest_is_a_front_one(detector, faces: int) -> None:
    # BlazeFace short range is made for faces near the camera: it finds the two men in front and
    # not the two small background faces the Haar cascades also find
    face = load_face(shared("coral", "face.jpg"), FaceCropper(detector()))
    assert face.faces_in_frame == faces
    x, y, w, h = face.box
    assert w >= 95 and 100 <= x <= 260 and y <= 105  # one of the two men in front, not a background face


@pytest.mark.parametrize("degrees", [10, -10])
def test_eyes_level_a_tilted_face(degrees: float) -> None:
    faces = shared("att_faces")
    cropper = FaceCropper()
    errors, levelled = [], 0
    for person in range(21, 31):
        for shot in (1, 5):
            frame = compose([faces / f"s{person}" / f"{shot}.pgm"], [(60, 5)], scale=2.0, seed=person)
            upright = cropper.largest(frame)
            tilt = cv2.getRotationMatrix2D((156, 116), degrees, 1.0)
            face = cropper.largest(cv2.warpAffine(frame, tilt, (320, 240), borderMode=cv2.BORDER_REPLICATE))
            if face is None or upright is None or not face.aligned:
                continue
            levelled += 1
            errors.append(abs(face.angle - upright.angle + degrees))  # the measured tilt undoes the rotation
    assert levelled >= 12, f"eyes found in only {levelled} of 20 tilted faces"
    assert np.median(errors) <= 3.0 and max(errors) <= 8.0, errors


def test_no_face_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "wall.png"
    cv2.imwrite(str(path), background())
    with pytest.raises(NoFaceError, match="no face found in"):
        load_face(path, FaceCropper())
