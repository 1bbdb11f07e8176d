"""Camera-loop benchmark: `edgecnn detect` loop FPS against the model-bound FPS, counted alike.

    python benchmarks/camera_bench.py [MODEL.tflite] [--frames 600] [--repeats 5] [--size 640x480]

Both sides are frames / wall time over the same number of frames, in blocks that alternate
(model-bound block, loop block, then the other order), so a busy machine slows both alike; the
ratio is the median over repeats of loop FPS / model-bound FPS of adjacent blocks, with its range.
Model-bound FPS is bare invoke() calls (set input, invoke, get outputs) back to back. The source
is an in-memory "camera" on the capture thread (a real camera's decode happens in its driver or
ISP, not in our loop), so the loop's own cost shows: newest-frame hand-off, resize, lookup-table
quantization, invoke, dequantize, decoding + NMS or smoothing, tracking, events. The stage that
takes the largest share of a frame is named as the one that limits the loop.
Default model: MediaPipe's BlazeFace shipped in the package (edgecnn/face/models), so it runs on a
fresh clone with no arguments.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edgecnn.camera.loop import CameraLoop, DetectOptions
from edgecnn.camera.timings import STAGES
from edgecnn.runtime import load_model
from edgecnn.runtime.machine import cpu_info, describe_load, load_average

DEFAULT = Path(__file__).resolve().parents[1] / "edgecnn" / "face" / "models" / "blazeface_short_range.tflite"


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


def model_bound_fps(model, n: int) -> float:
    """Frames / wall time of `n` bare invokes back to back (set input, invoke, get every output)."""
    interp, index = model.interpreter, model.input.index
    outputs = [o.index for o in model.outputs]
    tensor = np.zeros(model.input.shape, model.input.dtype)
    start = time.perf_counter()
    for _ in range(n):
        interp.set_tensor(index, tensor)
        interp.invoke()
        for o in outputs:
            interp.get_tensor(o)
    return n / (time.perf_counter() - start)


def loop_run(path: str, frames: list[np.ndarray], n: int, source_fps: float, threads: int | None) -> dict:
    """One detect-loop run of `n` frames: its status (fps = frames / loop wall time, stage timings)."""
    opts = DetectOptions(model=path, source="memory", max_frames=n, events="/dev/null", threads=threads,
                         window_view=False)
    return CameraLoop(opts, MemoryCamera(frames, source_fps)).run()


MAIN_THREAD = ("capture_wait", "preprocess", "postprocess", "draw_encode")


def stage_shares(status: dict) -> list[tuple[str, float, float]]:
    """(stage, mean ms a frame, share of the loop's frame time). The loop is pipelined: inference
    runs on the invoke thread while the main thread waits for frames, pre-processes, post-processes
    and draws, so the two threads' totals overlap and the frame takes about the larger of them."""
    t = status["timings"]
    per_frame = t["seconds"] / max(t["frames"], 1) * 1e3
    rows = [(name, t["means_ms"].get(name) or 0.0) for name in STAGES]
    main = sum(ms for name, ms in rows if name in MAIN_THREAD)
    rows.append(("main thread, all stages", main))
    return [(name, ms, ms / per_frame if per_frame else 0.0) for name, ms in rows]


def limiting(shares: list[tuple[str, float, float]]) -> str:
    """The invoke thread (the model) or the main thread's largest stage, whichever thread is busier."""
    ms = {name: value for name, value, _ in shares}
    frame = next(value / share for _, value, share in shares if share > 0)
    if ms["inference"] >= ms["main thread, all stages"]:
        return f"inference, the model itself ({ms['inference'] / frame:.0%} of each frame's wall time)"
    name = max(MAIN_THREAD, key=lambda n: ms[n])
    what = "the camera (frames arrive slower)" if name == "capture_wait" else name
    return (f"the main thread ({ms['main thread, all stages'] / frame:.0%} of each frame), most of it {what} "
            f"({ms[name] / frame:.0%})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", nargs="?", default=str(DEFAULT), help="A .tflite classifier or detector.")
    parser.add_argument("--frames", type=int, default=600, help="Frames per block.")
    parser.add_argument("--repeats", type=int, default=5, help="Pairs of blocks; the ratio's range is over these.")
    parser.add_argument("--size", default="640x480", help="Camera frame size, WxH.")
    parser.add_argument("--threads", type=int, default=None, help="Interpreter threads (default: backend's).")
    args = parser.parse_args()
    if not Path(args.model).is_file():
        raise SystemExit(f"error: model not found: {args.model}")
    w, h = (int(v) for v in args.size.lower().split("x"))
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for _ in range(8)]
    model = load_model(args.model, args.threads)
    load_before = load_average()
    source_fps = model_bound_fps(model, max(args.frames // 4, 20)) * 1.25  # never starves the loop
    loop_run(args.model, frames, max(args.frames // 4, 20), source_fps, args.threads)  # warm-up
    ratios, model_fps, loop_fps, last = [], [], [], None
    for r in range(args.repeats):
        if r % 2 == 0:
            m = model_bound_fps(model, args.frames)
            last = loop_run(args.model, frames, args.frames, source_fps, args.threads)
        else:
            last = loop_run(args.model, frames, args.frames, source_fps, args.threads)
            m = model_bound_fps(model, args.frames)
        model_fps.append(m)
        loop_fps.append(last["timings"]["fps"])
        ratios.append(loop_fps[-1] / m)
    print(f"\ncamera-loop benchmark: {Path(args.model).name}, {w}x{h} frames, {args.repeats} repeats x "
          f"{args.frames} frames a block, model-bound and loop blocks alternating")
    print(f"CPU: {cpu_info().describe()}")
    print(f"{describe_load(load_before)} before, {describe_load(load_average())} after\n")
    print(f"model-bound FPS (bare invokes, frames / wall): median {statistics.median(model_fps):8.1f}  "
          f"({min(model_fps):.1f}-{max(model_fps):.1f})")
    print(f"detect loop FPS (frames / wall):               median {statistics.median(loop_fps):8.1f}  "
          f"({min(loop_fps):.1f}-{max(loop_fps):.1f})")
    print(f"loop / model-bound: {statistics.median(ratios):.3f}  (range {min(ratios):.3f}-{max(ratios):.3f}, "
          f"per repeat {', '.join(f'{x:.3f}' for x in ratios)})   dropped frames in the last run: {last['dropped']}")
    shares = stage_shares(last)
    print("\nwhere a frame's time goes in the last loop run (inference overlaps the main thread's stages):")
    print(f"{'stage':26}{'mean ms':>10}{'share':>9}")
    for name, ms, share in shares:
        print(f"{name:26}{ms:10.3f}{share:9.1%}")
    print(f"\nlimiting stage: {limiting(shares)}")


if __name__ == "__main__":
    main()
