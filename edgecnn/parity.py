"""`edgecnn parity`: float Keras vs every .tflite of a run on the held-out test split.

The .tflite side runs through edgecnn.runtime, the code the device runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgecnn.card import Card
from edgecnn.errors import BudgetExceeded, EdgeCNNError
from edgecnn.progress import track
from edgecnn.run import RunDir, load_split_images
from edgecnn.runtime import Classifier, ModelError
from edgecnn.runtime.classify import normalize
from edgecnn.tf_env import import_tf

PRIMARY_ORDER = ("model_int8.tflite",)


@dataclass
class Evaluation:
    """Outputs of one model on the test split."""

    name: str
    probs: np.ndarray  # (n, classes) float32

    @property
    def predictions(self) -> np.ndarray:
        return self.probs.argmax(axis=1)


def run_parity(run_dir: str | Path, max_drop: float = 1.0, data_override: str | None = None,
               threads: int | None = None) -> dict[str, Any]:
    """Evaluate, compare, and return the report dict (see `compare`)."""
    run = RunDir(Path(run_dir))
    card = run.require_trained()
    if card.sections.get("task") == "embedding":
        raise EdgeCNNError(f"{run.path} holds a face embedder, not a classifier: measure it with "
                           f"`edgecnn face evaluate --model {run.path} --data PEOPLE_DIR`")
    tflites = run.tflite_models()
    if not any(p.name != "model_float32.tflite" for p in tflites):
        raise EdgeCNNError(f"{run.path} has no quantized model; run `edgecnn quantize {run.path}` first")
    images, targets = load_split_images(run, card, "test", data_override)
    reference = Evaluation("keras", _keras_probs(run, card, images))
    evaluations = [_tflite_eval(p, card, images, threads) for p in tflites]
    return compare(reference, evaluations, targets, list(card.labels), max_drop)


def _keras_probs(run: RunDir, card: Card, images: np.ndarray) -> np.ndarray:
    _, keras = import_tf()
    from edgecnn.quantization import load_keras

    model = load_keras(keras, run.model)
    return np.asarray(model.predict(normalize(images, card.preprocessing), batch_size=256, verbose=0),
                      dtype=np.float32)


def _tflite_eval(path: Path, card: Card, images: np.ndarray, threads: int | None) -> Evaluation:
    clf = Classifier(path, threads=threads)
    run_id = card.sections.get("run_id")
    if clf.card is None or clf.card.sections.get("run_id") != run_id:
        raise ModelError(f"{path.name} was not made from this run's model.keras; "
                         f"re-run `edgecnn quantize {path.parent}`")
    probs = np.stack([clf.scores(img) for img in track(images, len(images), f"evaluating {path.name}")])
    return Evaluation(path.name, probs)


def compare(reference: Evaluation, evaluations: list[Evaluation], targets: np.ndarray,
            labels: list[str], max_drop: float) -> dict[str, Any]:
    """The parity report: accuracy, drop, agreement, cosine, max |diff|, per-class change."""
    ref_acc = _accuracy(reference.predictions, targets)
    models = {ev.name: _metrics(reference, ev, targets, labels) for ev in evaluations}
    primary = _primary([ev.name for ev in evaluations])
    quant = models[primary]
    drop = round(quant["drop_pp"], 4)
    return {
        "n": int(len(targets)),
        "labels": labels,
        "float": {"model": "model.keras", "accuracy": ref_acc,
                  "per_class_accuracy": _per_class(reference.predictions, targets, labels)},
        "quantized": {"model": primary, **quant},
        "drop_pp": drop,
        "max_drop_pp": float(max_drop),
        "passed": bool(drop <= max_drop),
        "models": models,
        "confusion": {"float": _confusion(reference.predictions, targets, len(labels)),
                      primary: _confusion(evaluations[[e.name for e in evaluations].index(primary)]
                                          .predictions, targets, len(labels))},
    }


def _primary(names: list[str]) -> str:
    for name in PRIMARY_ORDER:
        if name in names:
            return name
    quantized = [n for n in names if n != "model_float32.tflite"]
    return sorted(quantized, key=lambda n: ("int8" not in n, n))[0]


def _metrics(ref: Evaluation, ev: Evaluation, targets: np.ndarray, labels: list[str]) -> dict[str, Any]:
    acc = _accuracy(ev.predictions, targets)
    ref_acc = _accuracy(ref.predictions, targets)
    a, b = ref.probs.astype(np.float64), ev.probs.astype(np.float64)
    cos = (a * b).sum(1) / np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), 1e-12)
    ref_pc = _per_class(ref.predictions, targets, labels)
    pc = _per_class(ev.predictions, targets, labels)
    return {
        "accuracy": acc,
        "drop_pp": (ref_acc - acc) * 100.0,
        "agreement": float((ev.predictions == ref.predictions).mean()),
        "mean_cosine": float(cos.mean()),
        "min_cosine": float(cos.min()),
        "max_abs_diff": float(np.abs(a - b).max()),
        "disagreements": int((ev.predictions != ref.predictions).sum()),
        "per_class_accuracy": pc,
        "per_class_delta_pp": {k: None if pc[k] is None else (pc[k] - ref_pc[k]) * 100.0 for k in labels},
    }


def _accuracy(pred: np.ndarray, targets: np.ndarray) -> float:
    return float((pred == targets).mean())


def _per_class(pred: np.ndarray, targets: np.ndarray, labels: list[str]) -> dict[str, float]:
    return {lab: float((pred[targets == i] == i).mean()) if (targets == i).any() else None
            for i, lab in enumerate(labels)}


def _confusion(pred: np.ndarray, targets: np.ndarray, k: int) -> list[list[int]]:
    m = np.zeros((k, k), dtype=np.int64)
    np.add.at(m, (targets, pred), 1)
    return m.tolist()


def check_budget(report: dict[str, Any], run_dir: Path) -> None:
    """Raise BudgetExceeded (exit 1) when the quantized model lost more than the budget."""
    if report["passed"]:
        return
    q = report["quantized"]
    raise BudgetExceeded(
        f"{q['model']} accuracy drop {report['drop_pp']:.2f} pp exceeds --max-drop "
        f"{report['max_drop_pp']:.2f} pp (float {report['float']['accuracy'] * 100:.2f} %, "
        f"quantized {q['accuracy'] * 100:.2f} %); see {run_dir / 'parity.md'}")
