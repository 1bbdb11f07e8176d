"""`edgecnn bench`: latency percentiles, throughput, overhead over bare invoke, cold start, RSS."""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from edgecnn.errors import EdgeCNNError, EdgeCNNUsageError
from edgecnn.images import load_image
from edgecnn.progress import Progress
from edgecnn.runtime.classify import Classifier


def percentiles(samples_s: list[float]) -> dict[str, float]:
    """p50 / p90 / p99 / mean in milliseconds."""
    ms = np.asarray(samples_s) * 1e3
    return {"p50_ms": float(np.percentile(ms, 50)), "p90_ms": float(np.percentile(ms, 90)),
            "p99_ms": float(np.percentile(ms, 99)), "mean_ms": float(ms.mean())}


def run_bench(clf: Classifier, runs: int = 200, warmup: int = 20, image: str | None = None,
              cold_start: bool = True, cli_args: list[str] | None = None) -> dict[str, Any]:
    """Measure `clf`: bare invoke vs edgecnn's predict path, interleaved on the same input."""
    if runs < 1 or warmup < 0:
        raise EdgeCNNUsageError("--runs must be 1 or more and --warmup 0 or more")
    frame = load_image(image, clf.color) if image else _random_image(clf)
    interp, model = clf.model.interpreter, clf.model
    tensor = clf.input_tensor(clf.prepare(frame))
    for _ in range(warmup):
        clf.scores(frame)
    bare, predict = [], []
    bar = Progress(runs, "benchmarking")
    for _ in range(runs):
        t0 = time.perf_counter()
        interp.set_tensor(model.input.index, tensor)
        interp.invoke()
        interp.get_tensor(model.output.index)
        t1 = time.perf_counter()
        clf.scores(frame)
        t2 = time.perf_counter()
        bare.append(t1 - t0)
        predict.append(t2 - t1)
        bar.update()
    bar.close()
    b, p = percentiles(bare), percentiles(predict)
    report: dict[str, Any] = {
        "model": str(model.path), "size_bytes": model.size_bytes,
        "backend": model.backend.name, "backend_version": model.backend.version, "device": model.device,
        "input": {"shape": list(model.input.shape), "dtype": model.input.dtype.name},
        "runs": runs, "warmup": warmup, "image": image or "random",
        "invoke": b, "predict": p,
        "throughput_per_s": 1e3 / p["mean_ms"],
        "overhead_ratio": p["p50_ms"] / b["p50_ms"],
        "peak_rss_mb": own_peak_rss_mb(),
    }
    if cold_start:
        report["cold_start"] = measure_cold_start(model.path, frame, cli_args or [])
    return report


def _random_image(clf: Classifier) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (clf.height, clf.width, clf.channels), dtype=np.uint8)


# Runs `edgecnn ARGS...` in a fresh interpreter and reports that process's own peak RSS last.
# The kernel's rusage for a child also counts the parent's pages from before exec (fork or
# vfork), so the child measures itself: VmHWM of its own address space.
COLD_START = """
import sys
from edgecnn.runtime.bench import own_peak_rss_mb
try:
    from edgecnn.cli import main
    main(sys.argv[1:])
finally:
    sys.stderr.write(f"\\nPEAK_RSS_MB {own_peak_rss_mb():.1f}\\n")
"""


def own_peak_rss_mb() -> float:
    """Peak resident memory of this process's own address space, in MB."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # no /proc (macOS): bytes there, KiB on Linux
    return peak / (1 << 20) if sys.platform == "darwin" else peak / 1024


def measure_cold_start(model: Path, frame: np.ndarray, extra: list[str]) -> dict[str, float]:
    """A fresh `edgecnn classify MODEL IMAGE`: wall time to first result and its peak RSS."""
    with tempfile.TemporaryDirectory(prefix="edgecnn-bench-") as tmp:
        path = Path(tmp) / "input.png"
        ok, png = cv2.imencode(".png", frame[:, :, ::-1] if frame.shape[2] == 3 else frame)
        path.write_bytes(png.tobytes())
        cmd = [sys.executable, "-c", COLD_START, "classify", str(model), str(path), "--json", *extra]
        start = time.perf_counter()
        proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        seconds = time.perf_counter() - start
    lines = proc.stderr.strip().splitlines()
    if proc.returncode != 0 or not lines or not lines[-1].startswith("PEAK_RSS_MB"):
        errors = [ln for ln in lines if ln.startswith("error:")]
        raise EdgeCNNError(f"cold-start run failed: {errors[0] if errors else proc.returncode}")
    return {"seconds": seconds, "peak_rss_mb": float(lines[-1].split()[1])}


def format_report(r: dict[str, Any]) -> str:
    """The human table of a bench report."""
    lines = [f"{Path(r['model']).name}  ({r['size_bytes'] / 1024:.1f} kB, input {r['input']['shape']} "
             f"{r['input']['dtype']}, {r['backend']} {r['backend_version']}, {r['device']})",
             f"{'':10}{'p50 ms':>10}{'p90 ms':>10}{'p99 ms':>10}{'mean ms':>10}"]
    for key in ("invoke", "predict"):
        s = r[key]
        lines.append(f"{key:10}{s['p50_ms']:10.3f}{s['p90_ms']:10.3f}{s['p99_ms']:10.3f}{s['mean_ms']:10.3f}")
    lines.append(f"throughput {r['throughput_per_s']:.1f} images/s; predict / bare invoke (p50) = "
                 f"{r['overhead_ratio']:.3f}x; peak RSS {r['peak_rss_mb']:.1f} MB")
    if "cold_start" in r:
        c = r["cold_start"]
        lines.append(f"cold start (fresh `edgecnn classify` to first result): {c['seconds']:.3f} s, "
                     f"peak RSS {c['peak_rss_mb']:.1f} MB")
    return "\n".join(lines)
