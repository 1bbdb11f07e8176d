"""Running an embedding .tflite on the device: preprocess as the card says, L2-normalise the output."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgecnn.face.metrics import l2_normalize
from edgecnn.images import load_image
from edgecnn.runtime import Classifier


class Embedder:
    """A face embedding model: uint8 face image -> unit-length float32 vector."""

    def __init__(self, model: str | Path, threads: int | None = None) -> None:
        self.clf = Classifier(model, threads)  # same preprocessing and quantization path
        self.card = self.clf.card
        self.color = self.clf.color
        self.dim = self.clf.outputs

    def embed(self, image: np.ndarray, bgr: bool = False) -> np.ndarray:
        """Embed a uint8 image in the model's colours (or an OpenCV BGR crop with `bgr`)."""
        return l2_normalize(self.clf.scores(image, bgr)).astype(np.float32)

    def embed_bgr(self, bgr: np.ndarray) -> np.ndarray:
        """Embed an OpenCV BGR crop (camera frames, detector output)."""
        return self.embed(bgr, bgr=True)

    def embed_file(self, path: str | Path) -> np.ndarray:
        return self.embed(load_image(path, self.color))
