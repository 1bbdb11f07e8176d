"""A crash or Ctrl-C in the middle of train or quantize leaves no half-written artifact."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("tensorflow", reason="workstation tests need pip install 'edgecnn[train]'")


def _interrupt_when(cmd: list[str], marker: str, timeout: float = 120.0) -> tuple[int, str]:
    """Start `cmd`, send SIGINT once `marker` shows on stderr, return (exit code, stderr)."""
    # A shell without job control starts background jobs with SIGINT ignored, and Python keeps an
    # ignored SIGINT ignored: a suite run as `bash tests/run.sh &` would see Ctrl-C do nothing (the
    # run trains all its epochs). The child gets SIGINT's default back, as a terminal's Ctrl-C finds it.
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"},
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    seen, deadline = [], time.monotonic() + timeout
    assert proc.stderr is not None
    for line in proc.stderr:
        seen.append(line)
        if marker in line or time.monotonic() > deadline:
            proc.send_signal(signal.SIGINT)
            break
    rest = proc.stderr.read()
    return proc.wait(timeout=60), "".join(seen) + rest


def test_ctrl_c_during_training_leaves_nothing(tmp_path: Path) -> None:
    out = tmp_path / "run"
    code, err = _interrupt_when([sys.executable, "-m", "edgecnn", "train", "digits", "--out", str(out),
                                 "--epochs", "500", "--patience", "500"], "epoch 1/")
    assert code == 130, err
    assert "Traceback" not in err
    assert [ln for ln in err.splitlines() if ln.startswith("error:")] == [
        "error: interrupted; nothing half-written was left behind"]
    leftovers = sorted(p.name for p in out.iterdir()) if out.exists() else []
    assert not [n for n in leftovers if n in ("model.keras", "card.json") or ".tmp" in n], leftovers


def test_first_ctrl_c_waits_for_the_batch_end_and_the_second_does_not() -> None:
    from edgecnn.workstation.interrupt import batch_boundary_interrupts

    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt), batch_boundary_interrupts() as stopper:
        stopper.on_train_batch_end(0)  # nothing pressed: goes on
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)  # the handler runs here, in Python, and only sets the flag
        assert stopper.pressed.is_set()
        with pytest.raises(KeyboardInterrupt):
            stopper.on_train_batch_end(1)
        with pytest.raises(KeyboardInterrupt):  # a second Ctrl-C does not wait for a batch
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)
    # pressed but the block ended before a batch boundary looked: still interrupted (the outer raises)
    assert signal.getsignal(signal.SIGINT) is before


def test_ctrl_c_before_the_first_batch_is_taken_too(tmp_path: Path) -> None:
    out = tmp_path / "run"
    code, err = _interrupt_when([sys.executable, "-m", "edgecnn", "train", "digits", "--out", str(out),
                                 "--epochs", "500", "--patience", "500"], "training")
    assert code == 130, err
    assert "Traceback" not in err
    assert not (out / "model.keras").exists()


def test_failure_while_saving_leaves_previous_artifacts_intact(tmp_path: Path, monkeypatch) -> None:
    from edgecnn import atomic

    target = tmp_path / "model.tflite"
    target.write_bytes(b"previous good model")
    with pytest.raises(KeyboardInterrupt), atomic.atomic_path(target) as tmp:
        tmp.write_bytes(b"half")
        raise KeyboardInterrupt
    assert target.read_bytes() == b"previous good model"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.tflite"]


def test_crash_during_quantize_keeps_old_model(tmp_path: Path, monkeypatch) -> None:
    from edgecnn.workstation.config import QuantizeConfig, TrainConfig
    from edgecnn.workstation.quantize import run as quantization
    from edgecnn.workstation.training import train

    out = tmp_path / "run"
    train("digits", out, TrainConfig(data="digits", epochs=1))
    quantization.quantize_run(out, QuantizeConfig(calib_samples=20))
    before = (out / "model_int8.tflite").read_bytes()

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(quantization, "with_card", boom)
    with pytest.raises(KeyboardInterrupt):
        quantization.quantize_run(out, QuantizeConfig(calib_samples=20))
    assert (out / "model_int8.tflite").read_bytes() == before
    assert not [p.name for p in out.iterdir() if ".tmp" in p.name]
