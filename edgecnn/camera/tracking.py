"""Detections become tracks: stable ids across frames, one `new` and one `end` per visit.

Matching is greedy by IoU against each track's box moved by its recent velocity (numpy, no
dependency). A track is tentative until seen on `min_frames` frames (then `new`), survives up to
`max_missed` frames without a match (occlusions, a missed detection), then ends (`end`). A label
change, a better best score, or entering / leaving a zone is an `update`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from edgecnn.runtime.detection.boxes import iou_matrix

BETTER = 0.1  # an `update` for a better snapshot needs the best score to rise this much


@dataclass(frozen=True)
class TrackEvent:
    """new | update | end of one tracked object; times on the run's clock (seconds)."""

    type: str
    id: int
    label: str
    score: float
    top_score: float
    box: tuple[float, float, float, float]  # x0, y0, x1, y1, pixels of the frame
    start_time: float
    end_time: float | None
    zones: tuple[str, ...]
    frame: int
    changes: tuple[str, ...] = ()  # update: "label", "top_score", "entered NAME", "left NAME"
    snapshot: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type, "id": self.id, "label": self.label, "score": round(self.score, 4),
                               "top_score": round(self.top_score, 4), "box": [round(v, 1) for v in self.box],
                               "start_time": round(self.start_time, 3),
                               "end_time": None if self.end_time is None else round(self.end_time, 3),
                               "zones": list(self.zones), "frame": self.frame}
        if self.changes:
            out["changes"] = list(self.changes)
        if self.snapshot:
            out["snapshot"] = self.snapshot
        return out


@dataclass
class Track:
    id: int
    label: str
    index: int
    box: np.ndarray
    score: float
    start_time: float
    first_frame: int
    hits: int = 1
    missed: int = 0
    confirmed: bool = False
    top_score: float = 0.0
    reported_top: float = 0.0
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(4))
    zones: tuple[str, ...] = ()
    last_time: float = 0.0
    last_frame: int = 0
    pending: int = -1  # a class index seen instead of the track's own, on `pending_hits` frames in a row
    pending_hits: int = 0

    def predicted(self) -> np.ndarray:
        return self.box + self.velocity * (self.missed + 1)

    def event(self, kind: str, frame: int, changes: tuple[str, ...] = (), end: float | None = None) -> TrackEvent:
        return TrackEvent(kind, self.id, self.label, self.score, self.top_score, tuple(float(v) for v in self.box),
                          self.start_time, end, self.zones, frame, changes)


SAME_PLACE = 0.6  # IoU above which two boxes of one frame are one object read as two classes


class Tracker:
    """Feed `update(boxes, scores, classes, labels, frame, t)` once per frame; it returns the events
    and keeps `tracks` (tentative and confirmed).

    Two-stage association (as ByteTrack): detections scoring at least `start_score` are matched to
    every track first and only they start new tracks; weaker ones can then only continue a
    confirmed track that found nothing better. A false positive hovering below the threshold never
    becomes an object, and a real one whose score dips keeps its id instead of ending.
    """

    def __init__(self, min_frames: int = 3, max_missed: int = 10, iou: float = 0.2,
                 zones_of: Callable[[np.ndarray], tuple[str, ...]] | None = None, start_score: float = 0.0) -> None:
        if min_frames < 1 or max_missed < 0 or not 0 <= iou < 1:
            raise ValueError("need min_frames >= 1, max_missed >= 0 and 0 <= iou < 1")
        self.min_frames, self.max_missed, self.iou, self.start_score = min_frames, max_missed, iou, start_score
        self.zones_of = zones_of or (lambda box: ())
        self.tracks: list[Track] = []
        self._ids = itertools.count(1)

    @property
    def confirmed(self) -> list[Track]:
        return [t for t in self.tracks if t.confirmed]

    def update(self, boxes: np.ndarray, scores: np.ndarray, classes: np.ndarray, labels: list[str], frame: int,
               t: float) -> list[TrackEvent]:
        boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
        scores, classes = np.asarray(scores, np.float64).reshape(-1), np.asarray(classes).reshape(-1)
        strong = scores >= self.start_score
        matches = self._match(range(len(self.tracks)), np.flatnonzero(strong), boxes, classes)
        taken = {i for i, _ in matches}
        rest = [i for i, tr in enumerate(self.tracks) if i not in taken and tr.confirmed]
        matches += self._match(rest, np.flatnonzero(~strong), boxes, classes)
        events: list[TrackEvent] = []
        for track_i, det_i in matches:  # a weak detection moves a track; its class is no vote on the label
            index = int(classes[det_i]) if strong[det_i] else self.tracks[track_i].index
            events += self._hit(self.tracks[track_i], boxes[det_i], float(scores[det_i]), index, labels, frame, t)
        matched = {i for i, _ in matches}
        for i, track in enumerate(self.tracks):
            if i not in matched:
                track.missed += 1
        used = {d for _, d in matches}
        claimed = [boxes[d] for d in used]
        for d in sorted(np.flatnonzero(strong), key=lambda i: -scores[i]):
            if d in used:
                continue
            if claimed and iou_matrix(boxes[d][None], np.array(claimed)).max() >= SAME_PLACE:
                continue  # another class's box on an object already accounted for: not a second object
            claimed.append(boxes[d])
            k = int(classes[d])
            self.tracks.append(Track(next(self._ids), labels[k], k, boxes[d], float(scores[d]), t, frame,
                                     top_score=float(scores[d]), zones=self.zones_of(boxes[d]), last_time=t,
                                     last_frame=frame))
            events += self._maybe_confirm(self.tracks[-1], frame)
        return events + self._expire(frame)

    def _match(self, tracks: Iterable[int], dets: np.ndarray, boxes: np.ndarray,
               classes: np.ndarray) -> list[tuple[int, int]]:
        """(track, detection) pairs, greedy by IoU with each track's predicted box; a detection of
        another class counts half (two objects crossing swap ids less often, a misread label still
        matches)."""
        tracks = list(tracks)
        if not tracks or not len(dets):
            return []
        overlap = iou_matrix(np.stack([self.tracks[i].predicted() for i in tracks]), boxes[dets])
        same = np.array([self.tracks[i].index for i in tracks])[:, None] == classes[dets].reshape(1, -1)
        overlap = np.where(same, overlap, overlap * 0.5)
        pairs: list[tuple[int, int]] = []
        used_t: set[int] = set()
        used_d: set[int] = set()
        for flat in np.argsort(-overlap, axis=None):
            ti, di = divmod(int(flat), overlap.shape[1])
            if overlap[ti, di] < self.iou:
                break
            if ti not in used_t and di not in used_d:
                used_t.add(ti)
                used_d.add(di)
                pairs.append((tracks[ti], int(dets[di])))
        return pairs

    def _hit(self, track: Track, box: np.ndarray, score: float, index: int, labels: list[str], frame: int,
             t: float) -> list[TrackEvent]:
        steps = max(frame - track.last_frame, 1)
        track.velocity = 0.5 * track.velocity + 0.5 * (box - track.box) / steps
        track.box, track.score, track.hits, track.missed = box, score, track.hits + 1, 0
        track.last_time, track.last_frame = t, frame
        changes = []
        if index == track.index:
            track.pending, track.pending_hits = -1, 0
        else:  # a label changes only when the other class wins min_frames frames in a row
            track.pending_hits = track.pending_hits + 1 if index == track.pending else 1
            track.pending = index
            if track.pending_hits >= self.min_frames:
                track.label, track.index, track.pending, track.pending_hits = labels[index], index, -1, 0
                changes.append("label")
        zones = self.zones_of(box)
        changes += [f"entered {z}" for z in zones if z not in track.zones]
        changes += [f"left {z}" for z in track.zones if z not in zones]
        track.zones = zones
        track.top_score = max(track.top_score, score)
        if not track.confirmed:
            return self._maybe_confirm(track, frame)
        if track.top_score >= track.reported_top + BETTER:
            track.reported_top = track.top_score
            changes.append("top_score")
        return [track.event("update", frame, tuple(changes))] if changes else []

    def _maybe_confirm(self, track: Track, frame: int) -> list[TrackEvent]:
        if track.confirmed or track.hits < self.min_frames:
            return []
        track.confirmed, track.reported_top = True, track.top_score
        return [track.event("new", frame)]

    def _expire(self, frame: int) -> list[TrackEvent]:
        events, alive = [], []
        for track in self.tracks:
            if track.missed > self.max_missed:
                if track.confirmed:
                    events.append(track.event("end", frame, end=track.last_time))
            else:
                alive.append(track)
        self.tracks = alive
        return events

    def finish(self, frame: int) -> list[TrackEvent]:
        """End every confirmed track (the source ended or the run was stopped)."""
        events = [t.event("end", frame, end=t.last_time) for t in self.tracks if t.confirmed]
        self.tracks = []
        return events


class LabelTracker:
    """A classifier's smoothed label as one track per visit: `new` when a label has held for
    `min_frames` frames, `update` when it changes, `end` after `max_missed` frames without one."""

    def __init__(self, min_frames: int = 3, max_missed: int = 10) -> None:
        self.min_frames, self.max_missed = min_frames, max_missed
        self.track: Track | None = None
        self._ids = itertools.count(1)
        self._candidate: str | None = None
        self._held = 0
        self._since = (0, 0.0)

    @property
    def confirmed(self) -> list[Track]:
        return [self.track] if self.track is not None else []

    def update(self, label: str | None, score: float, box: np.ndarray, frame: int, t: float) -> list[TrackEvent]:
        self._held = self._held + 1 if label is not None and label == self._candidate else int(label is not None)
        if self._held == 1:
            self._since = (frame, t)  # the visit starts with the first frame of the label that holds
        self._candidate = label
        track = self.track
        if track is None:
            if label is not None and self._held >= self.min_frames:
                first, start = self._since
                self.track = Track(next(self._ids), label, 0, box, score, start, first, confirmed=True,
                                   top_score=score, reported_top=score, last_time=t, last_frame=frame)
                return [self.track.event("new", frame)]
            return []
        if label is None:
            track.missed += 1
            if track.missed > self.max_missed:
                self.track = None
                return [track.event("end", frame, end=track.last_time)]
            return []
        track.missed, track.box, track.score, track.last_time, track.last_frame = 0, box, score, t, frame
        track.top_score = max(track.top_score, score)
        if label != track.label and self._held >= self.min_frames:
            track.label = label
            return [track.event("update", frame, ("label",))]
        return []

    def finish(self, frame: int) -> list[TrackEvent]:
        track, self.track = self.track, None
        return [track.event("end", frame, end=track.last_time)] if track is not None else []
