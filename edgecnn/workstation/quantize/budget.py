"""`edgecnn quantize --max-drop PP`: meet an accuracy budget, trying fixes in a fixed order.

1. plain full int8 with the calibration asked for;
2. better calibration: every train image, balanced across classes;
3. 16-bit activations with 8-bit weights for the whole model (not for the Edge TPU);
4. selective quantization: keep the 1, 2, then 3 worst layers in float (not for the Edge TPU).
Each attempt is measured with the task's measure (top-1 for classifiers) on the validation split
(without one, on a held-out part of the train split that calibration does not see): drop against
the float Keras model, file size and mean invoke latency. The first that meets the budget is kept;
its precision names the file (run.py): int16x8 and mixed models are not called int8.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgecnn.card import Card
from edgecnn.log import get_logger
from edgecnn.workstation.config import QuantizeConfig
from edgecnn.workstation.quantize.calibrate import calibration_set
from edgecnn.workstation.quantize.convert import convert, convert_selective
from edgecnn.workstation.quantize.layers import debugger_statistics
from edgecnn.workstation.quantize.metadata import with_card
from edgecnn.workstation.tasks import Measure, Split

log = get_logger(__name__)
PRECISION_WORDS = {"int8": "full int8", "int16x8": "16-bit activations, int8 weights: not an int8 model",
                   "mixed": "int8 with float layers: not a full-int8 model"}
EDGETPU_NOTE = ("no fully-integer fix met the budget; float or 16-bit layers would split the model off "
                "the Edge TPU")


@dataclass(frozen=True)
class BudgetAttempt:
    """One way of quantizing, measured."""

    attempt: str
    accuracy: float  # the task's measure (top-1 for classifiers)
    drop_pp: float
    size_bytes: int
    latency_ms: float
    met: bool
    float_layers: int = 0  # layers kept in float (selective quantization)
    float_layer_names: tuple[str, ...] = ()
    precision: str = "int8"  # "int8", "int16x8" (16-bit activations) or "mixed" (int8 with float layers)


@dataclass(frozen=True)
class BudgetReport:
    """Every attempt, which one was kept, and whether it met the budget."""

    max_drop_pp: float
    split: str
    n: int
    measure: str
    float_accuracy: float
    attempts: tuple[BudgetAttempt, ...]
    chosen: str
    note: str | None = None
    held_out_of_train: bool = False  # no validation split: measured on train images calibration did not see

    @property
    def met(self) -> bool:
        return any(a.met for a in self.attempts)

    @property
    def kept(self) -> BudgetAttempt:
        return next(a for a in self.attempts if a.attempt == self.chosen)

    def to_dict(self) -> dict[str, Any]:
        return {"max_drop_pp": self.max_drop_pp, "split": self.split, "n": self.n, "measure": self.measure,
                "float_accuracy": self.float_accuracy,
                "attempts": [dataclasses.asdict(a) for a in self.attempts],
                "chosen": self.chosen, "precision": self.kept.precision, "met": self.met, "note": self.note,
                "held_out_of_train": self.held_out_of_train}


def search(model: Any, saved: Path, card: Card, cfg: QuantizeConfig, max_drop: float, first: bytes,
           train: Split, held_out: Split, measure: Measure) -> tuple[bytes, BudgetReport]:
    """Return the bytes of the first attempt within `max_drop` (or the best one) and the report."""
    float_acc = measure.of_keras(model, card, held_out)
    full = dataclasses.replace(cfg, calib_samples=10**6)
    all_train = calibration_set(train, card, full.calib_samples).images
    steps: list[tuple[str, int, str, Callable[[], bytes]]] = [
        ("plain int8", 0, "int8", lambda: first),
        ("all train images for calibration", 0, "int8", lambda: convert(saved, full, all_train)),
    ]
    worst: list[str] = []
    if cfg.target != "edgetpu":
        steps.append(("int16 activations, int8 weights", 0, "int16x8",
                      lambda: convert(saved, dataclasses.replace(full, mode="int16x8"), all_train)))

        def selective(k: int) -> bytes:
            if not worst:
                rows = debugger_statistics(saved, all_train, full)
                rows.sort(key=lambda r: -np.nan_to_num(r["relative_rmse"]))
                worst.extend(r["tensor"] for r in rows)  # worst relative error first
            return convert_selective(saved, full, all_train, worst[:k])

        steps += [(f"keep the {k} worst layer(s) in float", k, "mixed", lambda k=k: selective(k)) for k in (1, 2, 3)]
    attempts: list[BudgetAttempt] = []
    best: tuple[BudgetAttempt, bytes] | None = None
    for name, float_layers, precision, make in steps:
        data = make()
        attempt = _measure(name, float_layers, data, card, held_out, float_acc, measure, max_drop)
        attempt = dataclasses.replace(attempt, precision=precision, float_layer_names=tuple(worst[:float_layers]))
        attempts.append(attempt)
        log.info(f"budget: {name}: drop {attempt.drop_pp:.2f} pp, {attempt.size_bytes / 1024:.1f} kB, "
                 f"{attempt.latency_ms:.3f} ms")
        if best is None or attempt.drop_pp < best[0].drop_pp:
            best = (attempt, data)
        if attempt.met:
            best = (attempt, data)
            break
    assert best is not None  # at least the plain attempt ran
    report = BudgetReport(max_drop, held_out.name, int(len(held_out.targets)), measure.name, float_acc,
                          tuple(attempts), best[0].attempt,
                          None if best[0].met or cfg.target != "edgetpu" else EDGETPU_NOTE,
                          held_out.name == HELD_OUT)
    return best[1], report


HELD_OUT = "held-out part of train"


def hold_out(train: Split, fraction: float, seed: int) -> tuple[Split, Split]:
    """With no validation split: set `fraction` of each class of the train split aside (at least one
    image of every class that has two), to measure attempts on images calibration did not see.
    Detectors' pictures hold several classes: a random `fraction` of the pictures."""
    rng = np.random.default_rng(seed)
    if train.boxes:
        order = rng.permutation(len(train.images))
        held = np.sort(order[:max(1, int(round(len(order) * fraction)))])
    else:
        picks = []
        for cls in np.unique(train.targets):
            idx = rng.permutation(np.flatnonzero(train.targets == cls))
            picks += idx[:min(max(1, int(round(idx.size * fraction))), idx.size - 1)].tolist()
        held = np.array(sorted(picks), dtype=np.int64)
    rest = np.setdiff1d(np.arange(len(train.images)), held)
    return _subset(train, rest, train.name), _subset(train, held, HELD_OUT)


def _subset(split: Split, idx: np.ndarray, name: str) -> Split:
    return Split(name, split.images[idx], split.targets[idx],
                 tuple(split.boxes[i] for i in idx) if split.boxes else (),
                 tuple(split.classes[i] for i in idx) if split.classes else ())


def _measure(name: str, float_layers: int, data: bytes, card: Card, split: Split, float_acc: float,
             measure: Measure, max_drop: float) -> BudgetAttempt:
    with tempfile.TemporaryDirectory(prefix="edgecnn-attempt-") as tmp:
        path = Path(tmp) / "attempt.tflite"
        path.write_bytes(with_card(data, card))
        start = time.perf_counter()
        acc = measure.of_tflite(path, card, split)
        latency = (time.perf_counter() - start) / max(len(split.images), 1) * 1e3
    drop = (float_acc - acc) * 100.0
    return BudgetAttempt(name, acc, drop, len(data), latency, drop <= max_drop, float_layers)


def format_attempts(report: BudgetReport) -> list[str]:
    """The attempt table for people."""
    where = (f"a held-out part of the train split ({report.n} images calibration did not see; there is no "
             f"validation split, and the model trained on them)" if report.held_out_of_train
             else f"the {report.split} split ({report.n} images)")
    lines = [f"accuracy budget {report.max_drop_pp:.2f} pp on {where}, float {report.measure} "
             f"{report.float_accuracy * 100:.2f} %:",
             f"  {'attempt':38} {report.measure:>8} {'drop pp':>8} {'size kB':>8} {'ms':>7}  met"]
    for a in report.attempts:
        lines.append(f"  {a.attempt:38} {a.accuracy * 100:7.2f}% {a.drop_pp:8.2f} "
                     f"{a.size_bytes / 1024:8.1f} {a.latency_ms:7.3f}  {'yes' if a.met else 'no'}")
    lines.append(f"chosen: {report.chosen} ({PRECISION_WORDS[report.kept.precision]})"
                 + ("" if report.met else " (budget NOT met; best attempt kept)"))
    if report.note:
        lines.append(report.note)
    return lines
