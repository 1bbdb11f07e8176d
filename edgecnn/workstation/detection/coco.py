"""COCO detection annotations: a folder holding annotations.json and images/, or the JSON itself."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from edgecnn import atomic
from edgecnn.errors import read_file
from edgecnn.workstation.detection.annotations import (
    AnnotationError,
    DetectionSet,
    ImageBoxes,
    Problems,
    clean_box,
    finish,
)


def is_coco(path: Path) -> bool:
    return (path.is_file() and path.suffix.lower() == ".json") or (path / "annotations.json").is_file()


def read_coco(path: Path) -> DetectionSet:
    json_path = path if path.is_file() else path / "annotations.json"
    root = json_path.parent / "images" if (json_path.parent / "images").is_dir() else json_path.parent
    data = _load(json_path)
    problems = Problems()
    categories = sorted(data["categories"], key=lambda c: int(c["id"]))
    index = {int(c["id"]): i for i, c in enumerate(categories)}
    labels = [str(c["name"]) for c in categories]
    boxes: dict[int, list[tuple[list[float], int]]] = {}
    images = {int(im["id"]): im for im in data["images"]}
    for ann in data["annotations"]:
        where = f"annotation {ann.get('id', '?')}"
        image = images.get(int(ann.get("image_id", -1)))
        if image is None:
            problems.add("annotations of unknown images", where)
            continue
        if int(ann.get("category_id", -1)) not in index:
            problems.add("unknown class ids", where)
            continue
        x, y, w, h = (float(v) for v in ann["bbox"])
        box = clean_box([x, y, x + w, y + h], int(image["width"]), int(image["height"]), problems, where)
        if box is not None:
            boxes.setdefault(int(image["id"]), []).append((box, index[int(ann["category_id"])]))
    items = []
    for image_id, image in images.items():
        file = root / str(image["file_name"])
        if not file.is_file():
            problems.add("listed images that are missing", str(image["file_name"]))
            continue
        found = boxes.get(image_id, [])
        items.append(ImageBoxes(str(image["file_name"]), file,
                                np.array([b for b, _ in found], np.float32).reshape(-1, 4),
                                np.array([c for _, c in found], np.int64)))
    return finish(str(json_path), "coco", labels, items, problems)


def _load(json_path: Path) -> dict[str, Any]:
    try:
        data = json.loads(read_file(json_path, "COCO annotation file", AnnotationError))
        if not isinstance(data, dict) or not all(isinstance(data.get(k), list)
                                                 for k in ("images", "annotations", "categories")):
            raise ValueError("expected an object with 'images', 'annotations' and 'categories' lists")
        for im in data["images"]:
            int(im["id"]), int(im["width"]), int(im["height"]), str(im["file_name"])
        for c in data["categories"]:
            int(c["id"]), str(c["name"])
        return data
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise AnnotationError(f"{json_path} is not a COCO detection annotation file: {str(exc)[:160]}") from None


def write_coco(dataset: DetectionSet, dest: Path, image_sizes: dict[str, tuple[int, int]]) -> Path:
    """annotations.json beside images/ (the images themselves are the caller's)."""
    images, annotations = [], []
    for n, item in enumerate(dataset.items, start=1):
        w, h = image_sizes[item.id]
        images.append({"id": n, "file_name": item.id, "width": w, "height": h})
        for box, cls in zip(item.boxes.tolist(), item.classes.tolist(), strict=True):
            x0, y0, x1, y1 = box
            annotations.append({"id": len(annotations) + 1, "image_id": n, "category_id": int(cls) + 1,
                                "bbox": [x0, y0, x1 - x0, y1 - y0], "area": (x1 - x0) * (y1 - y0), "iscrowd": 0})
    categories = [{"id": i + 1, "name": name} for i, name in enumerate(dataset.labels)]
    out = dest / "annotations.json"
    atomic.write_json(out, {"images": images, "annotations": annotations, "categories": categories})
    return out
