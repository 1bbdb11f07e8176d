"""`edgecnn face train`: an identity folder -> an embedding run folder (then `edgecnn quantize`)."""

from __future__ import annotations

import dataclasses
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgecnn.card import Card, InputSpec
from edgecnn.config import TrainConfig
from edgecnn.data import make_dataset
from edgecnn.dataset import load_dataset, split_indices
from edgecnn.face.detect import FaceCropper
from edgecnn.face.model import am_softmax_loss, make_embedder, margin_trainer
from edgecnn.models import preprocessing_for
from edgecnn.progress import info
from edgecnn.training import EpochProgress, start_run, write_run


@dataclass(frozen=True)
class FaceConfig:
    """How the embedder is built and trained."""

    height: int = 64
    width: int = 56
    color: str = "gray"
    filters: tuple[int, ...] = (32, 64, 128)
    convs: int = 1               # conv layers per block
    pooling: str = "flatten"     # "flatten" keeps where features are (EER ~2x lower than "gap" on ORL)
    dim: int = 128
    dropout: float = 0.2
    scale: float = 30.0
    margin: float = 0.35
    epochs: int = 60
    batch_size: int = 32
    learning_rate: float = 2e-3
    seed: int = 0
    test_fraction: float = 0.1  # per identity, held out for a sanity check (verification uses other people)
    flip: bool = True
    detect: bool = True  # train on Haar-detected, levelled crops: the device's own framing
    shift: float = 0.1  # detected crops wander by a few pixels: train for it
    zoom: float = 0.1

    def __post_init__(self) -> None:
        if self.pooling not in ("flatten", "gap"):
            raise ValueError(f"pooling must be 'flatten' or 'gap', got {self.pooling!r}")
        if self.dim < 2 or self.epochs < 1 or self.batch_size < 1 or not 0 <= self.margin < 1:
            raise ValueError("need dim >= 2, epochs >= 1, batch_size >= 1 and 0 <= margin < 1")


def face_train(data: str, out: str | Path, cfg: FaceConfig, overwrite: bool = False) -> Card:
    """Train the embedder with the AM-softmax head on the identities in `data`; write the run."""
    run, _, keras = start_run(out, overwrite, cfg.seed)
    cropper = FaceCropper() if cfg.detect else None
    transform = cropper.transform() if cropper else None
    ds = load_dataset(data, cfg.height, cfg.width, cfg.color, transform=transform)
    if cropper and cropper.misses:
        info(f"no face found in {cropper.misses} of {len(ds.ids)} images; used them whole")
    parts = split_indices(ds.targets, 0.0, cfg.test_fraction, cfg.seed)
    info(f"{len(ds.labels)} identities, {len(ds.ids)} images: train {len(parts['train'])}")
    pre = preprocessing_for("cnn", ds.color)
    embedder = make_embedder(ds.images.shape[1:], cfg.dim, cfg.filters, cfg.dropout, cfg.convs, cfg.pooling)
    trainer = margin_trainer(embedder, len(ds.labels))
    trainer.compile(optimizer=keras.optimizers.Adam(cfg.learning_rate),
                    loss=am_softmax_loss(len(ds.labels), cfg.scale, cfg.margin))
    aug = TrainConfig(flip=cfg.flip, shift=cfg.shift, zoom=cfg.zoom, rotate=0.0, contrast=0.0)
    tr = parts["train"]
    train_ds = make_dataset(ds.images[tr], ds.targets[tr], pre, cfg.batch_size, True, aug, cfg.seed)
    start = time.perf_counter()
    hist = trainer.fit(train_ds, epochs=cfg.epochs, verbose=0, callbacks=[
        keras.callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=8), EpochProgress(cfg.epochs)])
    seconds = time.perf_counter() - start
    history = {k: [float(v) for v in vals] for k, vals in hist.history.items()}
    card = Card(tuple(ds.labels), InputSpec(*(int(v) for v in ds.images.shape[1:])), pre,
                name=Path(data).name, sections=_sections(ds, parts, cfg, seconds))
    if cropper:
        card = card.with_section("face_crop", cropper.settings())
    write_run(run, embedder, card, ds, parts, cfg, history, overwrite)  # type: ignore[arg-type]
    return card


def _sections(ds: Any, parts: dict, cfg: FaceConfig, seconds: float) -> dict[str, Any]:
    return {
        "run_id": uuid.uuid4().hex,
        "task": "embedding",
        "dataset": {"source": ds.source, "classes": len(ds.labels), "images": len(ds.ids),
                    "skipped": len(ds.skipped), "split": {k: len(v) for k, v in parts.items()},
                    "seed": cfg.seed, "val_fraction": 0.0, "test_fraction": cfg.test_fraction},
        "model": {"arch": "face_embedder", "dim": cfg.dim, "filters": list(cfg.filters),
                  "convs": cfg.convs, "pooling": cfg.pooling},
        "training": {**dataclasses.asdict(cfg), "loss": "am_softmax", "seconds": round(seconds, 2)},
    }
