"""Training and quantization settings (frozen dataclasses, validated on creation).

The defaults are the quick-start recipe for `digits`; train/digits.toml spells them out.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

ARCHS = ("cnn", "mobilenetv2")
MODES = ("int8", "int16x8", "float16", "dynamic")
IO_TYPES = ("int8", "uint8", "float32")
TARGETS = ("cpu", "edgetpu")
MAX_SEED = 2**32 - 1


def check_numbers(cfg: object) -> None:
    """Every number of a config finite and not negative (a recipe can say nan, inf or -4); seeds
    fit NumPy's; layer widths are 1 to 4096."""
    for f in dataclasses.fields(cfg):  # type: ignore[arg-type]
        value = getattr(cfg, f.name)
        for x in value if isinstance(value, tuple) else (value,):
            if isinstance(x, bool) or not isinstance(x, (int, float)):
                continue
            if not math.isfinite(x) or x < 0:
                raise ValueError(f"{f.name} must be a finite number of 0 or more, got {x!r}")
    if getattr(cfg, "seed", 0) > MAX_SEED:
        raise ValueError(f"seed must be at most {MAX_SEED}")
    if any(not 1 <= n <= 4096 for n in getattr(cfg, "filters", None) or ()):
        raise ValueError("filters must be layer widths from 1 to 4096")


@dataclass(frozen=True)
class TrainConfig:
    """How `edgecnn train` builds and fits a model."""

    data: str | None = None            # image folder or "digits"; the command line's DATA wins
    arch: str = "cnn"                  # "cnn" (conv/pool/dense) or "mobilenetv2"
    filters: tuple[int, ...] | None = None  # cnn: conv filters per block (each halves H and W); None = by size
    convs: int | None = None           # cnn: conv layers per block; None = by input size (see cnn_size)
    dense: int = 128                   # cnn: width of the hidden dense layer (0 = none)
    dropout: float = 0.3
    alpha: float = 0.35                # mobilenetv2 width multiplier
    weights: str | None = None         # mobilenetv2: None (random init) or "imagenet"
    height: int | None = None          # input size; None = the data set's own (digits: 8x8) or 64
    width: int | None = None
    color: str | None = None           # "rgb" or "gray"; None = detect from the images
    epochs: int = 60
    batch_size: int = 32
    learning_rate: float = 2e-3
    patience: int = 15                 # early stopping: epochs without improvement
    seed: int = 0
    val_fraction: float = 0.15
    test_fraction: float = 0.2
    shift: float = 0.1                 # augmentation: random translation, fraction of size
    rotate: float = 0.0                # augmentation: random rotation, fraction of a full turn
    zoom: float = 0.0                  # augmentation: random zoom, fraction
    flip: bool = False                 # augmentation: random horizontal flip
    contrast: float = 0.0              # augmentation: random contrast factor

    def __post_init__(self) -> None:
        check_numbers(self)
        if self.arch not in ARCHS:
            raise ValueError(f"arch must be one of {', '.join(ARCHS)}, got {self.arch!r}")
        if self.weights not in (None, "imagenet"):
            raise ValueError(f"weights must be 'imagenet' or absent, got {self.weights!r}")
        if self.color not in (None, "rgb", "gray"):
            raise ValueError(f"color must be 'rgb' or 'gray', got {self.color!r}")
        for name in ("epochs", "batch_size", "convs"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise ValueError(f"{name} must be 1 or more, got {getattr(self, name)}")
        for name in ("height", "width"):
            value = getattr(self, name)
            if value is not None and not 4 <= value <= 1024:
                raise ValueError(f"{name} must be between 4 and 1024 pixels, got {value}")
        if not (0 <= self.val_fraction < 1 and 0 < self.test_fraction < 1
                and self.val_fraction + self.test_fraction < 0.9):
            raise ValueError("need 0 <= val_fraction, 0 < test_fraction and val + test < 0.9")
        if not 0 <= self.dropout < 1 or not 0 < self.learning_rate <= 10 or not 0 < self.alpha <= 4:
            raise ValueError("need 0 <= dropout < 1, 0 < learning_rate <= 10 and 0 < alpha <= 4")


def cnn_size(height: int, width: int) -> tuple[tuple[int, ...], int]:
    """The default CNN for an input size: (filters per block, conv layers per block).

    Enough blocks to bring the feature map down to at most 4 pixels a side before the dense layer
    (a 64x64 input flattens 2,048 values, not 16,384: 0.36 M parameters instead of 2.2 M). Small
    inputs (up to 16 px, e.g. the 8x8 digits) are cheap: two convs a block from 32 filters. Larger
    ones get one conv a block from 16 filters, doubling to at most 128 (about 50 M multiply-adds at
    64x64, where two convs a block from 32 filters cost 190 M and learned no better on ORL faces).
    """
    side = min(height, width)
    blocks = max(2, math.ceil(math.log2(side / 4)))
    if side <= 16:
        return tuple(min(32 * 2**i, 256) for i in range(blocks)), 2
    return tuple(min(16 * 2**i, 128) for i in range(blocks)), 1


@dataclass(frozen=True)
class QuantizeConfig:
    """How `edgecnn quantize` converts a trained model."""

    mode: str = "int8"          # "int8" (full integer), "int16x8", "float16" or "dynamic" (int8 weights)
    io: str = "int8"            # int8 mode: input/output tensor type
    calib_samples: int = 500    # calibration images from the train split, balanced across classes
    min_per_class: int = 10     # warn when a class gets fewer calibration images than this
    target: str = "cpu"         # "cpu" or "edgetpu" (then the model must map fully to the Edge TPU)

    def __post_init__(self) -> None:
        check_numbers(self)
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if self.io not in IO_TYPES:
            raise ValueError(f"io must be one of {', '.join(IO_TYPES)}, got {self.io!r}")
        if self.target not in TARGETS:
            raise ValueError(f"target must be one of {', '.join(TARGETS)}, got {self.target!r}")
        if self.target == "edgetpu" and (self.mode != "int8" or self.io == "float32"):
            raise ValueError("target edgetpu needs mode int8 with io int8 or uint8 (the Edge TPU runs "
                             "integer tensors only)")
        if self.calib_samples < 1 or self.min_per_class < 0:
            raise ValueError("calib_samples must be 1 or more and min_per_class 0 or more")

    @property
    def filename(self) -> str:
        """Model file name in the run folder: model_int8.tflite, model_int8_uint8io.tflite, ..."""
        if self.mode == "int8" and self.io != "int8":
            return f"model_int8_{self.io}io.tflite"
        return f"model_{self.mode}.tflite"


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
    detect: bool = True  # train on detected (BlazeFace), levelled crops: the device's own framing
    shift: float = 0.1  # detected crops wander by a few pixels: train for it
    zoom: float = 0.1

    def __post_init__(self) -> None:
        check_numbers(self)
        if self.pooling not in ("flatten", "gap"):
            raise ValueError(f"pooling must be 'flatten' or 'gap', got {self.pooling!r}")
        if self.dim < 2 or self.epochs < 1 or self.batch_size < 1 or not 0 <= self.margin < 1:
            raise ValueError("need dim >= 2, epochs >= 1, batch_size >= 1 and 0 <= margin < 1")


@dataclass(frozen=True)
class DetectConfig:
    """How `edgecnn train` builds and fits a detector (the task comes from the data, or --task)."""

    data: str | None = None
    height: int = 96
    width: int = 96
    color: str = "rgb"
    filters: tuple[int, ...] = (16, 32, 48, 64)  # widths at strides 2, 4, 8, 16
    head: int = 32
    epochs: int = 40
    batch_size: int = 16
    learning_rate: float = 2e-3
    patience: int = 10
    seed: int = 0
    val_fraction: float = 0.1
    test_fraction: float = 0.2
    flip: bool = True
    zoom: float = 0.25            # augmentation: random scale, fraction (boxes move with the pixels)
    shift: float = 0.15           # augmentation: random shift, fraction of the size

    def __post_init__(self) -> None:
        check_numbers(self)
        if self.color not in ("rgb", "gray"):
            raise ValueError(f"color must be 'rgb' or 'gray', got {self.color!r}")
        if len(self.filters) != 4:
            raise ValueError("a detector needs 4 filter widths (strides 2, 4, 8, 16)")
        for name in ("height", "width"):
            value = getattr(self, name)
            if not 32 <= value <= 1024 or value % 16:
                raise ValueError(f"{name} must be a multiple of 16 between 32 and 1024, got {value}")
        if self.epochs < 1 or self.batch_size < 1 or not 0 < self.learning_rate <= 10:
            raise ValueError("need epochs >= 1, batch_size >= 1 and 0 < learning_rate <= 10")
        if not (0 <= self.val_fraction < 1 and 0 < self.test_fraction < 1
                and self.val_fraction + self.test_fraction < 0.9):
            raise ValueError("need 0 <= val_fraction, 0 < test_fraction and val + test < 0.9")
