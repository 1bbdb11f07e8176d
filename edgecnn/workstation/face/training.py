"""`edgecnn face train`: an identity folder -> an embedding run folder (then `edgecnn quantize`)."""

from __future__ import annotations

import dataclasses
import logging
import time
import uuid
from pathlib import Path
from typing import Any

from edgecnn.card import Card, InputSpec
from edgecnn.face.detect import FaceCropper
from edgecnn.workstation.config import FaceConfig, TrainConfig
from edgecnn.workstation.datasets import load_dataset, split_indices
from edgecnn.workstation.face.model import am_softmax_loss, make_embedder, margin_trainer
from edgecnn.workstation.models import preprocessing_for
from edgecnn.workstation.pipeline import make_dataset
from edgecnn.workstation.run import RunDir
from edgecnn.workstation.tf_env import keras
from edgecnn.workstation.training import TrainingProgress, seed_everything, write_run

log = logging.getLogger(__name__)


def face_train(data: str, out: str | Path, cfg: FaceConfig, overwrite: bool = False) -> Card:
    """Train the embedder with the AM-softmax head on the identities in `data`; write the run."""
    run = RunDir(Path(out))
    run.check_writable(overwrite)
    seed_everything(cfg.seed)
    cropper = FaceCropper() if cfg.detect else None
    transform = cropper.transform() if cropper else None
    ds = load_dataset(data, cfg.height, cfg.width, cfg.color, transform=transform)
    if cropper and cropper.misses:
        log.warning(f"no face found in {cropper.misses} of {len(ds.ids)} images; used them whole")
    parts = split_indices(ds.targets, 0.0, cfg.test_fraction, cfg.seed)
    log.info(f"{len(ds.labels)} identities, {len(ds.ids)} images: train {len(parts['train'])}")
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
        keras.callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=8),
        TrainingProgress(cfg.epochs, -(-len(tr) // cfg.batch_size))])
    seconds = time.perf_counter() - start
    history = {k: [float(v) for v in vals] for k, vals in hist.history.items()}
    card = Card(tuple(ds.labels), InputSpec(*(int(v) for v in ds.images.shape[1:])), pre,
                name=Path(data).name, sections=_sections(ds, parts, cfg, seconds), task="embedding")
    if cropper:
        card = card.with_section("face_crop", cropper.settings())
    write_run(run, embedder, card, ds, parts, cfg, history, overwrite)
    return card


def _sections(ds: Any, parts: dict, cfg: FaceConfig, seconds: float) -> dict[str, Any]:
    return {
        "run_id": uuid.uuid4().hex,
        "dataset": {"source": ds.source, "classes": len(ds.labels), "images": len(ds.ids),
                    "skipped": len(ds.skipped), "split": {k: len(v) for k, v in parts.items()},
                    "seed": cfg.seed, "val_fraction": 0.0, "test_fraction": cfg.test_fraction},
        "model": {"arch": "face_embedder", "dim": cfg.dim, "filters": list(cfg.filters),
                  "convs": cfg.convs, "pooling": cfg.pooling},
        "training": {**dataclasses.asdict(cfg), "loss": "am_softmax", "seconds": round(seconds, 2)},
    }
