"""Training across worker processes (tf.distribute MultiWorkerMirroredStrategy over TF_CONFIG on
127.0.0.1): the same model quality and run folder as one process, resumption after a worker dies,
and one clear line for a malformed cluster, a missing worker or a port in use."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import assert_one_clear_error

pytest.importorskip("tensorflow", reason="workstation tests need pip install 'edgecnn[train]'")

from edgecnn.card import Card
from edgecnn.workstation.distribute.cluster import free_ports, local_tf_config

RUN_FILES = {"model.keras", "card.json", "split.json", "train_history.json", "train_curves.png"}


def _edgecnn(*args: object, env: dict | None = None, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "edgecnn", *map(str, args)], env={**os.environ, **(env or {})},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)


def _accuracy(run: Path) -> float:
    return Card.load(run / "card.json").sections["metrics"]["float"]["test_accuracy"]


def test_two_workers_through_tf_config_match_one_process(digits_run: Path, tmp_path: Path, run_cli,
                                                         report_metric) -> None:
    """Two workers started by hand, each with its TF_CONFIG (what Slurm or Kubernetes would do),
    against the one-process quick-start run: same seed, same global batch (32)."""
    out = tmp_path / "two"
    ports = free_ports(2)
    start = time.perf_counter()
    procs = [_edgecnn("train", "digits", "--out", out, "--distribute", "multiworker",
                      env={"TF_CONFIG": local_tf_config(ports, rank)}) for rank in range(2)]
    logs = [p.communicate(timeout=900)[0] for p in procs]
    seconds = time.perf_counter() - start
    assert [p.returncode for p in procs] == [0, 0], logs
    assert {p.name for p in out.iterdir()} >= RUN_FILES, "the chief writes the run folder"
    assert not (out / ".resume").exists(), "the checkpoint goes when training ends"
    card = Card.load(out / "card.json")
    dist = card.sections["training"]["distribute"]
    assert (dist["strategy"], dist["workers"], dist["replicas"], dist["global_batch_size"],
            dist["per_replica_batch_size"]) == ("multiworker", 2, 2, 32, 16)
    one, two = _accuracy(digits_run), _accuracy(out)
    assert abs(two - one) <= 0.01, (one, two)

    assert run_cli("quantize", out).code == 0
    drops = []
    for run in (digits_run, out):  # the same budget (the default 1 pp) for both
        gate = run_cli("parity", run, "--json", "-")
        assert gate.code == 0, gate.err
        drops.append(json.loads(gate.out)["drop_pp"])
    report_metric(f"distribute: digits test accuracy 1 process {one * 100:.2f} %, 2 workers {two * 100:.2f} % "
                  f"(2 workers trained in {seconds:.0f} s wall); int8 drop 1 process {drops[0]:.2f} pp, "
                  f"2 workers {drops[1]:.2f} pp")


def test_a_killed_worker_is_restarted_and_training_resumes(tmp_path: Path, report_metric) -> None:
    out = tmp_path / "run"
    epochs = 8
    tmp = tmp_path / "tmp"  # the launcher's own temporary folder (the other workers' logs)
    tmp.mkdir()
    launcher = _edgecnn("train", "digits", "--out", out, "--workers", "2", "--restarts", "1", "--epochs", epochs,
                        "--patience", 100, start_new_session=True, env={"TMPDIR": str(tmp)})
    lines: list[str] = []
    state = out / ".resume" / "state.json"
    try:
        pid = None
        for line in launcher.stdout:
            lines.append(line)
            if m := re.search(r"worker 1: pid (\d+)", line):
                pid = int(m.group(1))
                break
        assert pid, lines
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:  # kill once a checkpoint after epoch 2 or later exists
            try:
                if json.loads(state.read_text())["epoch"] >= 2:
                    break
            except (OSError, ValueError, KeyError):
                pass
            time.sleep(0.1)
        saved = json.loads(state.read_text())["epoch"]
        os.kill(pid, signal.SIGKILL)
        rest, _ = launcher.communicate(timeout=900)
        lines += rest.splitlines(keepends=True)
    finally:
        if launcher.poll() is None:
            os.killpg(launcher.pid, signal.SIGKILL)
    log = "".join(lines)
    assert launcher.returncode == 0, log[-3000:]
    assert "worker 1 exited with signal SIGKILL; starting all 2 workers again" in log, log[-3000:]
    resumed = [int(m) for m in re.findall(r"resumed after epoch (\d+)", log)]
    assert resumed and resumed[0] >= saved, (saved, log[-3000:])
    assert log.count(f"epoch 1/{epochs}:") == 1, "the first epoch ran once: the restart did not start over"
    history = json.loads((out / "train_history.json").read_text())
    assert len(history["loss"]) == epochs
    assert {p.name for p in out.iterdir()} >= RUN_FILES and not (out / ".resume").exists()
    assert not [p for p in out.rglob("*") if ".tmp" in p.name]
    assert not list(tmp.glob("edgecnn-workers-*")), "the workers' log folder goes when training succeeds"
    report_metric(f"distribute: worker 1 killed after the checkpoint of epoch {saved}; resumed after epoch "
                  f"{resumed[0]}, {epochs} epochs in the history, test accuracy {_accuracy(out) * 100:.2f} %")


@pytest.mark.parametrize("config, fragment", [
    ("{not json", "TF_CONFIG is malformed: not JSON"),
    ('{"cluster": {"worker": ["127.0.0.1:1"]}, "task": {"type": "worker", "index": 3}}', "task index 3"),
    ('{"cluster": {"ps": ["127.0.0.1:1"]}, "task": {"type": "ps", "index": 0}}', "'ps' is not supported"),
    ('{"cluster": {"worker": ["nowhere"]}, "task": {"type": "worker", "index": 0}}', "'nowhere' is not host:port"),
], ids=["json", "index", "ps", "address"])
def test_malformed_tf_config_is_one_line_before_tensorflow(config: str, fragment: str, tmp_path: Path) -> None:
    code = ("import sys; from edgecnn.cli import main\n"
            "try:\n    main(sys.argv[1:])\nexcept SystemExit as e:\n"
            "    print('tensorflow' in sys.modules, file=sys.stderr); raise")
    r = subprocess.run([sys.executable, "-c", code, "train", "digits", "--out", str(tmp_path / "r")],
                       env={**os.environ, "TF_CONFIG": config}, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and r.stderr.splitlines()[-1] == "False", r.stderr
    from conftest import Result

    assert_one_clear_error(Result(r.returncode, r.stdout, "\n".join(r.stderr.splitlines()[:-1])), 2, fragment)
    assert not (tmp_path / "r").exists()


def test_missing_worker_and_port_in_use_are_one_line(tmp_path: Path) -> None:
    own, absent = free_ports(2)
    config = json.dumps({"cluster": {"worker": [f"127.0.0.1:{own}", f"127.0.0.1:{absent}"]},
                         "task": {"type": "worker", "index": 0}})
    r = _edgecnn("train", "digits", "--out", tmp_path / "r", "--connect-timeout", 3, env={"TF_CONFIG": config})
    text = r.communicate(timeout=300)[0]
    assert r.returncode == 1 and f"task 1 of the cluster at 127.0.0.1:{absent} did not answer within 3 s" in text, text
    assert "Traceback" not in text and not (tmp_path / "r").exists()

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", own))
        busy.listen(1)
        r = _edgecnn("train", "digits", "--out", tmp_path / "r", "--connect-timeout", 3, env={"TF_CONFIG": config})
        text = r.communicate(timeout=300)[0]
    assert r.returncode == 1 and f"this worker's port {own}" in text and "in use" in text, text
    assert "Traceback" not in text and not (tmp_path / "r").exists()
