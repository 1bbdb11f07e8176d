"""YOLO detection labels: data.yaml, or images/ + labels/ folders of `class cx cy w h` lines
(normalised to the image size). An image without a label file is a background image."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgecnn import atomic
from edgecnn.errors import read_file
from edgecnn.images import IMAGE_SUFFIXES
from edgecnn.workstation.detection.annotations import (
    AnnotationError,
    DetectionSet,
    ImageBoxes,
    Problems,
    clean_box,
    finish,
    image_size,
)


def is_yolo(path: Path) -> bool:
    return (path.is_file() and path.suffix.lower() in (".yaml", ".yml")) or (path / "data.yaml").is_file() \
        or ((path / "images").is_dir() and (path / "labels").is_dir())


def read_yolo(path: Path) -> DetectionSet:
    yaml_path = path if path.is_file() else path / "data.yaml"
    if yaml_path.is_file():
        root, image_dirs, labels = _from_yaml(yaml_path)
    else:
        root, image_dirs = path, [path / "images"]
        names = path / "classes.txt"
        labels = read_file(names, "classes file").decode().split() if names.is_file() else []
    problems = Problems()
    items = []
    files = sorted(f for d in image_dirs for f in d.rglob("*") if f.suffix.lower() in IMAGE_SUFFIXES)
    highest = -1
    for file in files:
        size = image_size(file)
        rel = file.relative_to(root / "images") if (root / "images") in file.parents else file.relative_to(root)
        if size is None:
            problems.add("unreadable images", str(rel))
            continue
        boxes, classes = _read_label(_label_path(file), size, problems, labels)
        highest = max([highest, *classes])
        items.append(ImageBoxes(str(rel), file, np.array(boxes, np.float32).reshape(-1, 4),
                                np.array(classes, np.int64)))
    labels = labels or [str(i) for i in range(highest + 1)]
    return finish(str(yaml_path if yaml_path.is_file() else path), "yolo", labels, items, problems)


def _from_yaml(yaml_path: Path) -> tuple[Path, list[Path], list[str]]:
    import yaml  # pyyaml comes with edgecnn[train]; only YOLO's data.yaml needs it

    try:
        spec = yaml.safe_load(read_file(yaml_path, "YOLO data.yaml", AnnotationError))
        if not isinstance(spec, dict) or "names" not in spec:
            raise ValueError("expected a mapping with 'names'")
        names = spec["names"]
        labels = [str(names[k]) for k in sorted(names)] if isinstance(names, dict) else [str(n) for n in names]
        root = (yaml_path.parent / str(spec.get("path", "."))).resolve()
        parts = [spec[k] for k in ("train", "val", "test") if spec.get(k)]
        dirs = [root / str(p) for part in parts for p in (part if isinstance(part, list) else [part])]
    except (yaml.YAMLError, ValueError, TypeError, KeyError) as exc:
        raise AnnotationError(f"{yaml_path} is not a YOLO data.yaml: {str(exc)[:160]}") from None
    dirs = [d for d in dirs if d.is_dir()] or [root / "images"]
    return root, sorted(set(dirs)), labels


def _label_path(image: Path) -> Path:
    parts = list(image.parts)
    if "images" in parts:
        i = len(parts) - 1 - parts[::-1].index("images")
        parts[i] = "labels"
    return Path(*parts).with_suffix(".txt")


def _read_label(path: Path, size: tuple[int, int], problems: Problems,
                labels: list[str]) -> tuple[list[list[float]], list[int]]:
    if not path.is_file():
        return [], []
    w, h = size
    boxes, classes = [], []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        problems.add("unreadable label files", path.name)
        return [], []
    for n, line in enumerate(lines, start=1):
        where = f"{path.name}:{n}"
        fields = line.split()
        if not fields:
            continue
        try:
            cls, cx, cy, bw, bh = int(fields[0]), *(float(v) for v in fields[1:5])
            if len(fields) < 5:
                raise ValueError
        except ValueError:
            problems.add("malformed label lines", where)
            continue
        if cls < 0 or (labels and cls >= len(labels)):
            problems.add("unknown class ids", where)
            continue
        box = clean_box([(cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h],
                        w, h, problems, where)
        if box is not None:
            boxes.append(box)
            classes.append(cls)
    return boxes, classes


def write_yolo(dataset: DetectionSet, dest: Path, image_sizes: dict[str, tuple[int, int]]) -> Path:
    """labels/NAME.txt for every image (under images/, the caller's) and data.yaml."""
    for item in dataset.items:
        w, h = image_sizes[item.id]
        lines = [f"{int(c)} {(b[0] + b[2]) / 2 / w:.6f} {(b[1] + b[3]) / 2 / h:.6f} {(b[2] - b[0]) / w:.6f} "
                 f"{(b[3] - b[1]) / h:.6f}" for b, c in zip(item.boxes.tolist(), item.classes.tolist(), strict=True)]
        atomic.write_text(dest / "labels" / Path(item.id).with_suffix(".txt"), "\n".join(lines) + "\n")
    names = "\n".join(f"  {i}: {name}" for i, name in enumerate(dataset.labels))
    out = dest / "data.yaml"
    atomic.write_text(out, f"path: .\ntrain: images\nnames:\n{names}\n")
    return out
