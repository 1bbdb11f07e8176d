"""The unlock policy, as a pure state machine over per-frame matches (no camera, no model).

locked --K consecutive accepted frames of one person--> unlocked --nobody matching for
`relock_after` s--> locked. A face that is seen but not accepted for K frames in a row is one
failed attempt; `max_failures` failed attempts start a lockout of `lockout` seconds during which
frames are ignored. It returns one `UnlockEvent` per state change.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from edgecnn.face.gallery import Match


@dataclass(frozen=True)
class UnlockEvent:
    """unlock | rejected | lockout | lockout_over | locked, at run time `t` (s) and `frame`."""

    event: str
    t: float
    frame: int
    name: str | None = None      # unlock, locked: who
    score: float | None = None   # unlock, rejected: cosine score
    reason: str | None = None    # locked: why
    closest: str | None = None   # rejected: the nearest enrolled person
    attempt: int | None = None   # rejected: failed attempt number ...
    of: int | None = None        # ... of max_failures
    seconds: float | None = None  # lockout: how long
    until_t: float | None = None  # lockout: until this run time

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass(frozen=True)
class UnlockPolicy:
    consecutive: int = 3        # K: accepted frames in a row (same person) to unlock
    max_failures: int = 5       # failed attempts before a lockout
    lockout: float = 30.0       # seconds
    relock_after: float = 2.0   # seconds without the unlocked person before locking again

    def __post_init__(self) -> None:
        if self.consecutive < 1 or self.max_failures < 1 or self.lockout < 0 or self.relock_after < 0:
            raise ValueError("need consecutive >= 1, max_failures >= 1, lockout >= 0 and relock_after >= 0")


class UnlockState:
    """Feed `step(t, frame, match)` once per frame; it returns the events that frame caused."""

    def __init__(self, policy: UnlockPolicy) -> None:
        self.policy = policy
        self.state = "locked"
        self.user: str | None = None
        self.streak_name: str | None = None
        self.streak = 0
        self.rejects = 0
        self.failures = 0
        self.lockout_until = 0.0
        self.last_seen = 0.0
        self.unlocks = 0
        self.lockouts = 0

    def watching(self, t: float) -> bool:
        """False while locked out: frames then need no detection or matching at all."""
        return self.state != "lockout" or t >= self.lockout_until

    def step(self, t: float, frame: int, match: Match | None) -> list[UnlockEvent]:
        base: dict[str, Any] = {"t": round(t, 3), "frame": frame}
        if self.state == "lockout":
            if t < self.lockout_until:
                return []
            self.state, self.failures = "locked", 0
            return [UnlockEvent("lockout_over", **base), *self.step(t, frame, match)]
        if self.state == "unlocked":
            if match is not None and match.accepted and match.name == self.user:
                self.last_seen = t
            elif t - self.last_seen >= self.policy.relock_after:
                user, self.state, self.user = self.user, "locked", None
                self._reset_streaks()
                return [UnlockEvent("locked", **base, name=user, reason="user gone")]
            return []
        return self._locked(t, base, match)

    def _locked(self, t: float, base: dict[str, Any], match: Match | None) -> list[UnlockEvent]:
        if match is None:  # no face: an attempt in progress is abandoned, not failed
            self._reset_streaks()
            return []
        score = round(match.score, 4)
        if match.accepted:
            self.rejects = 0
            self.streak = self.streak + 1 if match.name == self.streak_name else 1
            self.streak_name = match.name
            if self.streak < self.policy.consecutive:
                return []
            self.state, self.user, self.last_seen = "unlocked", match.name, t
            self.failures, self.unlocks = 0, self.unlocks + 1
            self._reset_streaks()
            return [UnlockEvent("unlock", **base, name=match.name, score=score)]
        self.streak, self.streak_name = 0, None
        self.rejects += 1
        if self.rejects < self.policy.consecutive:
            return []
        self.rejects = 0
        self.failures += 1
        events = [UnlockEvent("rejected", **base, closest=match.name, score=score, attempt=self.failures,
                              of=self.policy.max_failures)]
        if self.failures >= self.policy.max_failures:
            self.state, self.lockout_until, self.lockouts = "lockout", t + self.policy.lockout, self.lockouts + 1
            events.append(UnlockEvent("lockout", **base, seconds=self.policy.lockout,
                                      until_t=round(self.lockout_until, 3)))
        return events

    def _reset_streaks(self) -> None:
        self.streak, self.streak_name, self.rejects = 0, None, 0
