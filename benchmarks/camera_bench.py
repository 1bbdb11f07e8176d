"""Camera-loop benchmark: `edgecnn detect` loop FPS next to the model-bound FPS, same model, one run.

    python benchmarks/camera_bench.py [MODEL.tflite] [--frames 600] [--size 640x480]

The source is an in-memory "camera" on the capture thread (a real camera's decode happens in
its driver or ISP, not in our loop), so the loop's own cost shows: newest-frame hand-off, crop,
resize, lookup-table quantization, invoke, dequantize, smoothing, events. Model-bound FPS is
1000 / p50 of a bare invoke() from `edgecnn bench` on the same model in the same process.
Default model: Coral's mobilenet_v1_0.5_160_quant.tflite from ../shared/data (test data).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edgecnn.camera.loop import CameraLoop, DetectOptions
from edgecnn.camera.timings import format_summary
from edgecnn.runtime import Classifier
from edgecnn.runtime.bench import run_bench

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "data" / "coral" / "mobilenet_v1_0.5_160_quant.tflite"


class MemoryCamera:
    """A live source handing out pre-made frames, at most `fps` a second."""

    live, name = True, "in-memory camera"

    def __init__(self, frames: list[np.ndarray], fps: float) -> None:
        self.frames, self.fps, self.i, self.next = frames, fps, 0, 0.0

    def open(self) -> None:
        self.next = time.perf_counter()

    def read(self) -> np.ndarray:
        self.next += 1.0 / self.fps
        delay = self.next - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        self.i += 1
        return self.frames[self.i % len(self.frames)]

    def close(self) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", nargs="?", default=str(DEFAULT))
    parser.add_argument("--frames", type=int, default=600)
    parser.add_argument("--size", default="640x480")
    args = parser.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for _ in range(8)]
    bench = run_bench(Classifier(args.model), runs=300, warmup=30, cold_start=False)
    model_fps = 1e3 / bench.invoke.p50_ms
    rows = []
    for label, serve in (("detect loop", None), ("detect loop + --serve, no viewer", "127.0.0.1:0")):
        camera = MemoryCamera(frames, fps=model_fps * 1.25)  # a little faster than the model: never starves it
        opts = DetectOptions(model=args.model, source="memory", max_frames=args.frames, serve=serve,
                             events="/dev/null")
        status = CameraLoop(opts, camera).run()
        rows.append((label, status))
    print(f"\ncamera-loop benchmark: {Path(args.model).name}, {w}x{h} frames, {args.frames} frames per run\n")
    print(f"model-bound FPS (1000 / bare invoke p50 {bench.invoke.p50_ms:.3f} ms): {model_fps:.1f}")
    for label, status in rows:
        fps = status["timings"]["fps"]
        print(f"{label:40} {fps:7.1f} fps   ratio {fps / model_fps:.3f}   dropped {status['dropped']}")
    print("\nstage timings of the plain loop:")
    print(format_summary(rows[0][1]["timings"]))


if __name__ == "__main__":
    main()
