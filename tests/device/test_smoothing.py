"""Smoothing is pure: checked frame by frame (no TensorFlow, no camera); label events are tracks
(tests/device/test_tracking.py)."""

from __future__ import annotations

import numpy as np

from edgecnn.camera.smoothing import Smoother


def _one_hot(i: int, n: int = 3) -> np.ndarray:
    v = np.zeros(n, np.float32)
    v[i] = 1.0
    return v


def test_smoother_needs_a_majority_of_the_window() -> None:
    s = Smoother(["background", "cat", "dog"], window=3, threshold=0.5)
    out = [s.push(_one_hot(i))[0] for i in (0, 1, 1, 1, 2, 1, 1, 2, 2, 2)]
    assert out == [None, None, "cat", "cat", "cat", "cat", "cat", "cat", "dog", "dog"]


def test_missing_frames_fade_the_label_out() -> None:
    s = Smoother(["a", "b"], window=2, threshold=0.6, ignore=())
    assert s.push(_one_hot(1, 2))[0] == "b"
    assert s.push(None)[0] is None
