"""Which images calibrate the integer ranges: train images, balanced across classes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgecnn.card import Card
from edgecnn.runtime.classify import normalize
from edgecnn.workstation.tasks import Split


@dataclass(frozen=True)
class Calibration:
    """Normalised float32 images for the converter, how many per class, and warnings."""

    images: np.ndarray
    per_class: dict[str, int]
    warnings: tuple[str, ...]


def calibration_set(train: Split, card: Card, samples: int, min_per_class: int = 10) -> Calibration:
    """Up to `samples` images of the train split, balanced across classes, with diagnostics."""
    seed = int(card.sections.get("dataset", {}).get("seed", 0))
    if card.task == "detector":  # pictures hold several classes: a random choice, objects counted
        chosen = np.sort(np.random.default_rng(seed).permutation(len(train.images))[:samples])
        found = np.concatenate([train.classes[i] for i in chosen]) if len(chosen) else np.zeros(0, np.int64)
        counts = {lab: int((found == i).sum()) for i, lab in enumerate(card.labels)}
        return Calibration(normalize(train.images[chosen], card.preprocessing), counts, ())
    chosen = balanced_choice(train.targets, len(card.labels), samples, seed)
    counts = {lab: int((train.targets[chosen] == i).sum()) for i, lab in enumerate(card.labels)}
    return Calibration(normalize(train.images[chosen], card.preprocessing), counts,
                       few_images_warning(counts, min_per_class))


def few_images_warning(counts: dict[str, int], min_per_class: int) -> tuple[str, ...]:
    """One warning for all the classes with fewer than `min_per_class` calibration images (not one each)."""
    few = {lab: n for lab, n in counts.items() if n < min_per_class}
    if not few:
        return ()
    names = ", ".join(f"'{lab}'" for lab in list(few)[:5]) + (f" and {len(few) - 5} more" if len(few) > 5 else "")
    low, high = min(few.values()), max(few.values())
    many = f"{low}" if low == high else f"{low}-{high}"
    which = f"class {names} has" if len(few) == 1 else f"{len(few)} classes ({names}) have"
    return (f"{which} only {many} calibration image(s) (fewer than {min_per_class}); their activation ranges "
            f"may be under-represented",)


def balanced_choice(targets: np.ndarray, num_classes: int, total: int, seed: int) -> np.ndarray:
    """Indices of up to `total` samples, as even across classes as the data allows."""
    rng = np.random.default_rng(seed)
    pools = [list(rng.permutation(np.flatnonzero(targets == c))) for c in range(num_classes)]
    chosen: list[int] = []
    while len(chosen) < total and any(pools):
        for pool in pools:
            if pool and len(chosen) < total:
                chosen.append(int(pool.pop()))
    return np.array(sorted(chosen), dtype=np.int64)
