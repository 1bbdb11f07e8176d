"""`edgecnn face train`: an identity folder -> an embedding run folder (then `edgecnn quantize`)."""

from __future__ import annotations

import dataclasses
import time
import uuid
from pathlib import Path
from typing import Any

from edgecnn.card import Card, InputSpec
from edgecnn.face.detect import FaceCropper
from edgecnn.log import get_logger
from edgecnn.workstation.config import FaceConfig, TrainConfig
from edgecnn.workstation.datasets import load_dataset, split_indices
from edgecnn.workstation.distribute.fit import fit
from edgecnn.workstation.distribute.strategy import make_distribution
from edgecnn.workstation.face.model import am_softmax_loss, make_embedder, margin_trainer
from edgecnn.workstation.models import preprocessing_for
from edgecnn.workstation.pipeline import make_dataset
from edgecnn.workstation.run import RunDir
from edgecnn.workstation.tf_env import keras
from edgecnn.workstation.training import TrainingProgress, seed_everything, write_run

log = get_logger(__name__)


def face_train(data: str, out: str | Path, cfg: FaceConfig, overwrite: bool = False, distribute: str = "none",
               connect_timeout: float = 120.0) -> Card:
    """Train the embedder with the AM-softmax head on the identities in `data`; write the run (the
    chief only, when `distribute` spreads training over several workers)."""
    dist = make_distribution(distribute, connect_timeout)  # before any other TensorFlow op
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
    with dist.scope():
        embedder = make_embedder(ds.images.shape[1:], cfg.dim, cfg.filters, cfg.dropout, cfg.convs, cfg.pooling)
        trainer = margin_trainer(embedder, len(ds.labels))
        trainer.compile(optimizer=keras.optimizers.Adam(cfg.learning_rate),
                        loss=am_softmax_loss(len(ds.labels), cfg.scale, cfg.margin))
    aug = TrainConfig(flip=cfg.flip, shift=cfg.shift, zoom=cfg.zoom, rotate=0.0, contrast=0.0)
    tr = parts["train"]

    def make_train(shard: int, shards: int, batch: int) -> Any:  # one image is one file: shard by image
        mine = tr[shard::shards]
        return make_dataset(ds.images[mine], ds.targets[mine], pre, batch, True, aug, cfg.seed)

    callbacks = [keras.callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=8),
                 TrainingProgress(cfg.epochs, dist.steps(len(tr), cfg.batch_size))]
    start = time.perf_counter()
    settings = {"data": ds.source, "ids": len(ds.ids), "config": dataclasses.asdict(cfg)}
    history = fit(dist, trainer, make_train, None, cfg.epochs, callbacks, cfg.batch_size, len(tr), run.path, settings)
    seconds = time.perf_counter() - start
    sections = _sections(ds, parts, cfg, seconds)
    if dist.distributed:
        sections["training"]["distribute"] = dist.card(cfg.batch_size, cfg.learning_rate)
    card = Card(tuple(ds.labels), InputSpec(*(int(v) for v in ds.images.shape[1:])), pre,
                name=Path(data).name, sections=sections, task="embedding")
    if cropper:
        card = card.with_section("face_crop", cropper.settings())
    if dist.is_chief:
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
