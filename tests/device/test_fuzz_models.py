"""Fuzzed model files through `inspect` (the flatbuffer reader) and `classify` (the interpreter):
every mutation ends in a result or one EdgeCNNError, never a traceback, a crash or a hang.
Bounded: a fixed number of seeded mutations, a few seconds each way."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from conftest import shared

from edgecnn.errors import EdgeCNNError
from edgecnn.runtime.describe import inspect_model

INSPECT_CASES = 600
CLASSIFY_CASES = 200


def mutate(data: bytes, seed: int) -> bytes:
    """One seeded corruption: bit flips, a overwritten run, a truncation or a scrambled offset."""
    rng = np.random.default_rng(seed)
    buf = bytearray(data)
    kind = seed % 4
    if kind == 0:
        for pos in rng.integers(0, len(buf), int(rng.integers(1, 17))):
            buf[pos] ^= 1 << int(rng.integers(0, 8))
    elif kind == 1:
        start = int(rng.integers(0, len(buf) - 64))
        buf[start:start + int(rng.integers(1, 64))] = rng.bytes(int(rng.integers(1, 64)))
    elif kind == 2:
        buf = buf[: int(rng.integers(0, len(buf)))]
    else:  # a table offset or vector length in the first 4 kB pointed somewhere absurd
        pos = int(rng.integers(0, 4096 // 4)) * 4
        buf[pos:pos + 4] = int(rng.integers(0, 2**32)).to_bytes(4, "little")
    return bytes(buf)


@pytest.fixture(scope="module")
def original() -> bytes:
    return shared("coral", "mobilenet_v1_0.25_128_quant.tflite").read_bytes()


def test_fuzzed_models_through_inspect(original: bytes, tmp_path: Path, report_metric) -> None:
    outcomes = {"read": 0, "one clear error": 0}
    for seed in range(INSPECT_CASES):
        path = tmp_path / f"m{seed}.tflite"
        path.write_bytes(mutate(original, seed))
        try:
            inspect_model(path).to_dict()
            outcomes["read"] += 1
        except EdgeCNNError as exc:
            assert "\n" not in str(exc), str(exc)
            outcomes["one clear error"] += 1
        path.unlink()
    report_metric(f"fuzz, inspect: {INSPECT_CASES} mutated models -> {outcomes}")


CHILD = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    from edgecnn.errors import EdgeCNNError
    from edgecnn.runtime import Classifier
    image = sys.argv[1]
    for path in sys.argv[2:]:
        print(json.dumps({"case": path, "state": "start"}), flush=True)
        try:
            Classifier(path, threads=1).classify_file(image)
            state = "ran"
        except EdgeCNNError as exc:
            state = "error" if "\\n" not in str(exc) else "multi-line error"
        print(json.dumps({"case": path, "state": state}), flush=True)
""")


def test_fuzzed_models_through_classify(original: bytes, tmp_path: Path, report_metric) -> None:
    paths = []
    for seed in range(CLASSIFY_CASES):
        paths.append(tmp_path / f"m{seed}.tflite")
        paths[-1].write_bytes(mutate(original, 10_000 + seed))
    proc = subprocess.run([sys.executable, "-c", CHILD, str(shared("coral", "cat.bmp")), *map(str, paths)],
                          capture_output=True, text=True, timeout=300)
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    finished = [e for e in events if e["state"] != "start"]
    last = events[-1]["case"] if events else None
    assert proc.returncode == 0, f"the interpreter died ({proc.returncode}) on {last}: {proc.stderr[-1500:]}"
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert len(finished) == CLASSIFY_CASES and all(e["state"] in ("ran", "error") for e in finished)
    counts = {s: sum(e["state"] == s for e in finished) for s in ("ran", "error")}
    report_metric(f"fuzz, classify: {CLASSIFY_CASES} mutated models -> {counts}, no crash, no hang")
