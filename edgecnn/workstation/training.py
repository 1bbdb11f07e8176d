"""`edgecnn train`: data set -> split -> Keras model -> run folder (model.keras, card.json)."""

from __future__ import annotations

import dataclasses
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgecnn import atomic
from edgecnn.card import Card, InputSpec, Preprocessing
from edgecnn.log import completed as log_completed
from edgecnn.log import get_logger
from edgecnn.stats import ChanceCheck, chance_check
from edgecnn.workstation import tf_env
from edgecnn.workstation.callbacks import PreciseBatchNorm, TrainingProgress
from edgecnn.workstation.config import TrainConfig, cnn_size
from edgecnn.workstation.curves import CURVES_PNG, curves_png, kept_epoch, stop_sentence
from edgecnn.workstation.datasets import Dataset, load_dataset, split_indices
from edgecnn.workstation.distribute.fit import fit
from edgecnn.workstation.distribute.strategy import Distribution, make_distribution
from edgecnn.workstation.models import make_model, predict, preprocessing_for
from edgecnn.workstation.pipeline import make_dataset
from edgecnn.workstation.run import RUN_ARTIFACTS, RunDir
from edgecnn.workstation.tf_env import keras, tf

log = get_logger(__name__)
__all__ = ["TrainingProgress", "TrainResult", "seed_everything", "stopped_early", "train", "write_run"]


@dataclass(frozen=True)
class TrainResult:
    """What a training run produced and measured."""

    run: RunDir
    card: Card
    val_accuracy: float | None
    test_accuracy: float
    epochs_run: int
    seconds: float
    chance: ChanceCheck  # test accuracy against the best constant answer
    stopped: str = ""    # "stopped early at epoch 38 of 60; kept epoch 23 (...)"

    def to_dict(self) -> dict[str, Any]:
        return {"run": str(self.run.path), "arch": self.card.sections.get("model", {}).get("arch"),
                "classes": self.card.num_classes, "val_accuracy": self.val_accuracy,
                "test_accuracy": self.test_accuracy, "epochs": self.epochs_run, "stopped": self.stopped,
                "seconds": round(self.seconds, 1), "chance": self.chance.to_dict()}


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy, TensorFlow and Keras, with deterministic ops: the same data, seed and
    machine give the same model."""
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    if tf_env.ONEDNN_ALREADY_ON:
        log.warning("TensorFlow was imported before edgecnn with oneDNN kernels on: this model will differ "
                    "from the one `edgecnn train` makes (set TF_ENABLE_ONEDNN_OPTS=0 before importing it)")


def train(data: str, out: str | Path, cfg: TrainConfig, overwrite: bool = False, distribute: str = "none",
          connect_timeout: float = 120.0) -> TrainResult:
    """Train `cfg.arch` on `data` and write the run folder `out` atomically (the chief only, when
    `distribute` spreads training over several workers)."""
    dist = make_distribution(distribute, connect_timeout)  # before any other TensorFlow op
    run = RunDir(Path(out))
    run.check_writable(overwrite)
    seed_everything(cfg.seed)
    ds = load_dataset(data, cfg.height, cfg.width, cfg.color)
    parts = split_indices(ds.targets, cfg.val_fraction, cfg.test_fraction, cfg.seed)
    log.info(f"{len(ds.labels)} classes, {len(ds.ids)} images: train {len(parts['train'])}, "
             f"val {len(parts['val'])}, test {len(parts['test'])}")
    pre = preprocessing_for(cfg.arch, ds.color)
    shape = ds.images.shape[1:]
    cfg = sized_for(cfg, shape)
    with dist.scope():
        model = make_model(cfg.arch, shape, len(ds.labels), **_arch_kwargs(cfg))
        model.compile(optimizer=keras.optimizers.Adam(cfg.learning_rate),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    start = time.perf_counter()
    history = _fit(model, ds, parts, pre, cfg, dist, run.path)
    seconds = time.perf_counter() - start
    val_acc = _accuracy(model, ds, parts["val"], pre) if len(parts["val"]) else None
    te = parts["test"]
    chance = chance_check(predict(model, ds.images[te], pre).argmax(axis=1), ds.targets[te])
    sections = _sections(ds, parts, cfg, history, val_acc, chance, seconds)
    if dist.distributed:
        sections["training"]["distribute"] = dist.card(cfg.batch_size, cfg.learning_rate)
    card = Card(tuple(ds.labels), InputSpec(*(int(v) for v in shape)), pre,
                name=Path(data).name if data != "digits" else "digits",
                sections=sections)
    if dist.is_chief:
        write_run(run, model, card, ds, parts, cfg, history, overwrite, chance.chance)
    if chance.above_chance is None:  # a useless model is the caller's error (the CLI exits 1), not a warning
        log.warning(chance.verdict())
    return TrainResult(run, card, val_acc, chance.accuracy, len(history["loss"]), seconds, chance,
                       stop_sentence(history, cfg.epochs))


def sized_for(cfg: TrainConfig, shape: tuple[int, ...]) -> TrainConfig:
    """`cfg` with the CNN's filters and convs filled in for the input size where the recipe left them out."""
    filters, convs = cnn_size(int(shape[0]), int(shape[1]))
    if cfg.arch == "cnn" and (cfg.filters is None or cfg.convs is None):
        log.info(f"cnn: filters {list(cfg.filters or filters)}, {cfg.convs or convs} conv(s) a block "
                 f"for {shape[0]}x{shape[1]} input")
    return dataclasses.replace(cfg, filters=cfg.filters or filters, convs=cfg.convs or convs)


def _arch_kwargs(cfg: TrainConfig) -> dict[str, Any]:
    if cfg.arch == "cnn":
        return {"filters": cfg.filters, "dense": cfg.dense, "dropout": cfg.dropout, "convs": cfg.convs}
    return {"alpha": cfg.alpha, "weights": cfg.weights, "dropout": cfg.dropout}


def _fit(model: Any, ds: Dataset, parts: dict[str, np.ndarray], pre: Preprocessing, cfg: TrainConfig,
         dist: Distribution, run_dir: Path) -> dict:
    tr, va = parts["train"], parts["val"]

    def make_train(shard: int, shards: int, batch: int) -> Any:  # one image is one file: shard by image
        mine = tr[shard::shards]
        return make_dataset(ds.images[mine], ds.targets[mine], pre, batch, True, cfg, cfg.seed)

    val_ds = make_dataset(ds.images[va], ds.targets[va], pre, 256, False) if len(va) else None
    monitor = "val_loss" if val_ds is not None else "loss"
    callbacks = [
        keras.callbacks.EarlyStopping(monitor=monitor, patience=cfg.patience, restore_best_weights=True),
        keras.callbacks.ReduceLROnPlateau(monitor=monitor, factor=0.5, patience=max(2, cfg.patience // 3)),
        PreciseBatchNorm(ds.images[tr], pre),
        TrainingProgress(cfg.epochs, dist.steps(len(tr), cfg.batch_size)),
    ]
    settings = {"data": ds.source, "ids": len(ds.ids), "config": dataclasses.asdict(cfg)}
    history = fit(dist, model, make_train, val_ds, cfg.epochs, callbacks, cfg.batch_size, len(tr), run_dir,
                  settings, accuracy=True)
    stopped_early(history, monitor, cfg.epochs)
    return history


def stopped_early(history: dict[str, list[float]], monitor: str, epochs: int) -> None:
    """Say how training ended: all epochs, or early stopping, and which epoch's weights were kept."""
    if history.get(monitor):
        log.info(stop_sentence(history, epochs))


def _accuracy(model: Any, ds: Dataset, idx: np.ndarray, pre: Preprocessing) -> float:
    return float((predict(model, ds.images[idx], pre).argmax(axis=1) == ds.targets[idx]).mean())


def _sections(ds: Dataset, parts: dict, cfg: TrainConfig, history: dict,
              val_acc: float | None, chance: ChanceCheck, seconds: float) -> dict[str, Any]:
    counts = {k: len(v) for k, v in parts.items()}
    return {
        "run_id": uuid.uuid4().hex,
        "dataset": {"source": ds.source, "classes": len(ds.labels), "images": len(ds.ids),
                    "skipped": len(ds.skipped), "split": counts, "seed": cfg.seed,
                    "val_fraction": cfg.val_fraction, "test_fraction": cfg.test_fraction},
        "model": {"arch": cfg.arch, **_arch_kwargs(cfg)},
        "training": {**{k: v for k, v in dataclasses.asdict(cfg).items() if k != "data"},
                     "epochs_run": len(history["loss"]), "kept_epoch": kept_epoch(history),
                     "seconds": round(seconds, 2)},
        "metrics": {"float": {"val_accuracy": val_acc, "test_accuracy": chance.accuracy,
                              "chance": chance.chance, "above_chance": chance.above_chance}},
    }


def write_run(run: RunDir, model: Any, card: Card, ds: Dataset, parts: dict,
              cfg: Any, history: dict, overwrite: bool, chance: float | None = None) -> None:
    """Write every artifact to a temporary name first; card.json (the run's 'done' mark) last."""
    run.path.mkdir(parents=True, exist_ok=True)
    for name in atomic.clean_stale(run.path):
        log.info(f"removed {name}, left behind by an interrupted run")
    split = {"source": ds.source, "seed": cfg.seed, "labels": ds.labels,
             "ids": {k: [ds.ids[i] for i in v] for k, v in parts.items()}}
    if overwrite or not run.finished:
        for name in RUN_ARTIFACTS:
            (run.path / name).unlink(missing_ok=True)
        run.clear_derived()
    atomic.write_json(run.split, split)
    atomic.write_json(run.path / "train_history.json", history)
    atomic.write_bytes(run.path / CURVES_PNG, curves_png(history, cfg.epochs, chance))
    optimizer = getattr(model, "optimizer", None)  # a face embedder is saved without ever being compiled
    if optimizer is not None:
        model.optimizer = None  # its state triples the file; nothing resumes training from it
    try:
        with atomic.atomic_path(run.model, suffix=".keras") as tmp:
            model.save(tmp)
    finally:
        if optimizer is not None:
            model.optimizer = optimizer
    atomic.write_text(run.card, card.to_json())
    log_completed(f"the run {run.path} was written")
