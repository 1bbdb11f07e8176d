"""`edgecnn face evaluate`: FAR / FRR / EER of float and int8 embedders on identities in a folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgecnn.errors import EdgeCNNError, EdgeCNNUsageError
from edgecnn.face.detect import FaceCropper, cropper_for
from edgecnn.face.embedder import Embedder
from edgecnn.face.metrics import VerificationMetrics, nearest_strangers, pair_scores, summarize
from edgecnn.images import ImageError, list_images, load_image
from edgecnn.log import track


def identity_images(folder: str | Path) -> list[tuple[str, Path]]:
    """(identity, image path) for every image of every identity sub-folder."""
    root = Path(folder)
    if not root.is_dir():
        raise EdgeCNNUsageError(f"identity folder not found: {folder}")
    people = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    pairs = [(p.name, f) for p in people for f in list_images(p)]
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


@dataclass(frozen=True)
class ModelVerification:
    """Verification metrics of one model file."""

    model: str
    metrics: VerificationMetrics


@dataclass(frozen=True)
class FaceEvaluation:
    """`face evaluate`: metrics per model ("float", "int8") on the identities of one folder."""

    data: str
    identities: int
    images: int
    enroll: int
    detect: bool
    target_far: float
    no_face: int
    models: dict[str, ModelVerification]
    mean_cosine_float_int8: float | None = None
    min_cosine_float_int8: float | None = None
    plot: str | None = None
    nearest_strangers: dict[str, list[dict[str, Any]]] | None = None  # int8, at threshold_at_target_far

    @property
    def eer_delta_pp(self) -> float | None:
        if not {"float", "int8"} <= set(self.models):
            return None
        return (self.models["int8"].metrics.eer - self.models["float"].metrics.eer) * 100

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"data": self.data, "identities": self.identities, "images": self.images,
                               "enroll": self.enroll, "detect": self.detect, "target_far": self.target_far,
                               "no_face": self.no_face}
        for name, m in self.models.items():
            out[name] = {"model": m.model, **m.metrics.to_dict()}
        if self.mean_cosine_float_int8 is not None:
            out.update(mean_cosine_float_int8=self.mean_cosine_float_int8,
                       min_cosine_float_int8=self.min_cosine_float_int8, eer_delta_pp=self.eer_delta_pp)
        if self.plot:
            out["plot"] = self.plot
        if self.nearest_strangers is not None:
            out["nearest_strangers"] = self.nearest_strangers
        return out


def evaluate(models: dict[str, Path], data: str | Path, enroll: int = 3, target_far: float = 0.01,
             detect: bool = True) -> FaceEvaluation:
    """Metrics per model name ("float", "int8"), plus mean float-int8 embedding cosine. The faces
    are found once, with the framing the first model's card records (all models come from one run)."""
    items = identity_images(data)
    identities = np.array([who for who, _ in items])
    embedders = {name: Embedder(path) for name, path in models.items()}
    cropper = cropper_for(next(iter(embedders.values())).card) if detect else None
    crops, no_face = face_crops(items, cropper)
    results, embeddings = {}, {}
    for name, embedder in embedders.items():
        embeddings[name] = embed_all(embedder, crops, name)
        try:
            genuine, impostor = pair_scores(embeddings[name], identities, enroll)
        except ValueError as exc:  # too few images of someone to enrol and probe
            raise EdgeCNNUsageError(f"{exc} (lower --enroll, or add images)") from None
        results[name] = ModelVerification(str(models[name]), summarize(genuine, impostor, target_far))
    cos = (embeddings["float"] * embeddings["int8"]).sum(axis=1) if {"float", "int8"} <= set(embeddings) else None
    deployed = "int8" if "int8" in results else next(iter(results))  # the model a device would run
    nearest = nearest_strangers(embeddings[deployed], identities, enroll,
                                results[deployed].metrics.threshold_at_target_far)
    return FaceEvaluation(str(data), len(set(identities)), len(items), enroll, detect, target_far, no_face, results,
                          None if cos is None else float(cos.mean()), None if cos is None else float(cos.min()),
                          nearest_strangers=nearest)
