"""The model card: everything the device needs to run a model, and how it was made.

A card travels as `card.json` in a run folder and, embedded in the .tflite
metadata under the name ``edgecnn_card``, inside the model file itself.
Device side: standard library only.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from edgecnn.errors import EdgeCNNError, read_file

if TYPE_CHECKING:
    from pathlib import Path

CARD_FORMAT = "edgecnn-card/1"
METADATA_NAME = "edgecnn_card"
COLORS = ("rgb", "gray")
RESIZES = ("area", "bilinear", "nearest")
# What the model's output means: class scores, a face embedding, or detections (boxes).
TASKS = ("classifier", "embedding", "detector")
_CORE_KEYS = {"format", "name", "task", "labels", "input", "preprocessing"}
MAX_DEPTH = 16  # cards are shallow; a deeply nested one is hostile (and would exhaust the stack)
# Sections the device reads, with the range of each number in them.
DEVICE_SECTIONS: dict[str, dict[str, tuple[float, float]]] = {
    "face_crop": {"widen": (0.5, 4.0), "tall": (0.5, 4.0), "lift": (-1.0, 1.0), "max_angle": (0.0, 90.0)},
    "detector": {"classes": (1, 10_000), "stride": (1, 64)},
}


class InputSpec(NamedTuple):
    """What the model expects: an image of height x width x channels."""

    height: int
    width: int
    channels: int
    dtype: str = "uint8"


class Preprocessing(NamedTuple):
    """How a uint8 image becomes the model's float input: x = (pixel * scale - mean) / std."""

    scale: float = 1.0 / 255.0
    mean: tuple[float, ...] = (0.0,)
    std: tuple[float, ...] = (1.0,)
    color: str = "rgb"
    resize: str = "area"


@dataclass(frozen=True)
class Card:
    """Labels, input spec and preprocessing, plus free-form sections (dataset, metrics, ...)."""

    labels: tuple[str, ...]
    input: InputSpec
    preprocessing: Preprocessing
    name: str = "model"
    sections: Mapping[str, Any] = field(default_factory=dict)
    task: str = "classifier"

    @property
    def num_classes(self) -> int:
        return len(self.labels)

    def with_section(self, key: str, value: Any) -> "Card":
        """Return a copy with one free-form section set (for instance "quantization")."""
        if key in _CORE_KEYS:
            raise ValueError(f"{key!r} is a core card field, not a section")
        sections = dict(self.sections)
        sections[key] = value
        return dataclasses.replace(self, sections=sections)

    def to_dict(self) -> dict[str, Any]:
        pre = self.preprocessing._asdict()
        pre["mean"], pre["std"] = list(pre["mean"]), list(pre["std"])
        out: dict[str, Any] = {
            "format": CARD_FORMAT,
            "name": self.name,
            "task": self.task,
            "labels": list(self.labels),
            "input": self.input._asdict(),
            "preprocessing": pre,
        }
        out.update(self.sections)
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "card") -> "Card":
        """Validate and build a card; a bad card raises EdgeCNNError naming `source`."""
        try:
            if data.get("format") != CARD_FORMAT:
                raise ValueError(f"format is {data.get('format')!r}, expected {CARD_FORMAT!r}")
            _check_depth(data, MAX_DEPTH)
            spec = InputSpec(**_section(data, "input"))
            spec = InputSpec(_int(spec.height, "input.height", 1, 8192), _int(spec.width, "input.width", 1, 8192),
                             _int(spec.channels, "input.channels", 1, 3), str(spec.dtype))
            pre = dict(_section(data, "preprocessing"))
            pre["scale"] = _number(pre.get("scale", 1 / 255), "preprocessing.scale")
            pre["mean"] = tuple(_number(v, "preprocessing.mean") for v in _list(pre.get("mean", (0.0,)), "mean"))
            pre["std"] = tuple(_number(v, "preprocessing.std") for v in _list(pre.get("std", (1.0,)), "std"))
            prep = Preprocessing(**pre)
            if not isinstance(data.get("labels"), list) or any(isinstance(x, (dict, list)) for x in data["labels"]):
                raise ValueError("labels must be a list of strings")
            labels = tuple(str(x) for x in data["labels"])
            task = str(data.get("task", "classifier"))
            _validate(spec, prep, labels, task)
            for name, ranges in DEVICE_SECTIONS.items():
                if name in data:
                    _check_ranges(_section(data, name), name, ranges)
        except (KeyError, TypeError, ValueError, RecursionError) as exc:
            raise EdgeCNNError(f"{source} is not a valid edgecnn card: {exc}") from None
        sections = {k: v for k, v in data.items() if k not in _CORE_KEYS}
        return cls(labels, spec, prep, str(data.get("name", "model")), sections, task)

    @classmethod
    def from_json(cls, text: str | bytes, source: str = "card") -> "Card":
        try:
            data = json.loads(text)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise EdgeCNNError(f"{source} is not valid JSON: {str(exc)[:200]}") from None
        if not isinstance(data, dict):
            raise EdgeCNNError(f"{source} is not a valid edgecnn card: expected a JSON object")
        return cls.from_dict(data, source)

    @classmethod
    def load(cls, path: str | Path) -> "Card":
        return cls.from_json(read_file(path, "card"), str(path))


def _validate(spec: InputSpec, pre: Preprocessing, labels: tuple[str, ...], task: str) -> None:
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    if min(spec.height, spec.width) < 1 or spec.channels not in (1, 3):
        raise ValueError(f"input must be HxWx1 or HxWx3, got {spec}")
    if pre.color not in COLORS:
        raise ValueError(f"preprocessing.color must be one of {COLORS}, got {pre.color!r}")
    if (pre.color == "gray") != (spec.channels == 1):
        raise ValueError(f"colour {pre.color!r} does not match {spec.channels} input channel(s)")
    if pre.resize not in RESIZES:
        raise ValueError(f"preprocessing.resize must be one of {RESIZES}, got {pre.resize!r}")
    if any(s == 0 for s in pre.std):
        raise ValueError("preprocessing.std must not contain 0")
    for name in ("mean", "std"):
        if len(getattr(pre, name)) not in (1, spec.channels):
            raise ValueError(f"preprocessing.{name} needs 1 or {spec.channels} values")
    if len(labels) < (1 if task == "detector" else 2):
        raise ValueError(f"a {task} card needs at least {1 if task == 'detector' else 2} labels")


def _section(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data[key]
    if not isinstance(value, Mapping):
        raise ValueError(f"{key} must be an object, got {type(value).__name__}")
    return value


def _list(value: Any, name: str) -> list[Any]:
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"preprocessing.{name} must be a list of numbers")
    return list(value)


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def _int(value: Any, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} must be a whole number from {low} to {high}, got {value!r}")
    return value


def _check_ranges(section: Mapping[str, Any], name: str, ranges: dict[str, tuple[float, float]]) -> None:
    for key, (low, high) in ranges.items():
        if key in section and not low <= _number(section[key], f"{name}.{key}") <= high:
            raise ValueError(f"{name}.{key} must be between {low:g} and {high:g}, got {section[key]!r}")


def _check_depth(value: Any, limit: int) -> None:
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            raise ValueError(f"nested more than {limit} levels deep")
        if isinstance(item, Mapping):
            stack += [(v, depth + 1) for v in item.values()]
        elif isinstance(item, list):
            stack += [(v, depth + 1) for v in item]
