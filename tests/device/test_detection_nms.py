"""NMS edge cases (greedy, per class, weighted) and the weighted merge against a plain reference."""

from __future__ import annotations

import numpy as np
import pytest

from edgecnn.runtime.detection.boxes import iou_matrix
from edgecnn.runtime.detection.nms import batched_nms, nms, weighted_nms


def reference_weighted(boxes: np.ndarray, scores: np.ndarray, iou: float, extra: np.ndarray):
    """MediaPipe's weighted NMS written the obvious way: take the best left, merge all it overlaps."""
    left = list(np.argsort(-scores, kind="stable"))
    out_boxes, out_scores, out_extra = [], [], []
    while left:
        top = left[0]
        group = [i for i in left if i == top or iou_matrix(boxes[top], boxes[i])[0, 0] > iou]
        left = [i for i in left if i not in group]
        w = scores[group] / scores[group].sum()
        out_boxes.append((boxes[group] * w[:, None]).sum(0))
        out_scores.append(scores[top])
        out_extra.append((extra[group] * w[:, None, None]).sum(0))
    return np.array(out_boxes), np.array(out_scores), np.array(out_extra)


def random_boxes(rng: np.random.Generator, n: int) -> np.ndarray:
    xy = rng.uniform(0, 100, (n, 2))
    return np.concatenate([xy, xy + rng.uniform(5, 40, (n, 2))], axis=1)


@pytest.mark.parametrize("seed", range(5))
def test_weighted_nms_matches_the_plain_reference(seed: int) -> None:
    rng = np.random.default_rng(seed)
    boxes, scores, points = random_boxes(rng, 60), rng.uniform(0.5, 1, 60), rng.uniform(0, 140, (60, 6, 2))
    got = weighted_nms(boxes, scores, 0.3, points)
    want = reference_weighted(boxes, scores, 0.3, points)
    assert 1 < len(got[0]) < 60
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-9)


def test_weighted_nms_empty_and_without_extra() -> None:
    boxes, scores, extra = weighted_nms(np.zeros((0, 4)), np.zeros(0), 0.3, np.zeros((0, 6, 2)))
    assert boxes.shape == (0, 4) and scores.shape == (0,) and extra is not None and extra.shape == (0, 6, 2)
    boxes, scores, extra = weighted_nms(np.array([[0, 0, 10, 10], [1, 1, 11, 11.0]]), np.array([0.6, 0.9]), 0.3)
    assert extra is None and boxes.shape == (1, 4) and scores.tolist() == [0.9]
    np.testing.assert_allclose(boxes[0], [0.6, 0.6, 10.6, 10.6])


@pytest.mark.parametrize("bad", [[5, 5, 5, 5], [5, 5, 2, 2], [np.nan, 0, 10, 10]])
def test_weighted_nms_degenerate_box_stays_alone(bad: list[float]) -> None:
    """A zero-area, inverted or NaN box overlaps nothing, not even itself: it must not hang or vanish."""
    boxes = np.array([bad, [0, 0, 10, 10], [0, 0, 10, 11.0]])
    out, scores, _ = weighted_nms(boxes, np.array([0.9, 0.8, 0.7]), 0.3)
    assert scores.tolist() == [0.9, 0.8]
    assert np.allclose(out[1], [0, 0, 10, 0.8 / 1.5 * 10 + 0.7 / 1.5 * 11])


def test_weighted_nms_iou_one_keeps_every_box() -> None:
    boxes = np.array([[0, 0, 10, 10], [0, 0, 10, 10.0]])
    out, scores, _ = weighted_nms(boxes, np.array([0.5, 0.9]), 1.0)
    assert scores.tolist() == [0.9, 0.5] and out.shape == (2, 4)


def test_weighted_nms_zero_scores_do_not_divide_by_zero() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11.0]])
    out, scores, _ = weighted_nms(boxes, np.zeros(2), 0.3)
    assert np.isfinite(out).all() and scores.tolist() == [0.0]


def test_nms_ties_keep_the_first_box_and_respect_the_limit() -> None:
    boxes = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [50, 50, 60, 60], [80, 80, 90, 90.0]])
    assert nms(boxes, np.array([0.5, 0.5, 0.4, 0.3]), 0.5).tolist() == [0, 2, 3]
    assert nms(boxes, np.array([0.5, 0.5, 0.4, 0.3]), 0.5, limit=2).tolist() == [0, 2]
    assert nms(np.zeros((0, 4)), np.zeros(0), 0.5).tolist() == []


def test_nms_threshold_is_inclusive_of_equal_overlap() -> None:
    """Greedy NMS suppresses only overlaps above the threshold (as TensorFlow's does)."""
    boxes = np.array([[0, 0, 10, 10], [5, 0, 15, 10.0]])  # IoU exactly 1/3
    assert nms(boxes, np.array([0.9, 0.8]), 1 / 3).tolist() == [0, 1]
    assert nms(boxes, np.array([0.9, 0.8]), 0.33).tolist() == [0]


def test_batched_nms_never_suppresses_across_classes() -> None:
    boxes = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10.0]])
    keep = batched_nms(boxes, np.array([0.9, 0.8, 0.7]), np.array([0, 1, 0]), 0.5)
    assert keep.tolist() == [0, 1]
    assert batched_nms(np.zeros((0, 4)), np.zeros(0), np.zeros(0), 0.5).tolist() == []


def reference_nms(boxes: np.ndarray, scores: np.ndarray, iou: float, limit: int | None) -> list[int]:
    """Greedy NMS written the obvious way."""
    left, keep = list(np.argsort(-scores, kind="stable")), []
    while left and (limit is None or len(keep) < limit):
        top = left.pop(0)
        keep.append(int(top))
        left = [i for i in left if iou_matrix(boxes[top], boxes[i])[0, 0] <= iou]
    return keep


@pytest.mark.parametrize("matrix_max", [512, 10], ids=["all-overlaps-at-once", "row-by-row"])
@pytest.mark.parametrize("seed", range(4))
def test_nms_matches_the_plain_reference(seed: int, matrix_max: int, monkeypatch: pytest.MonkeyPatch) -> None:
    import edgecnn.runtime.detection.nms as module

    monkeypatch.setattr(module, "MATRIX_MAX", matrix_max)
    rng = np.random.default_rng(seed)
    boxes, scores = random_boxes(rng, 80), np.round(rng.uniform(0, 1, 80), 1)  # rounded: many ties
    classes = rng.integers(0, 3, 80)
    for limit in (None, 5, 0):
        assert nms(boxes, scores, 0.4, limit).tolist() == reference_nms(boxes, scores, 0.4, limit)
    shifted = boxes + classes[:, None] * 1000.0
    assert batched_nms(boxes, scores, classes, 0.4).tolist() == reference_nms(shifted, scores, 0.4, None)
