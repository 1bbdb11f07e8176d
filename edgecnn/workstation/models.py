"""Functional Keras model factories with serialisable arguments."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from edgecnn.card import Preprocessing
from edgecnn.errors import EdgeCNNError, EdgeCNNUsageError
from edgecnn.runtime.classify import normalize
from edgecnn.workstation.detection.model import NearestUpsample
from edgecnn.workstation.tf_env import keras, tf


def make_cnn(input_shape: Sequence[int], num_classes: int, filters: Sequence[int] = (32, 64),
             dense: int = 128, dropout: float = 0.3, convs: int = 2) -> Any:
    """Plain CNN: per block `convs` x conv-BN-ReLU then 2x2 max-pool; flatten; dense-ReLU; softmax."""
    L = keras.layers
    inputs = keras.Input(shape=tuple(input_shape), name="image")
    x = inputs
    for i, f in enumerate(filters):
        for j in range(convs):
            x = L.Conv2D(f, 3, padding="same", use_bias=False, name=f"conv{i + 1}_{j + 1}")(x)
            x = L.BatchNormalization(momentum=0.9, name=f"bn{i + 1}_{j + 1}")(x)
            x = L.ReLU(name=f"relu{i + 1}_{j + 1}")(x)
        if min(x.shape[1], x.shape[2]) >= 2:
            x = L.MaxPooling2D(2, name=f"pool{i + 1}")(x)
    x = L.Flatten(name="flatten")(x)
    if dense:
        x = L.Dropout(dropout, name="dropout_hidden")(x)
        x = L.Dense(dense, activation="relu", name="dense")(x)
    x = L.Dropout(dropout, name="dropout")(x)
    outputs = L.Dense(num_classes, activation="softmax", name="probs")(x)
    return keras.Model(inputs, outputs, name="edgecnn_cnn")


def make_mobilenetv2(input_shape: Sequence[int], num_classes: int, alpha: float = 0.35,
                     weights: str | None = None, dropout: float = 0.2) -> Any:
    """MobileNetV2 backbone (width multiplier `alpha`) with a softmax head."""
    h, w, c = input_shape
    if min(h, w) < 32:
        raise EdgeCNNUsageError(f"mobilenetv2 needs inputs of at least 32x32, got {h}x{w}")
    if weights == "imagenet" and c != 3:
        raise EdgeCNNUsageError("ImageNet weights need RGB input: drop --weights or use --color rgb")
    try:
        base = keras.applications.MobileNetV2(input_shape=(h, w, c), alpha=alpha, include_top=False,
                                              weights=weights, pooling="avg")
    except ValueError as exc:
        raise EdgeCNNUsageError(f"mobilenetv2: {exc}") from None
    except Exception as exc:  # weight download: network, cache or checksum failures
        raise EdgeCNNError(f"could not load ImageNet weights for MobileNetV2 ({exc}); they are fetched "
                           "once from the internet into ~/.keras/models") from None
    inputs = keras.Input(shape=(h, w, c), name="image")
    x = base(inputs)
    x = keras.layers.Dropout(dropout, name="dropout")(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="probs")(x)
    return keras.Model(inputs, outputs, name=f"edgecnn_mobilenetv2_{alpha}")


def preprocessing_for(arch: str, color: str) -> Preprocessing:
    """The input scaling each architecture is trained with: [0, 1] for cnn, [-1, 1] for MobileNetV2."""
    channels = 1 if color == "gray" else 3
    if arch == "mobilenetv2":
        return Preprocessing(scale=1 / 127.5, mean=(1.0,) * channels, std=(1.0,) * channels, color=color)
    return Preprocessing(scale=1 / 255.0, mean=(0.0,) * channels, std=(1.0,) * channels, color=color)


def make_model(arch: str, input_shape: Sequence[int], num_classes: int, **kwargs: Any) -> Any:
    """Build the model named `arch` ("cnn" or "mobilenetv2")."""
    if arch == "cnn":
        return make_cnn(input_shape, num_classes, **kwargs)
    if arch == "mobilenetv2":
        return make_mobilenetv2(input_shape, num_classes, **kwargs)
    raise EdgeCNNUsageError(f"unknown architecture {arch!r}: use cnn or mobilenetv2")


def predict(model: Any, images: np.ndarray, pre: Preprocessing, batch_size: int = 256) -> np.ndarray:
    """Float outputs of a Keras model on uint8 images, normalised as the card says."""
    x = normalize(images, pre)
    if isinstance(getattr(model, "distribute_strategy", None), tf.distribute.MultiWorkerMirroredStrategy):
        # Keras 3's predict does not run under this strategy: call the model batch by batch
        return np.concatenate([np.asarray(model(x[i:i + batch_size], training=False), dtype=np.float32)
                               for i in range(0, len(x), batch_size)] or [np.zeros((0,), np.float32)])
    return np.asarray(model.predict(x, batch_size=batch_size, verbose=0), dtype=np.float32)


def load_keras(path: Path) -> Any:
    """Load a run's model.keras; one clear error when the file is damaged."""
    try:
        return keras.models.load_model(path, compile=False, custom_objects={"NearestUpsample": NearestUpsample})
    except Exception as exc:  # zip, h5 or deserialisation errors all mean "damaged file"
        raise EdgeCNNError(f"cannot load {path} ({type(exc).__name__}); retrain the run") from None
