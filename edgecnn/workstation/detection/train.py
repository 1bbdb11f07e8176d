"""`edgecnn train` on a detection data set: split by image, CenterNet targets in tf.data, fit,
measure mAP, write the run folder (the same files as a classifier run; card task "detector")."""

from __future__ import annotations

import dataclasses
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgecnn.card import Card, InputSpec, Preprocessing
from edgecnn.log import get_logger
from edgecnn.runtime.classify import normalize
from edgecnn.runtime.detection.centernet import FORMAT
from edgecnn.workstation.config import DetectConfig
from edgecnn.workstation.detection.data import Detections, load_detections, split_ids
from edgecnn.workstation.detection.encode import augment, encode
from edgecnn.workstation.detection.evaluate import DetectionMetrics, coco_map, keras_detections
from edgecnn.workstation.detection.model import STRIDE, centernet_loss, make_detector
from edgecnn.workstation.distribute.fit import fit
from edgecnn.workstation.distribute.strategy import Distribution, make_distribution
from edgecnn.workstation.run import RunDir
from edgecnn.workstation.tf_env import keras, tf
from edgecnn.workstation.training import TrainingProgress, seed_everything, stopped_early, write_run

log = get_logger(__name__)


@dataclass(frozen=True)
class DetectTrainResult:
    run: RunDir
    card: Card
    val: DetectionMetrics | None
    test: DetectionMetrics
    epochs_run: int
    seconds: float


def train_detector(data: str, out: str | Path, cfg: DetectConfig, overwrite: bool = False,
                   distribute: str = "none", connect_timeout: float = 120.0) -> DetectTrainResult:
    dist = make_distribution(distribute, connect_timeout)  # before any other TensorFlow op
    run = RunDir(Path(out))
    run.check_writable(overwrite)
    seed_everything(cfg.seed)
    det = load_detections(data, cfg.height, cfg.width, cfg.color)
    parts = split_ids(det.ids, cfg.val_fraction, cfg.test_fraction, cfg.seed)
    log.info(f"{len(det.labels)} classes, {len(det.ids)} images, {sum(len(c) for c in det.classes)} objects: "
             f"train {len(parts['train'])}, val {len(parts['val'])}, test {len(parts['test'])}")
    channels = det.images.shape[3]
    pre = Preprocessing(scale=1 / 255, mean=(0.0,) * channels, std=(1.0,) * channels, color=cfg.color)
    with dist.scope():
        model = make_detector(det.images.shape[1:], len(det.labels), cfg.filters, cfg.head)
        model.compile(optimizer=keras.optimizers.Adam(cfg.learning_rate), loss=centernet_loss(len(det.labels)))
    train, val, test = (det.subset(parts[k]) for k in ("train", "val", "test"))
    start = time.perf_counter()
    history = _fit(model, train, val, pre, cfg, dist, run.path)
    seconds = time.perf_counter() - start
    head = {"format": FORMAT, "stride": STRIDE, "classes": len(det.labels)}
    card = Card(det.labels, InputSpec(*(int(v) for v in det.images.shape[1:])), pre, name=Path(data).name,
                task="detector", sections={"detector": head})
    val_m = _map(model, val, card) if len(val.ids) else None
    test_m = _map(model, test, card)
    sections = _sections(det, parts, cfg, history, val_m, test_m, seconds)
    if dist.distributed:
        sections["training"]["distribute"] = dist.card(cfg.batch_size, cfg.learning_rate)
    card = dataclasses.replace(card, sections={**card.sections, **sections})
    if dist.is_chief:
        write_run(run, model, card, det, parts, cfg, history, overwrite)
    return DetectTrainResult(run, card, val_m, test_m, len(history["loss"]), seconds)


def _map(model: Any, part: Detections, card: Card) -> DetectionMetrics:
    return coco_map(part.boxes, part.classes, keras_detections(model, part.images, card), card.labels)


def pipeline(det: Detections, pre: Preprocessing, cfg: DetectConfig, training: bool, seed: int) -> Any:
    """Batches of (normalised image, CenterNet targets); augmentation moves boxes with the pixels."""
    classes, hw = len(det.labels), det.images.shape[1:3]
    rng = np.random.default_rng(seed)

    def sample(i: np.int64) -> tuple[np.ndarray, np.ndarray]:
        image, boxes, cls = det.images[int(i)], det.boxes[int(i)], det.classes[int(i)]
        if training:
            image, boxes, cls = augment(image, boxes, cls, rng, cfg.flip, cfg.zoom, cfg.shift)
        return normalize(image, pre), encode(boxes, cls, hw, classes, STRIDE)

    def load(i: Any) -> tuple[Any, Any]:
        x, y = tf.numpy_function(sample, [i], (tf.float32, tf.float32), stateful=True)
        x.set_shape(det.images.shape[1:])
        y.set_shape((hw[0] // STRIDE, hw[1] // STRIDE, classes + 5))
        return x, y

    ds = tf.data.Dataset.range(len(det.ids))
    if training:
        ds = ds.shuffle(len(det.ids), seed=seed, reshuffle_each_iteration=True)
    return ds.map(load).batch(cfg.batch_size if training else 64).prefetch(2)


def _fit(model: Any, train: Detections, val: Detections, pre: Preprocessing, cfg: DetectConfig,
         dist: Distribution, run_dir: Path) -> dict:
    def make_train(shard: int, shards: int, batch: int) -> Any:  # one picture is one file: shard by picture
        mine = train.subset(np.arange(len(train.ids))[shard::shards])
        return pipeline(mine, pre, dataclasses.replace(cfg, batch_size=batch), True, cfg.seed + shard)

    val_ds = pipeline(val, pre, cfg, False, cfg.seed) if len(val.ids) else None
    monitor = "val_loss" if val_ds is not None else "loss"
    callbacks = [keras.callbacks.EarlyStopping(monitor=monitor, patience=cfg.patience, restore_best_weights=True),
                 keras.callbacks.ReduceLROnPlateau(monitor=monitor, factor=0.5, patience=max(2, cfg.patience // 3)),
                 TrainingProgress(cfg.epochs, dist.steps(len(train.ids), cfg.batch_size))]
    settings = {"data": train.source, "ids": len(train.ids), "config": dataclasses.asdict(cfg)}
    history = fit(dist, model, make_train, val_ds, cfg.epochs, callbacks, cfg.batch_size, len(train.ids), run_dir,
                  settings)
    stopped_early(history, monitor, cfg.epochs)
    return history


def _sections(det: Detections, parts: dict, cfg: DetectConfig, history: dict, val: DetectionMetrics | None,
              test: DetectionMetrics, seconds: float) -> dict[str, Any]:
    return {
        "run_id": uuid.uuid4().hex,
        "dataset": {"source": det.source, "format": det.format, "classes": len(det.labels), "images": len(det.ids),
                    "objects": int(sum(len(c) for c in det.classes)), "skipped": det.problems,
                    "split": {k: len(v) for k, v in parts.items()}, "seed": cfg.seed,
                    "val_fraction": cfg.val_fraction, "test_fraction": cfg.test_fraction},
        "model": {"arch": "centernet", "filters": list(cfg.filters), "head": cfg.head},
        "training": {**{k: v for k, v in dataclasses.asdict(cfg).items() if k != "data"},
                     "epochs_run": len(history["loss"]), "seconds": round(seconds, 2)},
        "metrics": {"float": {"val_map50": val.map50 if val else None, "test_map": test.map,
                              "test_map50": test.map50}},
    }
