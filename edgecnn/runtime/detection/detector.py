"""A detection .tflite on the device: preprocess -> invoke -> postprocess, as public stages (the
camera loop and bench time them), returning `Detection`s in pixels of the original frame."""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np

from edgecnn.card import Preprocessing
from edgecnn.errors import EdgeCNNUsageError
from edgecnn.images import from_bgr, load_image, resize_image
from edgecnn.runtime.classify import check_card, make_feeder, pixel_table
from edgecnn.runtime.detection.boxes import Detection, Letterbox
from edgecnn.runtime.detection.families import FAMILIES  # noqa: F401 (registers every layout)
from edgecnn.runtime.detection.layouts import KNOWN, Decoded, DecodeOptions, Decoder, recognise
from edgecnn.runtime.labels import read_labels
from edgecnn.runtime.model import LoadedModel, ModelError, load_model
from edgecnn.runtime.tensors import dequantize

BACKGROUND_NAMES = ("???", "background", "__background__")  # first entries of label lists with background
MAX_LABELS = 100_000  # a labels file's largest index is not trusted beyond this


def is_detector(model: LoadedModel) -> bool:
    """True for a model whose card says detector, or whose outputs a detection family recognises."""
    if model.card is not None:
        return model.card.task == "detector"
    return recognise(list(model.outputs), None) is not None


class ObjectDetector:
    """A detection model with its decoder, labels and preprocessing."""

    def __init__(self, model: str | Path | LoadedModel, threads: int | None = None, *,
                 backend: str | None = None, device: str | None = None, labels: str | Path | None = None,
                 mean: float | None = None, std: float | None = None, threshold: float = 0.5,
                 iou: float = 0.5, max_detections: int = 100, decoder: Decoder | None = None) -> None:
        self.model = model if isinstance(model, LoadedModel) else load_model(model, threads, backend, device)
        self.card = self.model.card
        if self.card is not None:
            if self.card.task != "detector":
                raise ModelError(f"{self.model.name} is a {self.card.task}, not a detector: use edgecnn classify")
            check_card(self.card, self.model)
        if not (0 <= threshold <= 1 and 0 <= iou <= 1 and max_detections >= 1):
            raise EdgeCNNUsageError("need 0 <= --threshold <= 1, 0 <= --iou <= 1 and --max-detections >= 1")
        self.options = DecodeOptions(threshold, iou, max_detections)
        self.decoder = decoder or recognise(list(self.model.outputs), self.card)
        if self.decoder is None:
            shapes = ", ".join(f"{list(o.shape)} {o.dtype.name}" for o in self.model.outputs)
            raise ModelError(f"{self.model.name} is not a detection model edgecnn can decode (outputs: "
                             f"{shapes}); known layouts: " + "; ".join(KNOWN))
        _, self.height, self.width, self.channels = self.model.input.shape
        self.color = "gray" if self.channels == 1 else "rgb"
        self.labels = self._labels(labels)
        pre = self._preprocessing(mean, std)
        self.resize_method = pre.resize if pre else "bilinear"
        self._feed = make_feeder(pixel_table(pre, self.model.input, self.channels))
        self.last_decode_s = 0.0

    def _labels(self, path: str | Path | None) -> tuple[str, ...]:
        n = self.decoder.classes
        if path is None:
            if self.card is not None and len(self.card.labels) == n:
                return self.card.labels
            names = tuple(getattr(self.decoder, "labels", ()))  # a family's fixed names (BlazeFace: "face")
            return names if len(names) == n else tuple(str(i) for i in range(n))
        table = read_labels(path)
        if n == 0:  # the outputs do not say how many classes there are (SSD post-processed): the file does
            names = tuple(table.get(i, str(i)) for i in range(min(max(table) + 1, MAX_LABELS)))
            background = self.decoder.background and names[0].strip().lower() in BACKGROUND_NAMES
            return names[1:] if background else names
        if self.decoder.background and len(table) == n + 1 and sorted(table) == list(range(n + 1)):
            return tuple(table[i] for i in range(1, n + 1))  # a label map that starts with background
        if sorted(table) == list(range(len(table))) and len(table) >= n:
            return tuple(table[i] for i in range(n))
        return tuple(table.get(i, str(i)) for i in range(n))

    def _preprocessing(self, mean: float | None, std: float | None) -> Preprocessing | None:
        if mean is None and std is None:
            return self.card.preprocessing if self.card else getattr(self.decoder, "preprocessing", None)
        if std == 0 or not all(math.isfinite(v) for v in (mean or 0.0, std or 1.0)):
            raise EdgeCNNUsageError("--mean and --std must be finite numbers, --std not 0")
        return Preprocessing(scale=1.0, mean=(mean or 0.0,) * self.channels, std=(std or 1.0,) * self.channels,
                             color=self.color, resize="bilinear")

    def preprocess(self, image: np.ndarray, bgr: bool = False) -> tuple[np.ndarray, Letterbox]:
        """Stage 1: a uint8 frame of any size -> the input tensor and how to map boxes back."""
        h, w = image.shape[:2]
        box = Letterbox.fit(h, w, self.height, self.width, self.decoder.fit)
        nh, nw = round(h * box.scale_y), round(w * box.scale_x)
        if bgr:
            image = from_bgr(image, self.color)
        resized = resize_image(image, nh, nw, self.resize_method)
        if (nh, nw) != (self.height, self.width):  # letterbox: centre on a black canvas
            canvas = np.zeros((self.height, self.width, resized.shape[2]), np.uint8)
            y, x = int(box.pad_y), int(box.pad_x)
            canvas[y:y + nh, x:x + nw] = resized[: self.height - y, : self.width - x]
            resized = canvas
        return self._feed(resized)[None, ...], box

    def invoke(self, tensor: np.ndarray) -> list[np.ndarray]:
        """Stage 2: run the model; every output, raw dtypes."""
        return self.model.invoke_all(tensor)

    def postprocess(self, raw: list[np.ndarray], box: Letterbox) -> list[Detection]:
        """Stage 3: decode (integers where the decoder can, else dequantized), NMS, map to frame
        pixels. The decoder's own time (decoding + NMS) is kept in `last_decode_s`."""
        start = time.perf_counter()
        found = self.decode(raw)
        self.last_decode_s = time.perf_counter() - start
        if not len(found.scores):
            return []
        points = box.points_to_frame(found.keypoints).tolist() if found.keypoints is not None else None
        result = []
        for i, (b, score, k) in enumerate(zip(box.boxes_to_frame(found.boxes).tolist(), found.scores.tolist(),
                                              found.classes.tolist(), strict=True)):
            kp = tuple((x, y) for x, y in points[i]) if points is not None else ()
            result.append(Detection(self.labels[k] if 0 <= k < len(self.labels) else str(k), score,
                                    (b[0], b[1], b[2], b[3]), k, kp))
        return result

    def decode(self, raw: list[np.ndarray]) -> Decoded:
        """Decoding + NMS of raw outputs, in input pixels: on the integers where the decoder can,
        else on the dequantized outputs."""
        fast = getattr(self.decoder, "decode_quantized", None)  # decoders that read the integers themselves
        if fast is not None:
            return fast(raw, self.model.outputs, (self.height, self.width), self.options)
        outputs = [dequantize(r, spec) for r, spec in zip(raw, self.model.outputs, strict=True)]
        return self.decoder.decode(outputs, (self.height, self.width), self.options)

    def detect(self, image: np.ndarray, bgr: bool = False) -> list[Detection]:
        """All three stages for one uint8 image (in the model's colours, or BGR with `bgr`)."""
        tensor, box = self.preprocess(image, bgr)
        return self.postprocess(self.invoke(tensor), box)

    def detect_file(self, path: str | Path) -> list[Detection]:
        return self.detect(load_image(path, self.color))
