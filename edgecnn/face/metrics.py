"""Verification metrics the way phones are measured: FAR, FRR, EER, threshold at a target FAR."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np


def l2_normalize(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero)."""
    x = np.asarray(x, dtype=np.float64)
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.maximum(norms, 1e-12)


def probe_scores(embeddings: np.ndarray, identities: np.ndarray,
                 enroll: int) -> tuple[list[Any], np.ndarray, np.ndarray]:
    """Enrol the first `enroll` images of each identity as a mean template; every other image
    probes every template. Returns (identities in order, cosine scores (probes, identities), the
    identity index of each probe)."""
    e = l2_normalize(embeddings)
    ids = list(dict.fromkeys(identities.tolist()))
    templates, probes, owner = [], [], []
    for k, ident in enumerate(ids):
        idx = np.flatnonzero(identities == ident)
        if len(idx) <= enroll:
            raise ValueError(f"identity {ident!r} has {len(idx)} images; need more than {enroll} to enrol and probe")
        templates.append(l2_normalize(e[idx[:enroll]].mean(axis=0)))
        probes += idx[enroll:].tolist()
        owner += [k] * (len(idx) - enroll)
    return ids, e[probes] @ np.stack(templates).T, np.array(owner)


def pair_scores(embeddings: np.ndarray, identities: np.ndarray, enroll: int) -> tuple[np.ndarray, np.ndarray]:
    """(genuine scores, impostor scores) of `probe_scores`."""
    _, scores, owner = probe_scores(embeddings, identities, enroll)
    genuine = np.zeros(scores.shape, dtype=bool)
    genuine[np.arange(len(owner)), owner] = True
    return scores[genuine], scores[~genuine]


def nearest_strangers(embeddings: np.ndarray, identities: np.ndarray, enroll: int, threshold: float,
                      keep: int = 3) -> dict[str, list[dict[str, Any]]]:
    """For each enrolled identity, the `keep` other people whose images come closest to its template:
    their best score and how many of their images reach `threshold`. Impostor scores are not spread
    evenly: a global FAR of 1 % can mean one look-alike accepted most of the time and nobody else."""
    ids, scores, owner = probe_scores(embeddings, identities, enroll)
    out: dict[str, list[dict[str, Any]]] = {}
    for k, ident in enumerate(ids):
        rows = []
        for j, other in enumerate(ids):
            if j != k:
                mine = scores[owner == j, k]
                rows.append({"stranger": str(other), "max_score": float(mine.max()),
                             "accepted": int((mine >= threshold).sum()), "images": int(mine.size)})
        out[str(ident)] = sorted(rows, key=lambda r: -r["max_score"])[:keep]
    return out


def error_rates(genuine: np.ndarray, impostor: np.ndarray, threshold: float) -> tuple[float, float]:
    """(FAR, FRR) when scores >= threshold are accepted."""
    return float((impostor >= threshold).mean()), float((genuine < threshold).mean())


def rates_at(genuine: np.ndarray, impostor: np.ndarray, thresholds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """FAR and FRR at every threshold (accept score >= threshold), by binary search: O(n log n)."""
    g, i = np.sort(np.asarray(genuine, np.float64)), np.sort(np.asarray(impostor, np.float64))
    far = (i.size - np.searchsorted(i, thresholds, side="left")) / max(i.size, 1)
    frr = np.searchsorted(g, thresholds, side="left") / max(g.size, 1)
    return far, frr


@dataclass(frozen=True)
class VerificationMetrics:
    """EER and its threshold, FAR / FRR there, and the threshold that reaches a target FAR."""

    eer: float
    threshold: float
    far: float
    frr: float
    n_genuine: int
    n_impostor: int
    target_far: float
    threshold_at_target_far: float
    frr_at_target_far: float
    impostor_pairs_supporting_target: int
    curve_far: tuple[float, ...]
    curve_frr: tuple[float, ...]

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["curve"] = {"far": list(out.pop("curve_far")), "frr": list(out.pop("curve_frr"))}
        return out


def summarize(genuine: np.ndarray, impostor: np.ndarray, target_far: float = 0.01) -> VerificationMetrics:
    """EER and its threshold, FAR/FRR there, and the threshold reaching `target_far`."""
    thresholds = np.unique(np.concatenate([genuine, impostor, [np.inf]]))
    far, frr = rates_at(genuine, impostor, thresholds)
    i = int(np.argmin(np.abs(far - frr)))
    ok = np.flatnonzero(far <= target_far)
    j = int(ok[0]) if ok.size else len(thresholds) - 1
    return VerificationMetrics(
        float((far[i] + frr[i]) / 2), float(thresholds[i]), float(far[i]), float(frr[i]),
        int(genuine.size), int(impostor.size), target_far, float(thresholds[j]), float(frr[j]),
        int(round(target_far * impostor.size)), tuple(far.tolist()), tuple(frr.tolist()))
