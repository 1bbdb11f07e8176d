"""Workstation fixtures shared by several test modules."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

SHAPES_EPOCHS = 20


@pytest.fixture(scope="session")
def shapes_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The shapes detector trained, quantized for the Edge TPU and checked by parity, through the CLI."""
    from edgecnn.cli import main

    run = tmp_path_factory.mktemp("detector") / "run"
    timings = {}
    train = ["train", "shapes", "--recipe", "shapes", "--epochs", str(SHAPES_EPOCHS), "--out", run]
    for name, args in (("train", train),
                       ("quantize", ["quantize", run, "--target", "edgetpu"]),
                       ("parity", ["parity", run, "--json", run / "parity_copy.json"])):
        start = time.perf_counter()
        with pytest.raises(SystemExit) as done:
            main([str(a) for a in args])
        assert done.value.code == 0, name
        timings[name] = time.perf_counter() - start
    return {"run": run, "parity": json.loads((run / "parity.json").read_text()), "seconds": timings,
            "epochs": SHAPES_EPOCHS}


@pytest.fixture(scope="session")
def digits_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A digits run folder trained with the quick-start defaults and quantized to int8."""
    from edgecnn.workstation.config import QuantizeConfig, TrainConfig
    from edgecnn.workstation.quantize.run import quantize_run
    from edgecnn.workstation.training import train

    out = tmp_path_factory.mktemp("runs") / "digits"
    train("digits", out, TrainConfig(data="digits"))
    quantize_run(out, QuantizeConfig())
    return out
