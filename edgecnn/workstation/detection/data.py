"""Detection data in memory: any supported format (or the built-in `shapes`) read, resized to the
model's input (boxes scaled with the pixels), and split deterministically by image id."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from edgecnn import atomic
from edgecnn.errors import EdgeCNNUsageError
from edgecnn.images import ImageError, load_image, resize_image
from edgecnn.log import get_logger, track
from edgecnn.workstation.detection import shapes
from edgecnn.workstation.detection.annotations import AnnotationError, DetectionSet, ImageBoxes, Problems
from edgecnn.workstation.detection.coco import is_coco, read_coco, write_coco
from edgecnn.workstation.detection.voc import is_voc, read_voc, write_voc
from edgecnn.workstation.detection.yolo import is_yolo, read_yolo, write_yolo

log = get_logger(__name__)
BUILTIN = ("shapes",)
READERS: dict[str, Callable[[Path], DetectionSet]] = {"coco": read_coco, "yolo": read_yolo, "voc": read_voc}
WRITERS = {"coco": write_coco, "yolo": write_yolo, "voc": write_voc}


@dataclass(frozen=True)
class Detections:
    """Images at the model's input size with their boxes (x0, y0, x1, y1 in those pixels)."""

    source: str
    format: str
    labels: tuple[str, ...]
    ids: tuple[str, ...]
    images: np.ndarray  # (N, H, W, C) uint8
    boxes: tuple[np.ndarray, ...]
    classes: tuple[np.ndarray, ...]
    problems: dict[str, int]

    def subset(self, index: np.ndarray) -> Detections:
        pick = [int(i) for i in index]
        return Detections(self.source, self.format, self.labels, tuple(self.ids[i] for i in pick), self.images[pick],
                          tuple(self.boxes[i] for i in pick), tuple(self.classes[i] for i in pick), self.problems)


def detection_format(data: str) -> str | None:
    """"builtin", "coco", "yolo" or "voc" when DATA is a detection data set, else None."""
    if data in BUILTIN:
        return "builtin"
    path = Path(data)
    for name, test in (("coco", is_coco), ("voc", is_voc), ("yolo", is_yolo)):
        if path.exists() and test(path):
            return name
    return None


def check_detection_source(data: str) -> str:
    """The format of DATA, answered before TensorFlow loads; a usage error when it is none."""
    fmt = detection_format(data)
    if fmt is None:
        if not Path(data).exists():
            raise EdgeCNNUsageError(f"data not found: {data} (give a COCO, YOLO or Pascal VOC data set, or 'shapes')")
        raise EdgeCNNUsageError(f"{data} is not a detection data set: expected annotations.json + images/ (COCO), "
                                "data.yaml or images/ + labels/ (YOLO), or Annotations/ + JPEGImages/ (VOC)")
    return fmt


def load_detections(data: str, height: int, width: int, color: str) -> Detections:
    """Read DATA (any format) and resize every image to height x width, boxes with it."""
    fmt = check_detection_source(data)
    if fmt == "builtin":
        pictures = shapes.generate()
        labels, source, problems = shapes.LABELS, data, Problems()
    else:
        dataset = READERS[fmt](Path(data))
        pictures = list(_read_images(dataset.items, color, dataset.problems))
        labels, source, problems = dataset.labels, str(Path(data).resolve()), dataset.problems
        problems.report(data)
    if not pictures:
        raise AnnotationError(f"{data}: none of the annotated images could be read")
    images, boxes = [], []
    for _, image, b, _ in pictures:
        h, w = image.shape[:2]
        if color == "gray" and image.shape[2] == 3:
            image = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)[:, :, None]
        images.append(resize_image(image, height, width, "area"))
        boxes.append((b * np.array([width / w, height / h] * 2, np.float32)).astype(np.float32))
    return Detections(source, fmt, tuple(labels), tuple(p[0] for p in pictures), np.stack(images), tuple(boxes),
                      tuple(p[3] for p in pictures), problems.to_dict())


def _read_images(items: tuple[ImageBoxes, ...], color: str, problems: Problems) -> Iterator[shapes.Picture]:
    for item in track(items, len(items), "reading images"):
        try:
            yield item.id, load_image(item.path, "rgb"), item.boxes, item.classes
        except ImageError:
            problems.add("unreadable images", item.id)


def split_ids(ids: tuple[str, ...], val_fraction: float, test_fraction: float, seed: int) -> dict[str, np.ndarray]:
    """Deterministic split by image id: the same ids and seed split the same in every format."""
    order = sorted(range(len(ids)), key=lambda i: ids[i])
    perm = np.asarray(order)[np.random.default_rng(seed).permutation(len(order))]
    n_test = max(1, int(round(len(ids) * test_fraction)))
    n_val = int(round(len(ids) * val_fraction))
    if len(ids) - n_test - n_val < 1:
        raise EdgeCNNUsageError(f"{len(ids)} images are too few to split into train, val and test")
    parts = {"test": perm[:n_test], "val": perm[n_test:n_test + n_val], "train": perm[n_test + n_val:]}
    return {k: np.sort(v) for k, v in parts.items()}


def export(data: Detections, dest: Path, fmt: str) -> Path:
    """Write `data` (images as PNG at their current size) as a COCO, YOLO or VOC data set."""
    folder = dest / ("JPEGImages" if fmt == "voc" else "images")
    items, sizes = [], {}
    for i, image_id in enumerate(data.ids):
        name = Path(image_id).name
        ok, png = cv2.imencode(".png", data.images[i][..., ::-1] if data.images.shape[3] == 3 else data.images[i])
        atomic.write_bytes(folder / name, png.tobytes())
        items.append(ImageBoxes(name, folder / name, data.boxes[i], data.classes[i]))
        sizes[name] = (data.images.shape[2], data.images.shape[1])
    dataset = DetectionSet(str(dest), fmt, data.labels, tuple(items), Problems())
    WRITERS[fmt](dataset, dest, sizes)
    return dest
