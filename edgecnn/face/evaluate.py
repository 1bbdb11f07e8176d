"""`edgecnn face evaluate`: FAR / FRR / EER of float and int8 embedders on identities in a folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np

from edgecnn.errors import EdgeCNNError, EdgeCNNUsageError
from edgecnn.face.detect import FaceCropper, cropper_from
from edgecnn.face.embedder import Embedder
from edgecnn.face.metrics import pair_scores, summarize
from edgecnn.images import ImageError, is_image_file, load_image
from edgecnn.progress import track


def identity_images(folder: str | Path) -> list[tuple[str, Path]]:
    """(identity, image path) for every image of every identity sub-folder."""
    root = Path(folder)
    if not root.is_dir():
        raise EdgeCNNUsageError(f"identity folder not found: {folder}")
    people = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    pairs = [(p.name, f) for p in people for f in sorted(p.iterdir()) if is_image_file(f)]
    empty = [p.name for p in people if not any(who == p.name for who, _ in pairs)]
    if empty and len(people) >= 2:
        raise EdgeCNNError(f"identity folder '{empty[0]}' in {folder} holds no images; remove it or add photos")
    if len({who for who, _ in pairs}) < 2:
        raise EdgeCNNError(f"{folder} needs at least two identity sub-folders with images")
    return pairs


def embed_all(embedder: Embedder, items: list[tuple[str, Path]], label: str, detect: bool) -> tuple[np.ndarray, int]:
    """Embeddings of every image (largest face crop, as on the device, when `detect`), and how many
    images had no detectable face (those are embedded whole)."""
    cropper = None
    if detect:
        cropper = (cropper_from(embedder.card.sections.get("face_crop")) if embedder.card else None) or FaceCropper()
    crop = cropper.transform() if cropper else (lambda image: image)
    out = []
    for _, path in track(items, len(items), f"embedding ({label})"):
        try:
            bgr = cv2.cvtColor(load_image(path, "rgb"), cv2.COLOR_RGB2BGR)
        except ImageError as exc:
            raise EdgeCNNError(f"{exc}; remove it from the identity folder") from None
        out.append(embedder.embed_bgr(crop(bgr)))
    return np.stack(out), cropper.misses if cropper else 0


def evaluate(models: dict[str, Path], data: str | Path, enroll: int = 3, target_far: float = 0.01,
             detect: bool = True) -> dict[str, Any]:
    """Metrics per model name ("float", "int8"), plus mean float-int8 embedding cosine."""
    items = identity_images(data)
    identities = np.array([who for who, _ in items])
    report: dict[str, Any] = {"data": str(data), "identities": len(set(identities)), "images": len(items),
                              "enroll": enroll, "detect": detect,
                              "target_far": target_far}
    embeddings = {}
    for name, path in models.items():
        embeddings[name], report["no_face"] = embed_all(Embedder(path), items, name, detect)
        try:
            genuine, impostor = pair_scores(embeddings[name], identities, enroll)
        except ValueError as exc:  # too few images of someone to enrol and probe
            raise EdgeCNNUsageError(f"{exc} (lower --enroll, or add images)") from None
        report[name] = {"model": str(path), **summarize(genuine, impostor, target_far)}
    if {"float", "int8"} <= set(embeddings):
        cos = (embeddings["float"] * embeddings["int8"]).sum(axis=1)
        report["mean_cosine_float_int8"] = float(cos.mean())
        report["min_cosine_float_int8"] = float(cos.min())
        report["eer_delta_pp"] = (report["int8"]["eer"] - report["float"]["eer"]) * 100
    return report
