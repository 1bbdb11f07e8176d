"""`edgecnn parity`: float Keras vs every .tflite of a run on the held-out test split.

The .tflite side runs through edgecnn.runtime, the code the device runs.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgecnn.card import Card
from edgecnn.errors import BudgetExceeded, EdgeCNNError, NoBetterThanChance
from edgecnn.runtime import Classifier, ModelError, read_card
from edgecnn.stats import ChanceCheck, chance_check
from edgecnn.workstation.detection.parity import DetectionParityReport, detection_parity
from edgecnn.workstation.models import load_keras, predict
from edgecnn.workstation.run import RunDir
from edgecnn.workstation.tasks import load_split, measure_for, tflite_scores

# The verdict is about the first of these present (then any other quantized model).
PRIMARY_ORDER = ("model_int8.tflite", "model_mixed.tflite", "model_int16x8.tflite")


@dataclass(frozen=True)
class ModelParity:
    """One .tflite against the float Keras model on the same images."""

    accuracy: float
    drop_pp: float
    agreement: float
    mean_cosine: float
    min_cosine: float
    max_abs_diff: float
    disagreements: int
    per_class_accuracy: dict[str, float | None]
    per_class_delta_pp: dict[str, float | None]


@dataclass(frozen=True)
class ParityReport:
    """Float vs quantized on the test split; `primary` is the model the verdict is about."""

    n: int
    labels: tuple[str, ...]
    float_accuracy: float
    float_per_class: dict[str, float | None]
    models: dict[str, ModelParity]
    primary: str
    max_drop_pp: float
    confusion: dict[str, list[list[int]]]
    chance: ChanceCheck  # the float model against the best constant answer
    min_accuracy: float | None = None  # the primary model's least top-1 accuracy (a fraction), when asked

    @property
    def failures(self) -> list[str]:
        """Why the gate fails: a useless float model, a quantized model below the minimum, the drop."""
        out = []
        if self.chance.above_chance is False:
            out.append(f"the float model is useless: {self.chance.verdict()}")
        if self.min_accuracy is not None and self.quantized.accuracy < self.min_accuracy:
            out.append(f"{self.primary} top-1 {self.quantized.accuracy * 100:.2f} % is below --min-accuracy "
                       f"{self.min_accuracy * 100:.2f} %")
        if self.drop_pp > self.max_drop_pp:
            out.append(f"{self.primary} accuracy drop {self.drop_pp:.2f} pp exceeds --max-drop "
                       f"{self.max_drop_pp:.2f} pp (float {self.float_accuracy * 100:.2f} %, quantized "
                       f"{self.quantized.accuracy * 100:.2f} %)")
        return out

    @property
    def quantized(self) -> ModelParity:
        return self.models[self.primary]

    @property
    def drop_pp(self) -> float:
        return round(self.quantized.drop_pp, 4)

    @property
    def passed(self) -> bool:
        return not self.failures

    def verdict(self) -> str:
        chance = {True: "above chance", False: "NO BETTER THAN CHANCE",
                  None: "too few test images to tell from chance"}[self.chance.above_chance]
        return (f"{'passed' if self.passed else 'FAILED'}: float top-1 {self.float_accuracy * 100:.2f} % "
                f"({chance}: {self.chance.chance * 100:.2f} %), drop {self.drop_pp:.2f} pp "
                f"(budget {self.max_drop_pp:.2f} pp), agreement {self.quantized.agreement * 100:.2f} % "
                f"on {self.n} test images")

    def check(self, run_dir: Path) -> None:
        check_budget(self, run_dir)

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": "classifier",
            "n": self.n,
            "labels": list(self.labels),
            "float": {"model": "model.keras", "accuracy": self.float_accuracy,
                      "per_class_accuracy": self.float_per_class, "chance": self.chance.chance,
                      "p_chance": self.chance.p_value, "above_chance": self.chance.above_chance},
            "quantized": {"model": self.primary, **dataclasses.asdict(self.quantized)},
            "drop_pp": self.drop_pp,
            "max_drop_pp": self.max_drop_pp,
            "min_accuracy_pct": None if self.min_accuracy is None else self.min_accuracy * 100,
            "passed": self.passed,
            "failures": self.failures,
            "support": {lab: int(sum(self.confusion["float"][i])) for i, lab in enumerate(self.labels)},
            "models": {name: dataclasses.asdict(m) for name, m in self.models.items()},
            "confusion": self.confusion,
        }


def run_parity(run_dir: str | Path, max_drop: float = 1.0, data_override: str | None = None,
               threads: int | None = None, min_accuracy: float | None = None) -> ParityReport | DetectionParityReport:
    """Evaluate the float model and every .tflite of the run on its test split, and compare."""
    run = RunDir(Path(run_dir))
    card = run.require_trained()
    if card.task == "embedding":
        raise EdgeCNNError(f"{run.path} holds a face embedder, not a classifier: measure it with "
                           f"`edgecnn face evaluate --model {run.path} --data PEOPLE_DIR`")
    measure_for(card, "parity")
    tflites = run.tflite_models()
    if not any(p.name != "model_float32.tflite" for p in tflites):
        raise EdgeCNNError(f"{run.path} has no quantized model; run `edgecnn quantize {run.path}` first")
    for path in tflites:
        _same_run(card, path)(Classifier(path) if card.task != "detector" else _CardOnly(path))
    test = load_split(run, card, "test", data_override)
    if card.task == "detector":
        return detection_parity(run.model, tflites, card, test, max_drop, threads)
    reference = predict(load_keras(run.model), test.images, card.preprocessing)
    outputs = {p.name: tflite_scores(p, test.images, threads, label=f"evaluating {p.name}") for p in tflites}
    return compare(reference, outputs, test.targets, card.labels, max_drop, min_accuracy)


class _CardOnly:
    """The card of a model file, read without an interpreter (enough for the same-run check)."""

    def __init__(self, path: Path) -> None:
        self.card = read_card(path)


def _same_run(card: Card, path: Path) -> Any:
    def check(clf: Classifier) -> None:
        if clf.card is None or clf.card.sections.get("run_id") != card.sections.get("run_id"):
            raise ModelError(f"{path.name} was not made from this run's model.keras; "
                             f"re-run `edgecnn quantize {path.parent}`")
    return check


def compare(reference: np.ndarray, outputs: dict[str, np.ndarray], targets: np.ndarray,
            labels: tuple[str, ...], max_drop: float, min_accuracy: float | None = None) -> ParityReport:
    """The parity report: accuracy, drop, agreement, cosine, max |diff|, per-class change."""
    ref_pred = reference.argmax(axis=1)
    models = {name: _metrics(reference, probs, targets, labels) for name, probs in outputs.items()}
    primary = _primary(list(outputs))
    confusion = {"float": _confusion(ref_pred, targets, len(labels)),
                 primary: _confusion(outputs[primary].argmax(axis=1), targets, len(labels))}
    return ParityReport(int(len(targets)), tuple(labels), _accuracy(ref_pred, targets),
                        _per_class(ref_pred, targets, labels), models, primary, float(max_drop), confusion,
                        chance_check(ref_pred, targets), min_accuracy)


def _primary(names: list[str]) -> str:
    for name in PRIMARY_ORDER:
        if name in names:
            return name
    quantized = [n for n in names if n != "model_float32.tflite"]
    return sorted(quantized, key=lambda n: ("int8" not in n, n))[0]


def _metrics(ref: np.ndarray, probs: np.ndarray, targets: np.ndarray, labels: tuple[str, ...]) -> ModelParity:
    pred, ref_pred = probs.argmax(axis=1), ref.argmax(axis=1)
    a, b = ref.astype(np.float64), probs.astype(np.float64)
    cos = (a * b).sum(1) / np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), 1e-12)
    ref_pc, pc = _per_class(ref_pred, targets, labels), _per_class(pred, targets, labels)
    delta = {k: None if pc[k] is None else (pc[k] - ref_pc[k]) * 100.0 for k in labels}  # type: ignore[operator]
    return ModelParity(_accuracy(pred, targets), (_accuracy(ref_pred, targets) - _accuracy(pred, targets)) * 100.0,
                       float((pred == ref_pred).mean()), float(cos.mean()), float(cos.min()),
                       float(np.abs(a - b).max()), int((pred != ref_pred).sum()), pc, delta)


def _accuracy(pred: np.ndarray, targets: np.ndarray) -> float:
    return float((pred == targets).mean())


def _per_class(pred: np.ndarray, targets: np.ndarray, labels: tuple[str, ...]) -> dict[str, float | None]:
    return {lab: float((pred[targets == i] == i).mean()) if (targets == i).any() else None
            for i, lab in enumerate(labels)}


def _confusion(pred: np.ndarray, targets: np.ndarray, k: int) -> list[list[int]]:
    m = np.zeros((k, k), dtype=np.int64)
    np.add.at(m, (targets, pred), 1)
    return m.tolist()


def check_budget(report: ParityReport, run_dir: Path) -> None:
    """Raise (exit 1) when the float model is no better than chance, the quantized model is below
    --min-accuracy or lost more than the budget: every reason on the one error line."""
    failures = report.failures
    if not failures:
        return
    error = NoBetterThanChance if report.chance.above_chance is False else BudgetExceeded
    raise error(f"{'; '.join(failures)}; see {run_dir / 'parity.md'}")
