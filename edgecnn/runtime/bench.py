"""`edgecnn bench`: latency percentiles, throughput, overhead over bare invoke, cold start, RSS.

The overhead is the paired estimate of edgecnn.runtime.paired (median of per-call ratios predict_i
/ bare_i, interleaved with the order alternated, over repeats), which holds on a busy machine where
p50(predict) / p50(bare) does not. Every report names the CPU and the load average it ran at."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from edgecnn.errors import EdgeCNNError, EdgeCNNUsageError
from edgecnn.images import load_image
from edgecnn.log import bar
from edgecnn.runtime.classify import Classifier
from edgecnn.runtime.detection import ObjectDetector
from edgecnn.runtime.machine import CpuInfo, cpu_info, describe_load, load_average, own_peak_rss_mb
from edgecnn.runtime.paired import Paired, compare
from edgecnn.stats import percentiles_ms

__all__ = ["BenchReport", "ColdStart", "Latency", "format_report", "measure_cold_start", "own_peak_rss_mb",
           "run_bench"]


@dataclass(frozen=True)
class Latency:
    """Percentiles and mean of one contender, in milliseconds."""

    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float

    @classmethod
    def of(cls, samples_s: list[float]) -> "Latency":
        return cls(**percentiles_ms(samples_s), mean_ms=float(np.mean(samples_s) * 1e3))  # type: ignore[arg-type]


@dataclass(frozen=True)
class ColdStart:
    """Fresh `edgecnn classify` processes: median wall time to the first result, the largest peak RSS
    of one process (its own), and every run's time."""

    seconds: float
    peak_rss_mb: float
    runs: int = 1
    all_seconds: tuple[float, ...] = ()
    command: str = "classify"


@dataclass(frozen=True)
class BenchReport:
    """What `edgecnn bench` measured on one model."""

    model: str
    size_bytes: int
    backend: str
    backend_version: str
    device: str
    input_shape: tuple[int, ...]
    input_dtype: str
    runs: int
    warmup: int
    image: str
    invoke: Latency
    predict: Latency
    peak_rss_mb: float
    overhead: Paired  # predict against bare invoke, per-call pairs
    cpu: CpuInfo
    load_before: tuple[float, float, float] | None
    load_after: tuple[float, float, float] | None
    threads: int | None = None
    cold_start: ColdStart | None = None
    decode: Latency | None = None  # detectors: decoding and NMS, inside `predict`

    @property
    def throughput_per_s(self) -> float:
        return 1e3 / self.predict.mean_ms

    @property
    def overhead_ratio(self) -> float:
        """Median over repeats of the median per-call ratio predict_i / bare_i."""
        return self.overhead.ratio

    def to_dict(self) -> dict[str, Any]:
        out = {"model": self.model, "size_bytes": self.size_bytes, "backend": self.backend,
               "backend_version": self.backend_version, "device": self.device,
               "input": {"shape": list(self.input_shape), "dtype": self.input_dtype},
               "runs": self.runs, "warmup": self.warmup, "image": self.image,
               "invoke": dataclasses.asdict(self.invoke), "predict": dataclasses.asdict(self.predict),
               "throughput_per_s": self.throughput_per_s, "overhead_ratio": self.overhead_ratio,
               "peak_rss_mb": self.peak_rss_mb, "overhead": self.overhead.to_dict(),
               "overhead_estimator": "median over repeats of median(predict_i / bare_i), pairs interleaved, "
                                     "order alternated",
               "threads": self.threads, "cpu": self.cpu.to_dict(),
               "load_average": {"before": self.load_before, "after": self.load_after}}
        if self.cold_start is not None:
            out["cold_start"] = dataclasses.asdict(self.cold_start)
        if self.decode is not None:
            out["decode"] = dataclasses.asdict(self.decode)
            out["decode_share_of_invoke"] = self.decode.p50_ms / self.invoke.p50_ms
        return out


def run_bench(runner: Classifier | ObjectDetector, runs: int = 200, warmup: int = 20, image: str | None = None,
              cold_start: bool = True, cli_args: list[str] | None = None, repeats: int = 7,
              threads: int | None = None, cold_runs: int = 9) -> BenchReport:
    """Measure `runner`: bare invoke vs edgecnn's predict path (for a detector: preprocess, invoke,
    decode + NMS; decode timed separately), `repeats` x `runs` pairs interleaved on the same input."""
    if runs < 1 or warmup < 0 or repeats < 1:
        raise EdgeCNNUsageError("--runs and --repeats must be 1 or more and --warmup 0 or more")
    frame = load_image(image, runner.color) if image else _random_image(runner)
    model = runner.model
    interp, outputs, index = model.interpreter, [o.index for o in model.outputs], model.input.index
    detector = isinstance(runner, ObjectDetector)
    tensor = runner.preprocess(frame)[0] if detector else runner.preprocess(frame)
    predict_fn = runner.detect if detector else runner.scores
    decode: list[float] = []

    def bare() -> None:
        interp.set_tensor(index, tensor)
        interp.invoke()
        for o in outputs:
            interp.get_tensor(o)

    def predict() -> None:
        predict_fn(frame)
        if detector:
            decode.append(runner.last_decode_s)

    load_before = load_average()
    with bar(runs * repeats, "benchmarking") as progress:
        overhead, bare_s, predict_s = compare(bare, predict, runs, repeats, warmup, on_pair=lambda: progress.update(1))
    load_after = load_average()
    decode = decode[-len(predict_s):] if decode else []
    command = ["detect", "--source"] if detector else ["classify"]
    cold = measure_cold_start(model.path, frame, command, cli_args or [], cold_runs) if cold_start else None
    return BenchReport(str(model.path), model.size_bytes, model.backend.name, model.backend.version, model.device,
                       tuple(model.input.shape), model.input.dtype.name, runs, warmup, image or "random",
                       Latency.of(bare_s), Latency.of(predict_s), own_peak_rss_mb(), overhead, cpu_info(),
                       load_before, load_after, threads, cold, Latency.of(decode) if decode else None)


def _random_image(runner: Classifier | ObjectDetector) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (runner.height, runner.width, runner.channels), dtype=np.uint8)


# Runs `edgecnn ARGS...` in a fresh interpreter and reports that process's own peak RSS last.
# The kernel's rusage for a child also counts the parent's pages from before exec (fork or
# vfork), so the child measures itself: VmHWM of its own address space, read the way the
# hand-written script in benchmarks/cold_start_bench.py reads it, so the harness costs both the
# same (importing edgecnn.runtime.machine first would load the runtime before the command does).
COLD_START = """
import sys
try:
    from edgecnn.cli import main
    main(sys.argv[1:])
finally:
    try:
        peak = next(int(ln.split()[1]) / 1024 for ln in open("/proc/self/status") if ln.startswith("VmHWM"))
    except (OSError, StopIteration):  # no /proc (macOS)
        from edgecnn.runtime.machine import own_peak_rss_mb
        peak = own_peak_rss_mb()
    sys.stderr.write(f"\\nPEAK_RSS_MB {peak:.1f}\\n")
"""


def measure_cold_start(model: Path, frame: np.ndarray, command: list[str], extra: list[str],
                       runs: int = 9) -> ColdStart:
    """`runs` fresh `edgecnn classify MODEL IMAGE` (or `detect MODEL --source IMAGE`) processes, one
    after the other: median wall time to the first result and the largest peak RSS."""
    seconds, peaks = [], []
    with tempfile.TemporaryDirectory(prefix="edgecnn-bench-") as tmp:
        path = Path(tmp) / "input.png"
        ok, png = cv2.imencode(".png", frame[:, :, ::-1] if frame.shape[2] == 3 else frame)
        path.write_bytes(png.tobytes())
        cmd = [sys.executable, "-c", COLD_START, *cold_start_args(model, path, command, extra)]
        for _ in range(max(1, runs)):
            wall, peak = cold_run(cmd)
            seconds.append(wall)
            peaks.append(peak)
    return ColdStart(float(np.median(seconds)), max(peaks), len(seconds), tuple(seconds), command[0])


def option_args(opts: dict[str, Any]) -> list[str]:
    """The runtime options the bench was given (backend, device, threads, labels, mean, std), as
    `--name=value` for its cold-start processes."""
    return [f"--{name}={value}" for name, value in opts.items() if value is not None]


def cold_start_args(model: str | Path, image: str | Path, command: list[str], extra: list[str]) -> list[str]:
    """The `edgecnn` arguments a cold start runs: `classify MODEL IMAGE --json` (or `detect MODEL
    --source IMAGE --json`) with the bench's runtime options as `--opt=value`."""
    return [command[0], str(model), *command[1:], str(image), "--json", *extra]


def cold_run(cmd: list[str], cwd: str | None = None) -> tuple[float, float]:
    """One fresh process that reports its own peak RSS last on stderr (`PEAK_RSS_MB x`, as
    COLD_START does): wall seconds to its exit and that peak in MB."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=cwd)
    seconds = time.perf_counter() - start
    lines = proc.stderr.strip().splitlines()
    if proc.returncode != 0 or not lines or not lines[-1].startswith("PEAK_RSS_MB"):
        errors = [ln for ln in lines if ln.startswith("error:")]
        raise EdgeCNNError(f"cold-start run failed: {errors[0] if errors else proc.returncode}")
    return seconds, float(lines[-1].split()[1])


def format_report(report: BenchReport) -> str:
    """The human table of a bench report, headed by the CPU and the load average it ran at."""
    r = report.to_dict()
    threads = "backend's default threads" if report.threads is None else f"{report.threads} thread(s)"
    lines = [f"{Path(r['model']).name}  ({r['size_bytes'] / 1024:.1f} kB, input {r['input']['shape']} "
             f"{r['input']['dtype']}, {r['backend']} {r['backend_version']}, {r['device']}, {threads})",
             f"CPU: {report.cpu.describe()}",
             f"{describe_load(report.load_before)} before, {describe_load(report.load_after)} after",
             f"{'':10}{'p50 ms':>10}{'p90 ms':>10}{'p99 ms':>10}{'mean ms':>10}"]
    for key in ("invoke", "predict", "decode"):
        if key not in r:
            continue
        s = r[key]
        lines.append(f"{key:10}{s['p50_ms']:10.3f}{s['p90_ms']:10.3f}{s['p99_ms']:10.3f}{s['mean_ms']:10.3f}")
    o = report.overhead
    lines.append(f"predict / bare invoke, median of per-call ratios ({o.pairs} interleaved pairs a repeat): "
                 f"{o.describe()}; predict - bare = {o.diff_ms * 1e3:.1f} us a call "
                 f"({o.diff_min_ms * 1e3:.1f}-{o.diff_max_ms * 1e3:.1f})")
    lines.append(f"throughput {r['throughput_per_s']:.1f} images/s; peak RSS {r['peak_rss_mb']:.1f} MB")
    if "cold_start" in r:
        c = r["cold_start"]
        lines.append(f"cold start (fresh `edgecnn {c['command']}` to first result, median of {c['runs']}): "
                     f"{c['seconds']:.3f} s ({min(c['all_seconds']):.3f}-{max(c['all_seconds']):.3f}), "
                     f"peak RSS {c['peak_rss_mb']:.1f} MB")
    return "\n".join(lines)
