"""FAR / FRR / EER arithmetic on hand-made scores and embeddings."""

from __future__ import annotations

import numpy as np
import pytest

from edgecnn.face.metrics import error_rates, pair_scores, summarize


def test_perfectly_separated_scores_have_zero_eer() -> None:
    s = summarize(np.array([0.9, 0.8, 0.95]), np.array([0.1, 0.2, 0.3, 0.4]))
    assert s.eer == 0.0 and 0.4 < s.threshold <= 0.8
    assert s.n_genuine == 3 and s.n_impostor == 4


def test_overlapping_scores() -> None:
    genuine, impostor = np.array([0.2, 0.6, 0.7, 0.9]), np.array([0.1, 0.3, 0.65, 0.05])
    assert error_rates(genuine, impostor, 0.5) == (0.25, 0.25)
    s = summarize(genuine, impostor, target_far=0.0)
    assert s.eer == pytest.approx(0.25)
    assert s.threshold_at_target_far > 0.65 and s.frr_at_target_far == 0.5


def test_pair_scores_counts_every_probe_against_every_template() -> None:
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 8))
    ids = np.repeat(np.array(["a", "b", "c"]), 5)
    emb = centres[np.repeat(np.arange(3), 5)] + 0.01 * rng.normal(size=(15, 8))
    genuine, impostor = pair_scores(emb, ids, enroll=2)
    assert genuine.size == 9 and impostor.size == 18  # 3 probes x 3 people, 1 genuine + 2 impostor each
    assert genuine.min() > impostor.max()
    with pytest.raises(ValueError):
        pair_scores(emb, ids, enroll=5)


def test_vectorised_rates_match_a_threshold_by_threshold_count() -> None:
    """The O(n log n) FAR / FRR equal the plain definition at every threshold, ties included."""
    from edgecnn.face.metrics import rates_at

    rng = np.random.default_rng(1)
    genuine = np.round(rng.normal(0.7, 0.1, 300), 2)  # rounded: many ties
    impostor = np.round(rng.normal(0.3, 0.15, 2000), 2)
    thresholds = np.unique(np.concatenate([genuine, impostor, [np.inf]]))
    far, frr = rates_at(genuine, impostor, thresholds)
    for t, a, r in zip(thresholds, far, frr, strict=True):
        assert (a, r) == pytest.approx(error_rates(genuine, impostor, t))
