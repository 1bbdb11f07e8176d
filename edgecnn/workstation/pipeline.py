"""The tf.data input pipeline: batching, augmentation (never in the exported graph), scaling."""

from __future__ import annotations

from typing import Any

import numpy as np

from edgecnn.card import Preprocessing
from edgecnn.workstation.config import TrainConfig
from edgecnn.workstation.tf_env import keras, tf


def augmenter(cfg: TrainConfig, seed: int) -> Any:
    """A Keras Sequential of random layers for the pipeline, or None when nothing is on."""
    layers = []
    if cfg.flip:
        layers.append(keras.layers.RandomFlip("horizontal", seed=seed))
    if cfg.rotate > 0:
        layers.append(keras.layers.RandomRotation(cfg.rotate, fill_mode="nearest", seed=seed + 1))
    if cfg.zoom > 0:
        layers.append(keras.layers.RandomZoom(cfg.zoom, fill_mode="nearest", seed=seed + 2))
    if cfg.shift > 0:
        layers.append(keras.layers.RandomTranslation(cfg.shift, cfg.shift, fill_mode="nearest", seed=seed + 3))
    if cfg.contrast > 0:
        layers.append(keras.layers.RandomContrast(cfg.contrast, value_range=(0, 255), seed=seed + 4))
    return keras.Sequential(layers) if layers else None


def make_dataset(images: np.ndarray, targets: np.ndarray, pre: Preprocessing, batch_size: int,
                 training: bool, cfg: TrainConfig | None = None, seed: int = 0) -> Any:
    """uint8 images -> batches of normalised float32 (x * scale - mean) / std with labels."""
    ds = tf.data.Dataset.from_tensor_slices((images, targets.astype(np.int32)))
    if training:
        ds = ds.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)
    aug = augmenter(cfg, seed) if (training and cfg is not None) else None
    mean = tf.constant(pre.mean, tf.float32)
    std = tf.constant(pre.std, tf.float32)

    def prepare(x: Any, y: Any) -> tuple[Any, Any]:
        x = tf.cast(x, tf.float32)
        if aug is not None:
            x = tf.clip_by_value(aug(x, training=True), 0.0, 255.0)
        return (x * pre.scale - mean) / std, y

    return ds.map(prepare, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
