"""The detector: a small all-convolutional CenterNet for int8 and the Edge TPU.

conv-BN-ReLU blocks down to stride 16, two nearest-neighbour upsamplings with added skips back to
stride 4, and one head whose outputs all end in a sigmoid (class heatmaps, box size as a fraction
of the input, centre offset in the cell), concatenated into one tensor [1, G, G, C + 4]. No NMS, no
custom op: every op maps to the Edge TPU and every output lives in [0, 1]."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from edgecnn.runtime.classify import normalize
from edgecnn.workstation.tf_env import keras, tf

STRIDE = 4


@keras.saving.register_keras_serializable("edgecnn")
class NearestUpsample(keras.layers.Layer):
    """x2 nearest-neighbour upsampling that converts to one RESIZE_NEAREST_NEIGHBOR (Edge TPU op).
    Keras' own layers do not: UpSampling2D becomes TILE, and Resizing left the BatchNorm layers after
    it in training mode in the exported graph (seen with Keras 3.15)."""

    def call(self, x: Any) -> Any:
        return keras.ops.image.resize(x, (x.shape[1] * 2, x.shape[2] * 2), interpolation="nearest")


def make_detector(input_shape: Sequence[int], classes: int, filters: Sequence[int] = (16, 32, 48, 64),
                  head: int = 32) -> Any:
    """CenterNet on a plain CNN; `filters` are the widths at strides 2, 4, 8, 16 (one strided conv
    at stride 2, where pixels are many; a strided and a plain conv below)."""
    L = keras.layers
    inputs = keras.Input(shape=tuple(input_shape), name="image")
    x, skips = inputs, []
    for i, f in enumerate(filters):
        x = _conv(x, f, f"down{i + 1}", stride=2)
        if i:
            x = _conv(x, f, f"block{i + 1}")
        skips.append(x)
    for i, skip in enumerate(reversed(skips[1:-1])):  # stride 16 -> 8 -> 4
        x = NearestUpsample(name=f"up{i + 1}")(x)
        x = L.Add(name=f"skip{i + 1}")([_conv(x, skip.shape[-1], f"lateral{i + 1}", kernel=1), skip])
        x = _conv(x, skip.shape[-1], f"merge{i + 1}")
    x = _conv(x, head, "head")
    heat = L.Conv2D(classes, 1, activation="sigmoid", name="heatmap",
                    bias_initializer=keras.initializers.Constant(-2.19))(x)  # prior 0.1: focal-loss init
    box = L.Conv2D(4, 1, activation="sigmoid", name="box")(x)
    outputs = L.Concatenate(name="detections")([heat, box])
    return keras.Model(inputs, outputs, name="edgecnn_centernet")


def _conv(x: Any, filters: int, name: str, stride: int = 1, kernel: int = 3) -> Any:
    L = keras.layers
    x = L.Conv2D(filters, kernel, strides=stride, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = L.BatchNormalization(momentum=0.9, name=f"{name}_bn")(x)
    return L.ReLU(name=f"{name}_relu")(x)


def centernet_loss(classes: int, size_weight: float = 5.0, offset_weight: float = 1.0) -> Any:
    """Penalty-reduced focal loss on the heatmaps plus L1 on size and offset at object centres."""

    def loss(y_true: Any, y_pred: Any) -> Any:
        heat_t, heat_p = y_true[..., :classes], tf.clip_by_value(y_pred[..., :classes], 1e-4, 1 - 1e-4)
        mask = y_true[..., classes + 4:classes + 5]
        pos = tf.cast(tf.equal(heat_t, 1.0), tf.float32)
        n = tf.maximum(tf.reduce_sum(mask), 1.0)
        focal = -(pos * (1 - heat_p) ** 2 * tf.math.log(heat_p)
                  + (1 - pos) * (1 - heat_t) ** 4 * heat_p ** 2 * tf.math.log(1 - heat_p))
        box_err = tf.abs(y_true[..., classes:classes + 4] - y_pred[..., classes:classes + 4]) * mask
        size = tf.reduce_sum(box_err[..., :2]) / n
        offset = tf.reduce_sum(box_err[..., 2:]) / n
        return tf.reduce_sum(focal) / n + size_weight * size + offset_weight * offset

    return loss


def predict_raw(model: Any, images: np.ndarray, pre: Any, batch_size: int = 64) -> np.ndarray:
    """The float model's output tensors for uint8 images (normalised as the card says)."""
    return np.asarray(model.predict(normalize(images, pre), batch_size=batch_size, verbose=0), np.float32)
