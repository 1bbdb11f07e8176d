"""The unlock state machine on hand-made match sequences."""

from __future__ import annotations

from edgecnn.face.gallery import Match
from edgecnn.face.unlock import UnlockPolicy, UnlockState

ANN_OK, ANN_LOW, BOB_OK = Match("ann", 0.9, True), Match("ann", 0.3, False), Match("bob", 0.9, True)


def _run(state: UnlockState, matches: list, fps: float = 10.0, start: int = 0) -> list[dict]:
    events = []
    for i, m in enumerate(matches, start):
        events += [e.to_dict() for e in state.step(i / fps, i, m)]
    return events


def test_unlocks_after_k_consecutive_frames_of_one_person() -> None:
    state = UnlockState(UnlockPolicy(consecutive=3))
    assert _run(state, [ANN_OK, ANN_OK, BOB_OK, ANN_OK, None, ANN_OK, ANN_OK]) == []  # streaks broken
    events = _run(state, [ANN_OK], start=7)
    assert [e["event"] for e in events] == ["unlock"] and events[0]["name"] == "ann"


def test_relocks_when_the_user_leaves() -> None:
    state = UnlockState(UnlockPolicy(consecutive=2, relock_after=1.0))
    events = _run(state, [ANN_OK, ANN_OK] + [None] * 15)
    assert [e["event"] for e in events] == ["unlock", "locked"]
    assert events[1]["t"] - events[0]["t"] >= 1.0


def test_five_failed_attempts_lock_out_for_the_lockout_time() -> None:
    state = UnlockState(UnlockPolicy(consecutive=2, max_failures=5, lockout=30.0))
    events = _run(state, [ANN_LOW] * 10 + [ANN_OK] * 50)  # the owner arrives right after the stranger
    kinds = [e["event"] for e in events]
    assert kinds == ["rejected"] * 5 + ["lockout"], kinds
    assert [e["attempt"] for e in events[:5]] == [1, 2, 3, 4, 5]
    assert events[-1]["seconds"] == 30.0 and state.state == "lockout"  # the owner is ignored meanwhile
    later = _run(state, [ANN_OK] * 3, start=310)  # 31 s later
    assert [e["event"] for e in later] == ["lockout_over", "unlock"]


def test_a_success_resets_the_failure_count() -> None:
    state = UnlockState(UnlockPolicy(consecutive=1, max_failures=2, relock_after=0.0))
    events = _run(state, [ANN_LOW, ANN_OK, None, ANN_LOW, None])
    assert [e["event"] for e in events] == ["rejected", "unlock", "locked", "rejected"]
