"""Image classification on a loaded model: preprocess, quantize, invoke, dequantize, top-k."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NamedTuple

import cv2
import numpy as np

from edgecnn.card import Card, Preprocessing
from edgecnn.errors import EdgeCNNUsageError
from edgecnn.images import from_bgr, load_image, resize_image
from edgecnn.runtime.labels import labels_for_outputs, read_labels
from edgecnn.runtime.model import LoadedModel, ModelError, load_model
from edgecnn.runtime.tensors import TensorSpec, dequantize, quantize

if TYPE_CHECKING:
    from pathlib import Path


class Class(NamedTuple):
    """One classification result."""

    index: int
    label: str
    score: float


def get_classes(scores: np.ndarray, top_k: int, labels: Sequence[str]) -> list[Class]:
    """The `top_k` highest scores, best first, ties broken by the lower index."""
    scores = np.asarray(scores, dtype=np.float32).reshape(-1)
    k = max(0, min(int(top_k), scores.size))
    order = np.argsort(-scores, kind="stable")[:k]
    return [Class(int(i), labels[i] if i < len(labels) else str(int(i)), float(scores[i])) for i in order]


def normalize(image: np.ndarray, pre: Preprocessing) -> np.ndarray:
    """uint8 (H, W, C) -> float32 (H, W, C): (pixel * scale - mean) / std."""
    mean = np.asarray(pre.mean, dtype=np.float32)
    std = np.asarray(pre.std, dtype=np.float32)
    return (image.astype(np.float32) * np.float32(pre.scale) - mean) / std


def pixel_table(pre: Preprocessing | None, spec: TensorSpec, channels: int) -> np.ndarray:
    """(256, C) lookup: uint8 pixel value per channel -> the value the input tensor gets.

    Preprocessing is per-pixel and per-channel, so it (and input quantization) reduces to a
    table; feeding an image is then one fancy-indexing pass. Without a card or --mean/--std,
    integer inputs get raw pixels (Coral convention) and float inputs pixel / 255.
    """
    levels = np.arange(256, dtype=np.uint8)[:, None].repeat(channels, axis=1)
    if pre is not None:
        return quantize(normalize(levels, pre), spec)
    if np.issubdtype(spec.dtype, np.integer):
        return levels.astype(spec.dtype)
    return (levels.astype(np.float32) / np.float32(255.0)).astype(spec.dtype)


# table dtypes cv2.LUT applies exactly (uint8 image in, the table's dtype out)
LUT_DTYPES = (np.uint8, np.int8, np.uint16, np.int16, np.int32, np.float32, np.float64)


def make_feeder(table: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """The fastest exact way to apply a (256, C) pixel table to a uint8 (H, W, C) image.

    cv2.LUT serves integer and float32 tables alike, so a float32 model's input costs what an
    int8 one does (160x160x3 per-channel: ~70 us, against ~350 us for numpy fancy indexing) and
    only the 4x larger output separates them."""
    shared = bool((table == table[:, :1]).all())
    column = np.ascontiguousarray(table[:, 0])
    if shared and column.dtype == np.uint8 and (column == np.arange(256)).all():
        return lambda image: image  # raw pixels: nothing to do
    if column.dtype in LUT_DTYPES:
        lut = column if shared else np.ascontiguousarray(table.reshape(256, 1, -1))

        def with_cv2(image: np.ndarray) -> np.ndarray:
            return cv2.LUT(image, lut).reshape(image.shape)

        return with_cv2
    if shared:
        return lambda image: np.take(column, image)
    channel = np.arange(table.shape[1])
    return lambda image: table[image, channel]


def check_card(card: Card, model: LoadedModel, labels_given: bool = False) -> None:
    """The card must describe this model: its input size and, for a classifier, one label per output."""
    spec, shape = card.input, tuple(model.input.shape)
    if shape[1:] != (spec.height, spec.width, spec.channels):
        raise ModelError(f"the card in {model.name} says the input is {spec.height}x{spec.width}x"
                         f"{spec.channels} but the model takes {'x'.join(map(str, shape[1:]))}")
    outputs = int(np.prod(model.output.shape))
    if card.task == "classifier" and len(card.labels) != outputs and not labels_given:
        raise ModelError(f"the card in {model.name} has {len(card.labels)} labels but the model has "
                         f"{outputs} outputs; re-run edgecnn quantize, or pass --labels FILE")


class Classifier:
    """A .tflite classifier with its preprocessing; what the device runs and parity measures."""

    def __init__(self, model: str | Path | LoadedModel, threads: int | None = None, *,
                 backend: str | None = None, device: str | None = None, labels: str | Path | None = None,
                 mean: float | None = None, std: float | None = None) -> None:
        self.model = model if isinstance(model, LoadedModel) else load_model(model, threads, backend, device)
        self.card: Card | None = self.model.card
        _, self.height, self.width, self.channels = self.model.input.shape
        self.outputs = int(np.prod(self.model.output.shape))
        if self.card is not None:
            if self.card.task == "detector":
                raise ModelError(f"{self.model.name} is a detector (boxes, not one label per image): use "
                                 f"edgecnn detect {self.model.name} --source IMAGE_OR_CAMERA")
            check_card(self.card, self.model, labels_given=labels is not None)
        self.labels = self._labels(labels)
        self.preprocessing = self._preprocessing(mean, std)
        self.color = "gray" if self.channels == 1 else "rgb"
        self.resize_method = self.preprocessing.resize if self.preprocessing else "nearest"
        self._feed = make_feeder(pixel_table(self.preprocessing, self.model.input, self.channels))

    def _labels(self, path: str | Path | None) -> tuple[str, ...]:
        if path is not None:
            return labels_for_outputs(read_labels(path), self.outputs, str(path))
        if self.card is not None:
            return self.card.labels
        return tuple(str(i) for i in range(self.outputs))

    def _preprocessing(self, mean: float | None, std: float | None) -> Preprocessing | None:
        if mean is None and std is None:
            return self.card.preprocessing if self.card else None
        if std == 0:
            raise EdgeCNNUsageError("--std must not be 0")
        if not all(math.isfinite(v) for v in (mean or 0.0, std or 1.0)):
            raise EdgeCNNUsageError("--mean and --std must be finite numbers")
        color = "gray" if self.channels == 1 else "rgb"
        base = self.card.preprocessing if self.card else Preprocessing(color=color, resize="nearest")
        return base._replace(scale=1.0, mean=(mean or 0.0,) * self.channels,
                                   std=(std or 1.0,) * self.channels)

    def preprocess(self, image: np.ndarray, bgr: bool = False) -> np.ndarray:
        """Stage 1: a uint8 image of any size (in the model's colours, or OpenCV BGR with `bgr`)
        -> the input tensor, batch of one. For BGR to RGB the resize comes first: the channel swap
        commutes with resizing and then costs (model size / frame size) as much."""
        if bgr:
            image = from_bgr(self.resize(image), "rgb") if self.color == "rgb" else \
                self.resize(from_bgr(image, "gray"))
        else:
            image = self.resize(image)
        return self._feed(image)[None, ...]

    def invoke(self, tensor: np.ndarray) -> np.ndarray:
        """Stage 2: run the model on an input tensor; the first output, raw (quantized) dtype."""
        return self.model.invoke(tensor)

    def postprocess(self, raw: np.ndarray) -> np.ndarray:
        """Stage 3: raw output -> dequantized float32 score vector."""
        return dequantize(raw, self.model.output).reshape(-1)

    def resize(self, image: np.ndarray) -> np.ndarray:
        """Any uint8 (H, W, C) image -> resized to the model's input size the way the card says."""
        return resize_image(image, self.height, self.width, self.resize_method)

    def scores(self, image: np.ndarray, bgr: bool = False) -> np.ndarray:
        """All three stages: dequantized output vector (float32) for one uint8 image of any size."""
        return self.postprocess(self.invoke(self.preprocess(image, bgr)))

    def classify(self, image: np.ndarray, top_k: int = 3) -> list[Class]:
        """Top-k classes for one uint8 image."""
        return get_classes(self.scores(image), top_k, self.labels)

    def classify_file(self, path: str | Path, top_k: int = 3) -> list[Class]:
        """Top-k classes for one image file."""
        return self.classify(load_image(path, self.color), top_k)
