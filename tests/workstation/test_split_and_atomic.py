"""The stratified split and atomic writes (no TensorFlow needed)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from edgecnn import atomic
from edgecnn.workstation.datasets import split_indices


def test_split_is_deterministic_stratified_and_complete() -> None:
    targets = np.repeat(np.arange(5), [10, 20, 30, 7, 3])
    a = split_indices(targets, 0.15, 0.2, seed=3)
    b = split_indices(targets, 0.15, 0.2, seed=3)
    c = split_indices(targets, 0.15, 0.2, seed=4)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    assert any(not np.array_equal(a[k], c[k]) for k in a)
    merged = np.sort(np.concatenate(list(a.values())))
    np.testing.assert_array_equal(merged, np.arange(len(targets)))
    for cls, n in enumerate([10, 20, 30, 7, 3]):
        test = (targets[a["test"]] == cls).sum()
        train = (targets[a["train"]] == cls).sum()
        assert test >= 1 and train >= 1
        assert abs(test - round(n * 0.2)) <= 1


def test_seven_three_split_of_ten_per_class() -> None:
    targets = np.repeat(np.arange(30), 10)
    parts = split_indices(targets, 0.0, 0.3, seed=0)
    assert len(parts["val"]) == 0
    assert np.bincount(targets[parts["train"]]).tolist() == [7] * 30
    assert np.bincount(targets[parts["test"]]).tolist() == [3] * 30


def test_atomic_write_replaces_and_keeps_mode(tmp_path: Path) -> None:
    target = tmp_path / "card.json"
    atomic.write_json(target, {"a": 1})
    atomic.write_json(target, {"a": 2})
    assert target.read_text().strip().endswith("}")
    assert '"a": 2' in target.read_text()
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask
    assert [p.name for p in tmp_path.iterdir()] == ["card.json"]
