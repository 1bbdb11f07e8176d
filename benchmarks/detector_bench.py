"""Detector benchmark: the built-in shapes detector, float32 and int8, on the device runtime.

    python benchmarks/detector_bench.py [RUN] [--work DIR] [--pictures 40] [--pairs 200] [--repeats 5]

RUN is a detector run folder (model_float32.tflite and model_int8.tflite, as `edgecnn quantize`
writes them); without it the built-in detector is trained once into --work with
`edgecnn quickstart --task detect` (a few minutes) and reused by later runs.

Rows: float32 and int8 at 1 and 2 threads. Columns: bare invoke p50, decode + NMS p50 (edgecnn's
decoder on the raw outputs: on the integers for int8), its share of invoke (paired: median over
pairs of decode_i / invoke_i on the same picture, range over repeats), end to end p50 (preprocess
+ invoke + decode + NMS + boxes in frame pixels: `ObjectDetector.detect`) and boxes a picture.
Then int8 against float32 end to end, paired (different interpreters: two untimed calls before
each timed one). Pictures: new shapes pictures (a seed the data set does not use), cycled
picture by picture. Device side only: TensorFlow is never imported here (training runs as a
separate `edgecnn` process).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edgecnn.runtime.detection.detector import ObjectDetector
from edgecnn.runtime.machine import cpu_info, describe_load, load_average
from edgecnn.runtime.paired import Paired, compare
from edgecnn.workstation.detection import shapes

PICTURE_SEED = 77  # the built-in set is drawn with seed 1234


def trained_run(work: Path) -> Path:
    run = work / "shapes-detector"
    if not (run / "model_int8.tflite").is_file():
        print(f"training the built-in detector into {run} (edgecnn quickstart --task detect) ...", flush=True)
        cmd = [str(Path(sys.executable).with_name("edgecnn")), "quickstart", "--task", "detect", "--out", str(run)]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return run


class Cycle:
    """Pictures taken in turn; `advance` after each pair keeps both calls of a pair on one picture."""

    def __init__(self, det: ObjectDetector, pictures: list[np.ndarray]) -> None:
        self.det, self.pictures, self.i = det, pictures, 0
        self.tensors = [det.preprocess(p)[0] for p in pictures]
        self.raws = [[r.copy() for r in det.invoke(t)] for t in self.tensors]

    def advance(self) -> None:
        self.i = (self.i + 1) % len(self.pictures)

    def invoke(self) -> None:
        self.det.invoke(self.tensors[self.i])

    def decode(self) -> None:
        """What `ObjectDetector.postprocess` times as decode + NMS."""
        self.det.decode(self.raws[self.i])

    def detect(self) -> None:
        self.det.detect(self.pictures[self.i])


def p50_us(samples: list[float]) -> float:
    return float(np.median(samples)) * 1e6


def span(p: Paired, digits: int = 3) -> str:
    return f"{p.ratio:.{digits}f} ({p.ratio_min:.{digits}f}-{p.ratio_max:.{digits}f})"


def measure(model: Path, threads: int, pictures: list[np.ndarray], pairs: int, repeats: int) -> dict:
    det = ObjectDetector(model, threads)
    cyc = Cycle(det, pictures)
    share, inv, dec = compare(cyc.invoke, cyc.decode, pairs, repeats, warmup=20, on_pair=cyc.advance)
    cyc.i = 0
    _, _, e2e = compare(cyc.invoke, cyc.detect, pairs, 1, warmup=5, on_pair=cyc.advance)
    boxes = float(np.mean([len(det.detect(p)) for p in pictures]))
    return {"cycle": cyc, "invoke": p50_us(inv), "decode": p50_us(dec), "share": share,
            "end_to_end": p50_us(e2e), "boxes": boxes}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", nargs="?", type=Path, help="detector run folder (default: train one into --work)")
    ap.add_argument("--work", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "edgecnn-detector-bench")
    ap.add_argument("--pictures", type=int, default=40)
    ap.add_argument("--pairs", type=int, default=200, help="timed pairs a repeat")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    run = args.run or trained_run(args.work)
    pictures = [img for _, img, _, _ in shapes.generate(args.pictures, seed=PICTURE_SEED)]
    load_before = load_average()
    rows = {(kind, threads): measure(run / f"model_{kind}.tflite", threads, pictures, args.pairs, args.repeats)
            for kind in ("float32", "int8") for threads in (1, 2)}
    speedups = {}
    for threads in (1, 2):
        f, q = rows["float32", threads]["cycle"], rows["int8", threads]["cycle"]
        f.i = q.i = 0

        def advance(f: Cycle = f, q: Cycle = q) -> None:
            f.advance()
            q.advance()

        p, _, _ = compare(q.detect, f.detect, args.pairs, args.repeats, warmup=10, switch_warmup=2,
                          on_pair=advance)
        speedups[threads] = p
    load_after = load_average()

    print(f"# built-in shapes detector {run}; {args.pictures} new shapes pictures (seed {PICTURE_SEED}), "
          f"{args.pairs} pairs x {args.repeats} repeats")
    print(f"# CPU: {cpu_info().describe()}; {describe_load(load_before)} before, {describe_load(load_after)} after")
    print("| model | threads | invoke p50 us | decode + NMS p50 us | decode / invoke (paired, range) "
          "| end to end p50 us | boxes a picture |")
    print("|---|---|---|---|---|---|---|")
    for (kind, threads), r in rows.items():
        print(f"| {kind} | {threads} | {r['invoke']:.1f} | {r['decode']:.1f} | {span(r['share'])} "
              f"| {r['end_to_end']:.1f} | {r['boxes']:.2f} |")
    for threads, p in speedups.items():
        print(f"int8 speed-up over float32 end to end, {threads} thread(s): {span(p, 2)}x (float / int8 per pair)")


if __name__ == "__main__":
    main()
