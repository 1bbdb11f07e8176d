"""Image classification on a loaded model: preprocess, quantize, invoke, dequantize, top-k."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple, Sequence

import numpy as np

from edgecnn.card import Card, Preprocessing
from edgecnn.images import load_image, resize_image
from edgecnn.runtime.model import LoadedModel, load_model
from edgecnn.runtime.tensors import dequantize, quantize


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


class Classifier:
    """A .tflite classifier with its preprocessing; what the device runs and parity measures."""

    def __init__(self, model: str | Path | LoadedModel, threads: int | None = None) -> None:
        self.model = model if isinstance(model, LoadedModel) else load_model(model, threads)
        self.card: Card | None = self.model.card
        _, self.height, self.width, self.channels = self.model.input.shape
        num_outputs = int(np.prod(self.model.output.shape))
        self.labels: tuple[str, ...] = self.card.labels if self.card else tuple(str(i) for i in range(num_outputs))
        self.color = "gray" if self.channels == 1 else "rgb"
        self.resize = self.card.preprocessing.resize if self.card else "nearest"

    def input_tensor(self, image: np.ndarray) -> np.ndarray:
        """uint8 (H, W, C) image at the model's size -> the input tensor, batch of one."""
        spec = self.model.input
        if self.card is None and np.issubdtype(spec.dtype, np.integer):
            tensor = image.astype(spec.dtype)  # card-less quantized model: raw pixels (Coral convention)
        elif self.card is None:
            tensor = image.astype(np.float32) / np.float32(255.0)
        else:
            tensor = quantize(normalize(image, self.card.preprocessing), spec)
        return tensor[None, ...]

    def prepare(self, image: np.ndarray) -> np.ndarray:
        """Any uint8 (H, W, C) image -> resized to the model's input size."""
        return resize_image(image, self.height, self.width, self.resize)

    def scores(self, image: np.ndarray) -> np.ndarray:
        """Dequantized output vector (float32) for one uint8 image of any size."""
        raw = self.model.invoke(self.input_tensor(self.prepare(image)))
        return dequantize(raw, self.model.output).reshape(-1)

    def classify(self, image: np.ndarray, top_k: int = 3) -> list[Class]:
        """Top-k classes for one uint8 image."""
        return get_classes(self.scores(image), top_k, self.labels)

    def classify_file(self, path: str | Path, top_k: int = 3) -> list[Class]:
        """Top-k classes for one image file."""
        return self.classify(load_image(path, self.color), top_k)
