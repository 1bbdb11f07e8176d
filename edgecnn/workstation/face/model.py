"""The face embedding CNN and its additive-margin softmax (CosFace / AM-softmax) training head."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from edgecnn.workstation.tf_env import keras


def make_embedder(input_shape: Sequence[int], dim: int = 64, filters: Sequence[int] = (32, 64, 128),
                  dropout: float = 0.2, convs: int = 1, pooling: str = "gap") -> Any:
    """Blocks of `convs` x (conv-BN-ReLU) + max-pool, then global average pooling ("gap") or the
    whole feature map ("flatten": keeps where things are), dense `dim`, L2 normalisation."""
    L = keras.layers
    inputs = keras.Input(shape=tuple(input_shape), name="image")
    x = inputs
    for i, f in enumerate(filters):
        for j in range(convs):
            tag = f"{i + 1}" if convs == 1 else f"{i + 1}_{j + 1}"
            x = L.Conv2D(f, 3, padding="same", use_bias=False, name=f"conv{tag}")(x)
            x = L.BatchNormalization(momentum=0.9, name=f"bn{tag}")(x)
            x = L.ReLU(name=f"relu{tag}")(x)
        x = L.MaxPooling2D(2, name=f"pool{i + 1}")(x)
    x = L.GlobalAveragePooling2D(name="gap")(x) if pooling == "gap" else L.Flatten(name="flatten")(x)
    x = L.Dropout(dropout, name="dropout")(x)
    x = L.Dense(dim, name="embedding")(x)
    outputs = L.UnitNormalization(name="l2norm")(x)
    return keras.Model(inputs, outputs, name="edgecnn_face_embedder")


def margin_trainer(embedder: Any, identities: int) -> Any:
    """embedder + a cosine head (unit-length class weights): outputs cos(embedding, class)."""

    class CosineHead(keras.layers.Layer):
        def build(self, shape: Any) -> None:
            self.w = self.add_weight(shape=(shape[-1], identities), initializer="glorot_uniform", name="w")

        def call(self, e: Any) -> Any:
            return keras.ops.matmul(e, keras.ops.normalize(self.w, axis=0))

    return keras.Model(embedder.input, CosineHead(name="cosine_head")(embedder.output))


def am_softmax_loss(identities: int, scale: float = 30.0, margin: float = 0.35) -> Callable[[Any, Any], Any]:
    """Cross-entropy on scale * (cos - margin at the true class): pulls each class together by a margin."""

    def loss(y_true: Any, cos: Any) -> Any:
        onehot = keras.ops.one_hot(keras.ops.cast(keras.ops.reshape(y_true, (-1,)), "int32"), identities)
        return keras.losses.categorical_crossentropy(onehot, scale * (cos - margin * onehot), from_logits=True)

    return loss
