"""The user's first hour (issue 11): the default training learns a small folder of real faces, a
model that learned nothing is called useless by `train` and `parity` (exit 1), wrong data is
answered before TensorFlow loads, and the commands print no library noise."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import error_lines, shared

pytest.importorskip("tensorflow", reason="workstation tests need pip install 'edgecnn[train]'")

CLI = "import sys; from edgecnn.cli import main; main(sys.argv[1:])"
# Lines TensorFlow, absl, XNNPACK, NumPy or the converter print on their own; none may reach the user.
NOISE = ("fully_quantize", "inference_type", "XNNPACK", "node_def_util", "deprecat", "Deprecat", "WARNING:",
         "I0000", "W0000", "E0000", "absl", "RuntimeWarning", "UserWarning", "oneDNN", "cuda", "Traceback")


def people_folder(dest: Path, people: range, shuffle_seed: int | None = None) -> Path:
    """ORL people s<i> as class folders (links, nothing copied); with `shuffle_seed`, the 10 images of
    each folder are drawn at random from all the people: labels that mean nothing."""
    faces = shared("att_faces")
    files = [faces / f"s{i}" / f"{j}.pgm" for i in people for j in range(1, 11)]
    if shuffle_seed is not None:
        random.Random(shuffle_seed).shuffle(files)
    for k, f in enumerate(files):
        folder = dest / (f"c{k // 10}" if shuffle_seed is not None else f.parent.name)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / (f"{k % 10}.pgm" if shuffle_seed is not None else f.name)).symlink_to(f)
    return dest


def edgecnn(*args: object, cwd: Path) -> subprocess.CompletedProcess:
    """`edgecnn ARGS` in a fresh process: what a user's terminal shows, C++ libraries' output included."""
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "TF_ENABLE_ONEDNN_OPTS")}
    return subprocess.run([sys.executable, "-c", CLI, *map(str, args)], capture_output=True, text=True,
                          timeout=900, cwd=cwd, env=env)


@pytest.mark.slow
@pytest.mark.parametrize("people, seed", [(range(1, 11), 0), (range(11, 21), 3)], ids=["s1-s10", "s11-s20"])
def test_default_training_learns_ten_people(run_cli, tmp_path: Path, people: range, seed: int,
                                            report_metric) -> None:
    data = people_folder(tmp_path / "people", people)
    run = tmp_path / "run"
    r = run_cli("train", data, "--out", run, "--seed", seed, "--json")
    assert r.code == 0, r.err
    summary = json.loads(r.out)
    card = json.loads((run / "card.json").read_text())
    assert summary["test_accuracy"] >= 0.9, summary
    assert summary["chance"]["above_chance"] is True and summary["chance"]["chance"] == pytest.approx(0.1)
    assert card["model"]["filters"] == [16, 32, 64, 128] and card["model"]["convs"] == 1  # sized for 64x64
    assert (run / "model.keras").stat().st_size < 3_000_000  # no optimizer state, 0.36 M parameters
    assert (run / "train_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    kept, ran = card["training"]["kept_epoch"], card["training"]["epochs_run"]
    assert f"kept epoch {kept}" in summary["stopped"] and 1 <= kept <= ran
    report_metric(f"ORL s{people[0]}-s{people[-1]}, defaults, seed {seed}: test {summary['test_accuracy'] * 100:.1f} % "
                  f"(val {summary['val_accuracy'] * 100:.1f} %), {summary['stopped']}, {summary['seconds']} s")


def test_untrainable_run_is_called_useless_by_train_and_parity(tmp_path: Path, report_metric) -> None:
    data = people_folder(tmp_path / "shuffled", range(1, 11), shuffle_seed=0)
    run = tmp_path / "run"
    train = edgecnn("train", data, "--out", run, cwd=tmp_path)
    assert train.returncode == 1, train.stderr
    assert len(error_lines(train.stderr)) == 1 and "no better than chance" in error_lines(train.stderr)[0]
    assert train.stderr.count("no better than chance") == 1  # said once, as the error
    assert "next:" not in train.stdout
    card = json.loads((run / "card.json").read_text())  # the run is kept for a look
    assert card["metrics"]["float"]["above_chance"] is False
    quantize = edgecnn("quantize", run, cwd=tmp_path)
    assert quantize.returncode == 0, quantize.stderr
    assert "next: edgecnn parity" in quantize.stdout
    parity = edgecnn("parity", run, "--json", "-", cwd=tmp_path)
    assert parity.returncode == 1, parity.stderr
    report = json.loads(parity.stdout)
    assert report["float"]["above_chance"] is False and report["passed"] is False
    assert report["drop_pp"] <= report["max_drop_pp"]  # the drop alone would have passed it
    assert len(error_lines(parity.stderr)) == 1 and "float model is useless" in error_lines(parity.stderr)[0]
    assert "no better than chance" in (run / "parity.md").read_text()
    for step in (train, quantize, parity):
        noise = [ln for ln in step.stderr.splitlines() if any(n.lower() in ln.lower() for n in NOISE)]
        assert not noise, noise
    assert sum("calibration image" in ln for ln in quantize.stdout.splitlines()) <= 1  # one line, not one a class
    report_metric(f"shuffled labels (ORL s1-s10): train exit {train.returncode}, test "
                  f"{card['metrics']['float']['test_accuracy'] * 100:.0f} % vs chance 10 %; parity exit "
                  f"{parity.returncode}, p(chance) {report['float']['p_chance']:.2f}")


PROBE = r"""
import json, sys, time
start = time.perf_counter()
from edgecnn.cli import main
try:
    main(sys.argv[1:])
    code = 0
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "tensorflow": "tensorflow" in sys.modules, "keras": "keras" in sys.modules,
                  "seconds": time.perf_counter() - start}))
"""


@pytest.mark.parametrize("case, code, fragment", [("missing path", 2, "data not found"),
                                                  ("one class", 1, "only one class"),
                                                  ("existing --out", 2, "already holds a trained model")])
def test_wrong_data_is_answered_before_tensorflow(tmp_path: Path, case: str, code: int, fragment: str,
                                                  report_metric) -> None:
    (tmp_path / "one" / "cats").mkdir(parents=True)
    (tmp_path / "one" / "cats" / "a.png").write_bytes(b"x")
    (tmp_path / "done").mkdir()
    (tmp_path / "done" / "model.keras").write_bytes(b"x")
    (tmp_path / "done" / "card.json").write_text("{}")
    data, out = {"missing path": ("nowhere", "run"), "one class": ("one", "run"),
                 "existing --out": ("digits", "done")}[case]
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", PROBE, "train", data, "--out", out], capture_output=True,
                          text=True, timeout=120, cwd=tmp_path)
    wall = time.perf_counter() - start
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["code"] == code and len(error_lines(proc.stderr)) == 1, proc.stderr
    assert fragment in error_lines(proc.stderr)[0]
    assert result["tensorflow"] is False and result["keras"] is False  # why it is fast, whatever the load
    report_metric(f"wrong DATA ({case}): error after {wall:.2f} s wall from process start "
                  f"({result['seconds']:.2f} s inside the CLI), TensorFlow never imported")
