"""Running an embedding .tflite on the device: preprocess as the card says, L2-normalise the output."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgecnn.camera.regions import to_model_colour
from edgecnn.face.metrics import l2_normalize
from edgecnn.images import load_image
from edgecnn.runtime import Classifier
from edgecnn.runtime.tensors import dequantize


class Embedder:
    """A face embedding model: uint8 face image -> unit-length float32 vector."""

    def __init__(self, model: str | Path, threads: int | None = None) -> None:
        self.clf = Classifier(model, threads)  # same preprocessing and quantization path
        self.card = self.clf.card
        self.color = self.clf.color

    @property
    def dim(self) -> int:
        return int(np.prod(self.clf.model.output.shape))

    def embed(self, image: np.ndarray) -> np.ndarray:
        raw = self.clf.model.invoke(self.clf.input_tensor(self.clf.prepare(image)))
        return l2_normalize(dequantize(raw, self.clf.model.output).reshape(-1)).astype(np.float32)

    def embed_bgr(self, bgr: np.ndarray) -> np.ndarray:
        """Embed an OpenCV BGR crop (camera frames, detector output)."""
        return self.embed(to_model_colour(bgr, self.color))

    def embed_file(self, path: str | Path) -> np.ndarray:
        return self.embed(load_image(path, self.color))
