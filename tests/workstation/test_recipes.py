"""Recipes: shipped ones parse, defaults match the digits recipe, typos are caught."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import REPO

from edgecnn.errors import EdgeCNNUsageError
from edgecnn.workstation.config import DetectConfig, QuantizeConfig, TrainConfig
from edgecnn.workstation.recipes import build, read_toml


def test_digits_recipe_is_the_builtin_default() -> None:
    assert build(TrainConfig, read_toml(REPO / "train" / "digits.toml"), "digits.toml") == TrainConfig(data="digits")


@pytest.mark.parametrize("path", sorted((REPO / "train").glob("*.toml")), ids=lambda p: p.name)
def test_train_recipes_parse(path: Path) -> None:
    """Each shipped training recipe is a classifier recipe or a detector recipe (never neither)."""
    parsed = []
    for config in (TrainConfig, DetectConfig):
        try:
            parsed.append(build(config, read_toml(path), path.name))
        except EdgeCNNUsageError:
            pass
    assert len(parsed) == 1, path.name


@pytest.mark.parametrize("path", sorted((REPO / "quantize").glob("*.toml")), ids=lambda p: p.name)
def test_quantize_recipes_parse(path: Path) -> None:
    build(QuantizeConfig, read_toml(path), path.name)


def test_unknown_key_gets_a_suggestion() -> None:
    with pytest.raises(EdgeCNNUsageError, match="did you mean 'learning_rate'"):
        build(TrainConfig, {"learning_rte": 0.1}, "r.toml")


def test_wrong_types_and_values_are_refused() -> None:
    with pytest.raises(EdgeCNNUsageError, match="epochs must be int"):
        build(TrainConfig, {"epochs": "ten"}, "r.toml")
    with pytest.raises(EdgeCNNUsageError, match="arch must be one of"):
        build(TrainConfig, {"arch": "resnet"}, "r.toml")
    with pytest.raises(EdgeCNNUsageError, match="io must be one of"):
        build(QuantizeConfig, {"io": "int4"}, "q.toml")


def test_malformed_toml(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("epochs = = 3")
    with pytest.raises(EdgeCNNUsageError, match="not valid TOML"):
        read_toml(bad)
