"""Image data sets as numpy arrays: an image folder or the built-in `digits`, and the split.

No TensorFlow here (arguments and data paths are checked before TensorFlow loads): the arrays
feed the tf.data pipeline (pipeline.py), calibration and parity.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edgecnn.errors import EdgeCNNError, EdgeCNNUsageError
from edgecnn.images import ImageError, is_image_file, load_image, probe_color, resize_image
from edgecnn.log import get_logger, track

BUILTIN = ("digits",)
DEFAULT_SIZE = 64
log = get_logger(__name__)


Transform = Callable[[np.ndarray], np.ndarray]


class DataError(EdgeCNNError):
    """The data set is missing, empty or unusable."""


@dataclass
class Dataset:
    """Images (uint8, N x H x W x C), integer targets, class labels and one id per image."""

    source: str
    labels: list[str]
    images: np.ndarray
    targets: np.ndarray
    ids: list[str]
    color: str
    skipped: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {lab: int((self.targets == i).sum()) for i, lab in enumerate(self.labels)}


def load_dataset(data: str, height: int | None, width: int | None, color: str | None,
                 resize: str = "area", transform: Transform | None = None) -> Dataset:
    """Load `digits` or an image folder (one sub-folder per class) at the requested size;
    `transform` (e.g. a face crop) applies to each image before resizing."""
    if data in BUILTIN:
        return _load_digits(height, width, resize)
    root = _root(data)
    files = _class_files(root)
    color = color or _detect_color([f for fs in files.values() for f in fs[:10]])
    h, w = _size(height, width, DEFAULT_SIZE, DEFAULT_SIZE)
    labels = sorted(files)
    ids = [f"{lab}/{f.name}" for lab in labels for f in files[lab]]
    images, ok, skipped = _read_images(root, ids, h, w, color, resize, transform)
    ids = [i for i, good in zip(ids, ok, strict=True) if good]
    targets = np.array([labels.index(i.split("/", 1)[0]) for i in ids], dtype=np.int64)
    for i, lab in enumerate(labels):
        if not (targets == i).any():
            raise DataError(f"class folder '{lab}' has no readable image "
                            f"({len(files[lab])} file(s) could not be read)")
    if skipped:
        log.warning(f"skipped {len(skipped)} unreadable file(s), e.g. {skipped[0]}")
    return Dataset(str(root.resolve()), labels, images, targets, ids, color, skipped)


def check_source(data: str) -> None:
    """Fail at once (before TensorFlow loads) when DATA cannot be a training set: missing, not a
    folder, fewer than two class folders, or an empty class."""
    if data not in BUILTIN:
        _class_files(_root(data))


def _root(data: str) -> Path:
    root = Path(data)
    if not root.exists():
        raise EdgeCNNUsageError(f"data not found: {data} (give an image folder with one sub-folder "
                                f"per class, or the built-in name 'digits')")
    if not root.is_dir():
        raise EdgeCNNUsageError(f"{data} is not a folder (give an image folder with one sub-folder per class)")
    return root


def load_ids(source: str, ids: list[str], labels: list[str], height: int, width: int,
             color: str, resize: str, transform: Transform | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Reload the images a split names (ids recorded at training) -> (images, targets)."""
    if source in BUILTIN:
        full = _load_digits(height, width, resize)
        index = [int(i.split("/", 1)[1]) for i in ids]
        return full.images[index], full.targets[index]
    root = Path(source)
    if not root.is_dir():
        raise DataError(f"the training data folder {source} is gone; pass --data DIR to point at it")
    images, ok, skipped = _read_images(root, ids, height, width, color, resize, transform)
    if skipped:
        raise DataError(f"{len(skipped)} image(s) of the recorded split are missing or unreadable, "
                        f"e.g. {skipped[0]}; the data folder changed since training")
    targets = np.array([labels.index(i.split("/", 1)[0]) for i in ids], dtype=np.int64)
    return images, targets


def split_indices(targets: np.ndarray, val_fraction: float, test_fraction: float,
                  seed: int) -> dict[str, np.ndarray]:
    """Deterministic stratified split: per class, shuffle with `seed`, cut test, val, train."""
    rng = np.random.default_rng(seed)
    parts: dict[str, list[int]] = {"train": [], "val": [], "test": []}
    for cls in np.unique(targets):
        idx = rng.permutation(np.flatnonzero(targets == cls))
        n = idx.size
        n_test = min(max(int(round(n * test_fraction)), 1), n - 1)
        n_val = min(int(round(n * val_fraction)), n - n_test - 1)
        parts["test"] += idx[:n_test].tolist()
        parts["val"] += idx[n_test:n_test + n_val].tolist()
        parts["train"] += idx[n_test + n_val:].tolist()
    return {k: np.array(sorted(v), dtype=np.int64) for k, v in parts.items()}


def _class_files(root: Path) -> dict[str, list[Path]]:
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        loose = sum(1 for p in root.iterdir() if is_image_file(p))
        hint = f" ({loose} images lie at the top level: put each class in its own sub-folder)" if loose else ""
        raise DataError(f"{root} has no class sub-folders{hint}")
    if len(folders) < 2:
        raise DataError(f"{root} has only one class ('{folders[0].name}'); a classifier needs at least two")
    files = {d.name: sorted(p for p in d.iterdir() if p.is_file() and not p.name.startswith("."))
             for d in folders}
    for name, fs in files.items():
        if not fs:
            raise DataError(f"class folder '{name}' in {root} is empty")
    return files


def _detect_color(sample: list[Path]) -> str:
    colors = {probe_color(p) for p in sample}
    return "rgb" if "rgb" in colors else "gray"


def _read_images(root: Path, ids: list[str], h: int, w: int, color: str, resize: str,
                 transform: Transform | None = None) -> tuple[np.ndarray, list[bool], list[str]]:
    out = np.zeros((len(ids), h, w, 1 if color == "gray" else 3), dtype=np.uint8)
    ok, skipped = [], []
    for n, rel in enumerate(track(ids, len(ids), "reading images")):
        try:
            img = load_image(root / rel, color)
            out[n] = resize_image(transform(img) if transform else img, h, w, resize)
            ok.append(True)
        except ImageError:
            ok.append(False)
            skipped.append(rel)
    return out[np.array(ok, dtype=bool)], ok, skipped


def _size(height: int | None, width: int | None, nat_h: int, nat_w: int) -> tuple[int, int]:
    if height is None and width is None:
        return nat_h, nat_w
    return (height or width), (width or height)  # type: ignore[return-value]


def _load_digits(height: int | None, width: int | None, resize: str) -> Dataset:
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise EdgeCNNError("the built-in 'digits' data set comes with scikit-learn: "
                           "pip install 'edgecnn[train]'") from None
    bunch = load_digits()
    raw = np.rint(bunch.images * (255.0 / 16.0)).astype(np.uint8)[..., None]
    h, w = _size(height, width, 8, 8)
    images = np.stack([resize_image(im, h, w, resize) for im in raw]) if (h, w) != (8, 8) else raw
    ids = [f"digits/{i}" for i in range(len(raw))]
    labels = [str(int(t)) for t in bunch.target_names]
    return Dataset("digits", labels, images, bunch.target.astype(np.int64), ids, "gray")
