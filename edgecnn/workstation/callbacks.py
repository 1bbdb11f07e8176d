"""Keras callbacks edgecnn trains with: progress for people, and batch-norm statistics that are
measured rather than lagged."""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from edgecnn.card import Preprocessing
from edgecnn.log import bar, get_logger
from edgecnn.runtime.classify import normalize
from edgecnn.workstation.tf_env import keras

log = get_logger(__name__)


def batch_norm_layers(model: Any) -> list[Any]:
    """Every BatchNormalization layer of `model`, nested models (MobileNetV2's base) included."""
    found = []
    for layer in getattr(model, "layers", ()):
        if isinstance(layer, keras.layers.BatchNormalization):
            found.append(layer)
        else:
            found += batch_norm_layers(layer)
    return found


class PreciseBatchNorm(keras.callbacks.Callback):
    """Set every batch-norm layer's moving mean and variance to the statistics of the current
    weights on (up to `limit`) train images, before each validation and when training ends.

    Why: Keras updates the moving statistics by 10 % a step, starting from mean 0 and variance 1.
    On a small folder (60 images = 2 steps an epoch) they trail the real ones for many epochs
    (ORL faces: real variance 0.003 after the first conv, moving variance still 0.01 at epoch 15),
    so the model in inference mode predicts one class, validation sits at chance and early stopping
    keeps a useless epoch. Measured statistics make validation judge the weights as they are.
    """

    def __init__(self, images: np.ndarray, pre: Preprocessing, chunk: int = 64, limit: int = 512) -> None:
        super().__init__()
        pick = np.linspace(0, len(images) - 1, min(limit, len(images))).astype(int)
        self.images = normalize(images[pick], pre) if len(images) else images
        self.chunk = chunk

    def recalibrate(self) -> None:
        layers = batch_norm_layers(self.model)
        if not layers or not len(self.images):
            return
        momenta = [layer.momentum for layer in layers]
        try:
            for i, start in enumerate(range(0, len(self.images), self.chunk)):
                for layer in layers:  # a running mean over the chunks: 1st replaces, k-th weighs 1/k
                    layer.momentum = 1.0 - 1.0 / (i + 1)
                self.model(self.images[start:start + self.chunk], training=True)
        finally:
            for layer, momentum in zip(layers, momenta, strict=True):
                layer.momentum = momentum

    def on_test_begin(self, logs: dict | None = None) -> None:
        self.recalibrate()

    def on_train_end(self, logs: dict | None = None) -> None:
        self.recalibrate()  # after EarlyStopping restored the best weights (it comes first in the list)


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
