"""Pascal VOC detection annotations: Annotations/*.xml beside JPEGImages/ (boxes are 1-based
inclusive pixel corners; classes are names, numbered in order of first appearance, sorted)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from edgecnn import atomic
from edgecnn.workstation.detection.annotations import DetectionSet, ImageBoxes, Problems, clean_box, finish

MAX_XML = 1 << 20  # an annotation is a few kB; anything larger is not one


def is_voc(path: Path) -> bool:
    return (path / "Annotations").is_dir() and (path / "JPEGImages").is_dir()


def read_voc(path: Path) -> DetectionSet:
    problems = Problems()
    records = []
    for xml in sorted((path / "Annotations").glob("*.xml")):
        record = _parse(xml, problems)
        if record is not None:
            records.append(record)
    labels = sorted({name for _, _, objects in records for name, _ in objects})
    index = {name: i for i, name in enumerate(labels)}
    items = []
    for file_name, size, objects in records:
        file = path / "JPEGImages" / file_name
        if not file.is_file():
            problems.add("listed images that are missing", file_name)
            continue
        boxes, classes = [], []
        for name, box in objects:
            clean = clean_box(box, size[0], size[1], problems, file_name)
            if clean is not None:
                boxes.append(clean)
                classes.append(index[name])
        items.append(ImageBoxes(file_name, file, np.array(boxes, np.float32).reshape(-1, 4),
                                np.array(classes, np.int64)))
    return finish(str(path), "voc", labels, items, problems)


def _parse(xml: Path, problems: Problems) -> tuple[str, tuple[int, int], list[tuple[str, list[float]]]] | None:
    try:
        if xml.stat().st_size > MAX_XML:
            raise ValueError("too large")
        root = ET.fromstring(xml.read_bytes())
        size = root.find("size")
        w, h = int(size.findtext("width")), int(size.findtext("height"))  # type: ignore[union-attr,arg-type]
        objects = []
        for obj in root.iter("object"):
            bb = obj.find("bndbox")
            corners = [float(bb.findtext(k)) for k in ("xmin", "ymin", "xmax", "ymax")]  # type: ignore[union-attr,arg-type]
            x0, y0, x1, y1 = corners
            objects.append((str(obj.findtext("name")).strip(), [x0 - 1, y0 - 1, x1, y1]))
        return str(root.findtext("filename") or xml.with_suffix(".jpg").name), (w, h), objects
    except (ET.ParseError, ValueError, TypeError, AttributeError, OSError):
        problems.add("unreadable annotation files", xml.name)
        return None


def write_voc(dataset: DetectionSet, dest: Path, image_sizes: dict[str, tuple[int, int]]) -> Path:
    """Annotations/NAME.xml for every image (under JPEGImages/, the caller's)."""
    for item in dataset.items:
        w, h = image_sizes[item.id]
        objects = "".join(
            f"<object><name>{dataset.labels[c]}</name><bndbox><xmin>{b[0] + 1:.1f}</xmin><ymin>{b[1] + 1:.1f}</ymin>"
            f"<xmax>{b[2]:.1f}</xmax><ymax>{b[3]:.1f}</ymax></bndbox></object>"
            for b, c in zip(item.boxes.tolist(), item.classes.tolist(), strict=True))
        xml = (f"<annotation><filename>{item.id}</filename><size><width>{w}</width><height>{h}</height>"
               f"<depth>3</depth></size>{objects}</annotation>\n")
        atomic.write_text(dest / "Annotations" / Path(item.id).with_suffix(".xml"), xml)
    return dest / "Annotations"
