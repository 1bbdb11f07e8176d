"""`edgecnn train`: data set -> split -> Keras model -> run folder (model.keras, card.json)."""

from __future__ import annotations

import dataclasses
import logging
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgecnn import atomic
from edgecnn.card import Card, InputSpec, Preprocessing
from edgecnn.log import bar
from edgecnn.log import completed as log_completed
from edgecnn.workstation import tf_env
from edgecnn.workstation.config import TrainConfig
from edgecnn.workstation.datasets import Dataset, load_dataset, split_indices
from edgecnn.workstation.distribute.fit import fit
from edgecnn.workstation.distribute.strategy import Distribution, make_distribution
from edgecnn.workstation.models import make_model, predict, preprocessing_for
from edgecnn.workstation.pipeline import make_dataset
from edgecnn.workstation.run import RUN_ARTIFACTS, RunDir
from edgecnn.workstation.tf_env import keras, tf

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainResult:
    """What a training run produced and measured."""

    run: RunDir
    card: Card
    val_accuracy: float | None
    test_accuracy: float
    epochs_run: int
    seconds: float


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
    with dist.scope():
        model = make_model(cfg.arch, shape, len(ds.labels), **_arch_kwargs(cfg))
        model.compile(optimizer=keras.optimizers.Adam(cfg.learning_rate),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    start = time.perf_counter()
    history = _fit(model, ds, parts, pre, cfg, dist, run.path)
    seconds = time.perf_counter() - start
    val_acc = _accuracy(model, ds, parts["val"], pre) if len(parts["val"]) else None
    test_acc = _accuracy(model, ds, parts["test"], pre)
    sections = _sections(ds, parts, cfg, history, val_acc, test_acc, seconds)
    if dist.distributed:
        sections["training"]["distribute"] = dist.card(cfg.batch_size, cfg.learning_rate)
    card = Card(tuple(ds.labels), InputSpec(*(int(v) for v in shape)), pre,
                name=Path(data).name if data != "digits" else "digits", sections=sections)
    if dist.is_chief:
        write_run(run, model, card, ds, parts, cfg, history, overwrite)
    return TrainResult(run, card, val_acc, test_acc, len(history["loss"]), seconds)


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
        TrainingProgress(cfg.epochs, len(tr) // cfg.batch_size if dist.distributed else -(-len(tr) // cfg.batch_size)),
    ]
    settings = {"data": ds.source, "ids": len(ds.ids), "config": dataclasses.asdict(cfg)}
    history = fit(dist, model, make_train, val_ds, cfg.epochs, callbacks, cfg.batch_size, len(tr), run_dir,
                  settings, accuracy=True)
    stopped_early(history, monitor, cfg.epochs)
    return history


def stopped_early(history: dict[str, list[float]], monitor: str, epochs: int) -> None:
    """Say how training ended: all epochs, or early stopping, and which epoch's weights were kept."""
    ran, values = len(history.get("loss", [])), history.get(monitor, [])
    if not values:
        return
    best = int(np.argmin(values)) + 1
    how = f"stopped early at epoch {ran} of {epochs}" if ran < epochs else f"ran all {epochs} epochs"
    log.info(f"{how}; kept epoch {best} (lowest {monitor.replace('_', ' ')} {min(values):.4f})")


def _accuracy(model: Any, ds: Dataset, idx: np.ndarray, pre: Preprocessing) -> float:
    return float((predict(model, ds.images[idx], pre).argmax(axis=1) == ds.targets[idx]).mean())


def _sections(ds: Dataset, parts: dict, cfg: TrainConfig, history: dict,
              val_acc: float | None, test_acc: float, seconds: float) -> dict[str, Any]:
    counts = {k: len(v) for k, v in parts.items()}
    return {
        "run_id": uuid.uuid4().hex,
        "dataset": {"source": ds.source, "classes": len(ds.labels), "images": len(ds.ids),
                    "skipped": len(ds.skipped), "split": counts, "seed": cfg.seed,
                    "val_fraction": cfg.val_fraction, "test_fraction": cfg.test_fraction},
        "model": {"arch": cfg.arch, **_arch_kwargs(cfg)},
        "training": {**{k: v for k, v in dataclasses.asdict(cfg).items() if k != "data"},
                     "epochs_run": len(history["loss"]), "seconds": round(seconds, 2)},
        "metrics": {"float": {"val_accuracy": val_acc, "test_accuracy": test_acc}},
    }


def write_run(run: RunDir, model: Any, card: Card, ds: Dataset, parts: dict,
              cfg: Any, history: dict, overwrite: bool) -> None:
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
    with atomic.atomic_path(run.model, suffix=".keras") as tmp:
        model.save(tmp)
    atomic.write_text(run.card, card.to_json())
    log_completed(f"the run {run.path} was written")


class TrainingProgress(keras.callbacks.Callback):
    """One progress bar over every batch of every epoch (with an ETA, an upper bound when early
    stopping ends sooner) showing the last epoch's loss and accuracy; in a log (no terminal) a
    line every fifth of the epochs instead."""

    def __init__(self, epochs: int, steps: int) -> None:
        super().__init__()
        self.epochs, self.steps = epochs, max(int(steps), 1)
        self.text = ""
        self._context: Any = None
        self._bar: Any = None
        self._every = max(1, epochs // 5)

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._context = bar(self.epochs * self.steps, "training", show=lambda _: self.text)
        self._bar = self._context.__enter__()

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._bar.update(1)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        parts = [f"loss {logs.get('loss', 0):.3f}"]
        parts += [f"{k} {logs[k]:.3f}" for k in ("accuracy", "val_loss", "val_accuracy") if k in logs]
        self.text = f"epoch {epoch + 1}: " + ", ".join(parts)
        if not sys.stderr.isatty() and ((epoch + 1) % self._every == 0 or epoch == 0):
            log.info(f"epoch {epoch + 1}/{self.epochs}: " + ", ".join(parts))

    def on_train_end(self, logs: dict | None = None) -> None:
        if self._context is not None:
            self._context.__exit__(None, None, None)
            self._context = self._bar = None
