"""Verification metrics the way phones are measured: FAR, FRR, EER, threshold at a target FAR."""

from __future__ import annotations

from typing import Any

import numpy as np


def l2_normalize(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero)."""
    x = np.asarray(x, dtype=np.float64)
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.maximum(norms, 1e-12)


def pair_scores(embeddings: np.ndarray, identities: np.ndarray, enroll: int) -> tuple[np.ndarray, np.ndarray]:
    """Enrol the first `enroll` images of each identity as a mean template; every other image
    probes every template. Returns (genuine scores, impostor scores) as cosine similarities."""
    e = l2_normalize(embeddings)
    ids = list(dict.fromkeys(identities.tolist()))
    templates, probes = {}, []
    for ident in ids:
        idx = np.flatnonzero(identities == ident)
        if len(idx) <= enroll:
            raise ValueError(f"identity {ident!r} has {len(idx)} images; need more than {enroll} to enrol and probe")
        templates[ident] = l2_normalize(e[idx[:enroll]].mean(axis=0))
        probes += [(i, ident) for i in idx[enroll:]]
    genuine, impostor = [], []
    for i, ident in probes:
        for other, template in templates.items():
            (genuine if other == ident else impostor).append(float(e[i] @ template))
    return np.asarray(genuine), np.asarray(impostor)


def error_rates(genuine: np.ndarray, impostor: np.ndarray, threshold: float) -> tuple[float, float]:
    """(FAR, FRR) when scores >= threshold are accepted."""
    return float((impostor >= threshold).mean()), float((genuine < threshold).mean())


def summarize(genuine: np.ndarray, impostor: np.ndarray, target_far: float = 0.01) -> dict[str, Any]:
    """EER and its threshold, FAR/FRR there, and the threshold reaching `target_far`."""
    thresholds = np.unique(np.concatenate([genuine, impostor, [np.inf]]))
    far = np.array([(impostor >= t).mean() for t in thresholds])
    frr = np.array([(genuine < t).mean() for t in thresholds])
    i = int(np.argmin(np.abs(far - frr)))
    ok = np.flatnonzero(far <= target_far)
    j = int(ok[0]) if ok.size else len(thresholds) - 1
    return {
        "eer": float((far[i] + frr[i]) / 2), "threshold": float(thresholds[i]),
        "far": float(far[i]), "frr": float(frr[i]),
        "n_genuine": int(genuine.size), "n_impostor": int(impostor.size),
        "target_far": target_far, "threshold_at_target_far": float(thresholds[j]),
        "frr_at_target_far": float(frr[j]),
        "impostor_pairs_supporting_target": int(round(target_far * impostor.size)),
        "curve": {"far": far.tolist(), "frr": frr.tolist()},
    }
