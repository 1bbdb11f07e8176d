"""Frozen-dataclass configuration with TOML recipes: unknown keys are refused with a hint."""

from __future__ import annotations

import dataclasses
import difflib
import tomllib
import types
import typing
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from edgecnn.errors import EdgeCNNUsageError

C = TypeVar("C")
KINDS = ("train", "quantize")


def presets(kind: str) -> dict[str, Path]:
    """The recipes shipped in the package for `kind` ("train" or "quantize"), by name."""
    folder = resources.files("edgecnn.workstation") / "presets" / kind
    return {Path(str(p)).stem: Path(str(p)) for p in folder.iterdir() if str(p).endswith(".toml")}


def find_recipe(text: str | Path, kind: str) -> Path:
    """A recipe file: a path that exists, or the name of a shipped recipe ("faces", "int8")."""
    path = Path(text)
    if path.is_file():
        return path
    known = presets(kind)
    name = path.name.removesuffix(".toml")
    if name in known and (len(path.parts) == 1 or path.parent.name == kind):  # "faces", train/faces.toml
        return known[name]
    raise EdgeCNNUsageError(f"recipe not found: {text} (a TOML file, or one of the shipped {kind} recipes: "
                            f"{', '.join(sorted(known))})")


def read_recipe(text: str | Path | None, kind: str) -> dict[str, Any]:
    """The values of recipe `text` (a path or a shipped name); {} when none is given."""
    return read_toml(find_recipe(text, kind)) if text else {}


def read_toml(path: str | Path) -> dict[str, Any]:
    """Parse a TOML recipe; one usage error if it is missing or malformed."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise EdgeCNNUsageError(f"recipe not found: {path}") from None
    except OSError as exc:
        raise EdgeCNNUsageError(f"cannot read recipe {path}: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise EdgeCNNUsageError(f"recipe {path} is not valid TOML: {exc}") from None


def check_keys(values: Mapping[str, Any], allowed: Iterable[str], source: str) -> None:
    """Refuse unknown keys, suggesting the closest known one."""
    allowed = sorted(allowed)
    for key in values:
        if key not in allowed:
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(allowed)})"
            raise EdgeCNNUsageError(f"{source}: unknown key {key!r}{hint}")


def build(cls: type[C], values: Mapping[str, Any], source: str) -> C:
    """Make the dataclass `cls` from `values`, checking keys and coercing simple types."""
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    check_keys(values, fields, source)
    hints = typing.get_type_hints(cls)
    kwargs = {k: _coerce(v, hints[k], f"{source}: {k}") for k, v in values.items()}
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise EdgeCNNUsageError(f"{source}: {exc}") from None


def _coerce(value: Any, hint: Any, where: str) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if value is None:
        return None
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return _coerce(value, inner[0], where) if len(inner) == 1 else value
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise EdgeCNNUsageError(f"{where} must be a list, got {value!r}")
        return tuple(_coerce(v, args[0], where) for v in value)
    if hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if hint in (int, str, bool) and not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
        raise EdgeCNNUsageError(f"{where} must be {hint.__name__}, got {value!r}")
    return value


def merge(recipe: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Recipe values, then every override that is not None (command-line options win)."""
    out = dict(recipe)
    out.update({k: v for k, v in overrides.items() if v is not None})
    return out
