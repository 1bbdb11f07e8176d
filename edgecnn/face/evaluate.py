"""`edgecnn face evaluate`: FAR / FRR / EER of float and int8 embedders on identities in a folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from edgecnn.errors import EdgeCNNError, EdgeCNNUsageError
from edgecnn.face.detect import FaceCropper, cropper_for
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


def face_crops(items: list[tuple[str, Path]], cropper: FaceCropper | None) -> tuple[list[np.ndarray], int]:
    """Every image read once and cropped to its largest face (as on the device) when a cropper is
    given; returns the crops and how many images had no detectable face (those stay whole)."""
    crop = cropper.transform() if cropper else (lambda image: image)
    out = []
    for _, path in track(items, len(items), "finding faces" if cropper else "reading images"):
        try:
            out.append(crop(load_image(path, "bgr")))
        except ImageError as exc:
            raise EdgeCNNError(f"{exc}; remove it from the identity folder") from None
    return out, cropper.misses if cropper else 0


def embed_all(embedder: Embedder, crops: list[np.ndarray], label: str) -> np.ndarray:
    return np.stack([embedder.embed_bgr(c) for c in track(crops, len(crops), f"embedding ({label})")])


def evaluate(models: dict[str, Path], data: str | Path, enroll: int = 3, target_far: float = 0.01,
             detect: bool = True) -> dict[str, Any]:
    """Metrics per model name ("float", "int8"), plus mean float-int8 embedding cosine. The faces
    are found once, with the framing the first model's card records (all models come from one run)."""
    items = identity_images(data)
    identities = np.array([who for who, _ in items])
    embedders = {name: Embedder(path) for name, path in models.items()}
    cropper = cropper_for(next(iter(embedders.values())).card) if detect else None
    crops, no_face = face_crops(items, cropper)
    report: dict[str, Any] = {"data": str(data), "identities": len(set(identities)), "images": len(items),
                              "enroll": enroll, "detect": detect, "target_far": target_far, "no_face": no_face}
    embeddings = {}
    for name, embedder in embedders.items():
        embeddings[name] = embed_all(embedder, crops, name)
        try:
            genuine, impostor = pair_scores(embeddings[name], identities, enroll)
        except ValueError as exc:  # too few images of someone to enrol and probe
            raise EdgeCNNUsageError(f"{exc} (lower --enroll, or add images)") from None
        report[name] = {"model": str(models[name]), **summarize(genuine, impostor, target_far)}
    if {"float", "int8"} <= set(embeddings):
        cos = (embeddings["float"] * embeddings["int8"]).sum(axis=1)
        report["mean_cosine_float_int8"] = float(cos.mean())
        report["min_cosine_float_int8"] = float(cos.min())
        report["eer_delta_pp"] = (report["int8"]["eer"] - report["float"]["eer"]) * 100
    return report
