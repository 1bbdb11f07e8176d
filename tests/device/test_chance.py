"""Is a classifier better than chance? The check `train` and `parity` share (edgecnn.stats, no TensorFlow)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from edgecnn.stats import SIGNIFICANCE, binomial_tail, chance_check


@pytest.mark.parametrize("k, n, p", [(0, 20, 0.1), (6, 20, 0.1), (7, 20, 0.1), (20, 20, 0.1), (180, 359, 0.5),
                                     (3, 4, 0.5), (50, 359, 0.1)])
def test_binomial_tail_is_the_exact_sum(k: int, n: int, p: float) -> None:
    exact = sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k, n + 1))
    assert binomial_tail(k, n, p) == pytest.approx(exact, rel=1e-9, abs=1e-300)


def test_a_constant_answer_is_no_better_than_chance() -> None:
    targets = np.repeat(np.arange(10), 2)  # 20 test images, 2 a class: ORL s1-s10 with test_fraction 0.2
    check = chance_check(np.zeros(20, int), targets)
    assert check.chance == pytest.approx(0.1) and check.accuracy == pytest.approx(0.1)
    assert check.above_chance is False and check.failed
    assert "no better than chance" in check.verdict()


def test_the_bar_is_what_guessing_rarely_reaches() -> None:
    targets = np.repeat(np.arange(10), 2)
    right = [chance_check(np.where(np.arange(20) < k, targets, (targets + 1) % 10), targets) for k in range(21)]
    first = next(k for k, c in enumerate(right) if c.above_chance)
    assert first == 7  # P(7 or more of 20 right at 10 %) = 0.0024 < 1 %; 6 of 20 happens 1.1 % of the time
    assert right[first].p_value < SIGNIFICANCE <= right[first - 1].p_value
    assert right[20].above_chance and not right[20].failed


def test_chance_is_the_most_common_class() -> None:
    targets = np.array([0] * 8 + [1] * 2)  # always answering 0 scores 80 %
    assert chance_check(np.zeros(10, int), targets).chance == pytest.approx(0.8)
    assert chance_check(np.zeros(10, int), targets).above_chance is None  # 10 images cannot beat 80 % at 1 %


def test_too_few_images_is_undecided_not_failed() -> None:
    targets = np.array([0, 0, 1, 1])
    check = chance_check(targets, targets)  # all right, but guessing does that 6 % of the time
    assert check.above_chance is None and not check.failed
    assert "too few" in check.verdict()


def test_minimum_accuracy() -> None:
    targets = np.repeat(np.arange(10), 10)
    pred = targets.copy()
    pred[:20] = (pred[:20] + 1) % 10
    assert chance_check(pred, targets, min_accuracy=0.8).meets_minimum
    check = chance_check(pred, targets, min_accuracy=0.81)
    assert check.above_chance and not check.meets_minimum and check.failed
    assert set(check.to_dict()) >= {"accuracy", "chance", "p_chance", "above_chance", "min_accuracy"}
