"""`edgecnn train ... --workers N`: N worker processes on this machine, each told its place by
TF_CONFIG on free 127.0.0.1 ports. The chief (worker 0) talks to the terminal and writes the run
folder; the others log to a file beside it. When a worker dies, the others are stopped and all are
started again: they resume from the last finished epoch. TensorFlow-free."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from edgecnn.errors import EdgeCNNError
from edgecnn.log import get_logger
from edgecnn.workstation.distribute.cluster import free_ports, local_tf_config

log = get_logger(__name__)
USAGE_ERROR = 2  # the same mistake again would fail again: not restarted


def run_workers(args: list[str], workers: int, restarts: int) -> int:
    """Run `edgecnn ARGS --distribute multiworker` as `workers` processes; their exit code. The
    other workers' log folder is kept only when they failed (the error names it)."""
    logs = Path(tempfile.mkdtemp(prefix="edgecnn-workers-"))
    for attempt in range(restarts + 1):
        procs = _start(args, workers, logs)
        try:
            failed = _wait(procs)
        except KeyboardInterrupt:
            _stop(procs)
            shutil.rmtree(logs, ignore_errors=True)
            raise
        if failed is None:
            shutil.rmtree(logs, ignore_errors=True)
            return 0
        rank, code = failed
        _stop(procs)
        tail = _tail(logs / f"worker{rank}.log") if rank else ""
        if code == USAGE_ERROR or attempt == restarts:
            if tail:
                log.error(f"worker {rank}: {tail}")
            raise EdgeCNNError(f"worker {rank} exited with {_how(code)}"
                               f"{'' if code == USAGE_ERROR else f' after {restarts} restarts'}; "
                               f"worker logs in {logs}")
        log.warning(f"worker {rank} exited with {_how(code)}; starting all {workers} workers again "
                    f"(restart {attempt + 1} of {restarts}): they resume from the last finished epoch")
    return 1  # not reached


def _start(args: list[str], workers: int, logs: Path) -> list[subprocess.Popen]:
    ports = free_ports(workers)
    procs = []
    for rank in range(workers):
        env = {**os.environ, "TF_CONFIG": local_tf_config(ports, rank)}
        cmd = [sys.executable, "-m", "edgecnn", *args, "--distribute", "multiworker"]
        if rank == 0:  # the chief: the terminal, progress and the summary
            proc = subprocess.Popen(cmd, env=env)
        else:
            with open(logs / f"worker{rank}.log", "ab") as out:
                proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
        log.info(f"worker {rank}: pid {proc.pid}, 127.0.0.1:{ports[rank]}")
        procs.append(proc)
    return procs


def _wait(procs: list[subprocess.Popen]) -> tuple[int, int] | None:
    """None when every worker finished well, else (rank, exit code) of the first that did not."""
    while True:
        codes = [p.poll() for p in procs]
        for rank, code in enumerate(codes):
            if code not in (None, 0):
                return rank, code
        if all(code == 0 for code in codes):
            return None
        time.sleep(0.2)


def _stop(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    for p in procs:
        try:
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def _how(code: int) -> str:
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"code {code}"


def _tail(path: Path) -> str:
    try:
        lines = [ln for ln in path.read_text(errors="replace").splitlines() if ln.startswith("error:")]
    except OSError:
        return ""
    return lines[-1] if lines else ""
