"""Tracks, zones and counting lines on hand-made detection streams (no model)."""

from __future__ import annotations

import numpy as np
import pytest

from edgecnn.camera.tracking import LabelTracker, Tracker
from edgecnn.camera.zones import Areas, parse_line, parse_zone
from edgecnn.errors import EdgeCNNUsageError

LABELS = ["cat", "dog"]


def _run(tracker: Tracker, frames: list[list[tuple]], areas: Areas | None = None) -> list:
    events = []
    for i, dets in enumerate(frames):
        boxes = np.array([d[:4] for d in dets], np.float64).reshape(-1, 4)
        scores = np.array([d[4] for d in dets] if dets else [])
        classes = np.array([d[5] if len(d) > 5 else 0 for d in dets], np.int64)
        events += tracker.update(boxes, scores, classes, LABELS, i, i / 10)
        if areas is not None:
            areas.count(tracker.tracks)
    return events + tracker.finish(len(frames))


def test_flickering_detection_is_one_visit() -> None:
    """Scores hovering at the threshold: the detection comes and goes, the object stays one track."""
    rng = np.random.default_rng(0)
    frames = [[(10 + i, 10, 40 + i, 40, 0.5)] if rng.random() < 0.6 else [] for i in range(200)]
    events = _run(Tracker(min_frames=3, max_missed=10), frames)
    assert [e.type for e in events if e.type != "update"] == ["new", "end"]
    assert len({e.id for e in events}) == 1


def test_two_objects_keep_their_ids_while_crossing() -> None:
    frames = [[(i * 2, 50, i * 2 + 20, 70, 0.9, 0), (200 - i * 2, 52, 220 - i * 2, 72, 0.8, 1)] for i in range(100)]
    events = _run(Tracker(min_frames=2, max_missed=5), frames)
    new = [e for e in events if e.type == "new"]
    assert [(e.label, e.id) for e in new] == [("cat", 1), ("dog", 2)]
    assert [e.type for e in events if e.type != "update"].count("end") == 2
    ends = {e.id: e for e in events if e.type == "end"}
    assert ends[1].box[0] > 150 and ends[2].box[0] < 50  # each id followed its own object across


def test_short_occlusion_keeps_the_id_and_a_long_one_ends_the_visit() -> None:
    seen = [(30, 30, 60, 60, 0.9)]
    for gap, visits in ((8, 1), (15, 2)):
        frames = [seen] * 10 + [[]] * gap + [seen] * 10
        events = _run(Tracker(min_frames=3, max_missed=10), frames)
        assert [e.type for e in events if e.type != "update"] == ["new", "end"] * visits, gap


def test_label_changes_only_after_min_frames() -> None:
    frames = [[(0, 0, 10, 10, 0.9, 0)]] * 5 + [[(0, 0, 10, 10, 0.9, 1)]] + [[(0, 0, 10, 10, 0.9, 0)]] * 3 \
        + [[(0, 0, 10, 10, 0.9, 1)]] * 4
    events = _run(Tracker(min_frames=3, max_missed=10), frames)
    updates = [e for e in events if e.type == "update" and "label" in e.changes]
    assert len(updates) == 1 and updates[0].label == "dog" and updates[0].frame == 11


def test_zones_and_lines_count_what_crosses() -> None:
    areas = Areas([parse_zone("left:0,0;0.5,0;0.5,1;0,1")], [parse_line("middle:100,0;100,200")])
    areas.fit(200, 200)
    tracker = Tracker(min_frames=2, max_missed=3, zones_of=areas.zones_of)
    right = [[(10 + 3 * i, 80, 30 + 3 * i, 100, 0.9)] for i in range(60)]  # crosses x=100 going right
    left = [[(170 - 3 * i, 80, 190 - 3 * i, 100, 0.9)] for i in range(60)]  # crosses going left
    events = _run(tracker, right + [[]] * 6 + left, areas)
    line = areas.lines[0]
    assert (line.inward, line.outward) == (1, 1)  # first point above, second below: left of it is the east
    entered = [e for e in events if e.type == "update" and any(c.startswith(("entered", "left")) for c in e.changes)]
    assert [c for e in entered for c in e.changes] == ["left left", "entered left"]
    assert [e.zones for e in events if e.type == "new"] == [("left",), ()]


@pytest.mark.parametrize("text", ["z", "z:1,2", "z:a,b;c,d;e,f", "z:1,2;3,4", "bad name:0,0;1,0;1,1",
                                  "z:0,0;1,0;-1,1", "z:nan,0;1,0;1,1"])
def test_malformed_zones_are_usage_errors(text: str) -> None:
    with pytest.raises(EdgeCNNUsageError, match="--zone"):
        parse_zone(text)


def test_zone_outside_the_frame_and_bad_lines() -> None:
    areas = Areas([parse_zone("far:1000,1000;1100,1000;1100,1100")])
    with pytest.raises(EdgeCNNUsageError, match="outside the 640x480 frame"):
        areas.fit(640, 480)
    for text in ("l:0,0;0,0", "l:0,0;1,1;2,2", "l"):
        with pytest.raises(EdgeCNNUsageError, match="--line"):
            parse_line(text)


def test_classifier_label_is_one_track_per_visit() -> None:
    tracker = LabelTracker(min_frames=3, max_missed=5)
    box = np.array([0, 0, 10, 10.0])
    labels = [None] * 5 + (["cat", None] * 10) + ["cat"] * 10 + [None] * 10 + ["dog"] * 6 + [None] * 10
    events = [e for i, lab in enumerate(labels) for e in tracker.update(lab, 0.9, box, i, i / 10)]
    assert [(e.type, e.label) for e in events] == [("new", "cat"), ("end", "cat"), ("new", "dog"), ("end", "dog")]
    new_dog, end_dog = events[2:]
    assert new_dog.start_time == pytest.approx(4.5) and new_dog.frame == 47  # first dog frame 45, held 3 frames
    assert end_dog.end_time == pytest.approx(5.0)  # the last frame it was seen


def test_weak_detections_continue_objects_but_never_start_one() -> None:
    """Two stages: a false positive at 0.3 (under --threshold 0.5) never becomes an object; a real
    object whose score dips to 0.3 for a while keeps its id instead of ending and coming back."""
    ghost = (100, 100, 130, 130, 0.3)
    frames = [[(i, 10, i + 30, 40, 0.9 if i < 10 or i >= 40 else 0.3), ghost] for i in range(60)]
    events = _run(Tracker(min_frames=3, max_missed=5, start_score=0.5), frames)
    assert [(e.type, e.id) for e in events if e.type != "update"] == [("new", 1), ("end", 1)]
    assert all(e.box[0] < 100 for e in events)  # nothing about the ghost
    again = _run(Tracker(min_frames=3, max_missed=5, start_score=0.0), frames)  # one stage: the ghost is an object
    assert len({e.id for e in again}) == 2


def test_weak_detections_do_not_vote_on_the_label() -> None:
    frames = [[(0, 0, 10, 10, 0.9, 0)]] * 5 + [[(0, 0, 10, 10, 0.4, 1)]] * 10
    events = _run(Tracker(min_frames=3, max_missed=10, start_score=0.5), frames)
    assert not [e for e in events if "label" in e.changes] and events[-1].label == "cat"


def test_one_object_read_as_two_classes_is_one_object() -> None:
    """Per-class NMS leaves a circle and a square on the same spot: one track, not two."""
    frames = [[(i, 10, i + 30, 40, 0.8, 0), (i + 1, 10, i + 31, 41, 0.7, 1)] for i in range(20)]
    events = _run(Tracker(min_frames=3, max_missed=5, start_score=0.5), frames)
    assert [e.type for e in events if e.type != "update"] == ["new", "end"]
