"""Cold start of `edgecnn classify` next to a hand-written LiteRT script doing the same work.

    python benchmarks/cold_start_bench.py MODEL IMAGE [--python PY]... [--rounds 9]

Each round runs, one after the other (interleaved, so both see the same machine): for every
--python (default: this interpreter), a fresh `edgecnn classify MODEL IMAGE --json` through
edgecnn's cold-start harness (the one `edgecnn bench` uses), then a hand-written script (cv2 +
numpy + LiteRT: read, resize, quantize, invoke, dequantize, argmax; no click, no edgecnn) in the
first --python's environment. Prints the median wall time to the answer (min-max), the
largest peak RSS (each process reads its own VmHWM) and, for edgecnn, the median of its
per-round difference to the hand-written script. Pass a venv with edgecnn installed from its
wheel and the editable development venv to see what the editable import hook costs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edgecnn.errors import EdgeCNNError
from edgecnn.runtime.bench import COLD_START, cold_run
from edgecnn.runtime.machine import cpu_info, describe_load, load_average

HAND_WRITTEN = """
import json, sys
import cv2
import numpy as np
from ai_edge_litert.interpreter import Interpreter
it = Interpreter(model_path=sys.argv[1])
it.allocate_tensors()
inp, out = it.get_input_details()[0], it.get_output_details()[0]
_, h, w, c = inp["shape"]
img = cv2.imread(sys.argv[2], cv2.IMREAD_GRAYSCALE if c == 1 else cv2.IMREAD_COLOR)
if c == 3:
    img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
img = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32).reshape(1, h, w, c) / 255.0
s, z = inp["quantization"]
info = np.iinfo(inp["dtype"])
it.set_tensor(inp["index"], np.clip(np.round(img / s + z), info.min, info.max).astype(inp["dtype"]))
it.invoke()
s, z = out["quantization"]
scores = (it.get_tensor(out["index"]).astype(np.float32) - z) * s
print(json.dumps({"image": sys.argv[2], "top": int(np.argmax(scores))}))
for line in open("/proc/self/status"):
    if line.startswith("VmHWM"):
        sys.stderr.write(f"PEAK_RSS_MB {int(line.split()[1]) / 1024:.1f}\\n")
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", type=Path)
    ap.add_argument("image", type=Path)
    ap.add_argument("--python", action="append", help="a Python with edgecnn installed (repeatable)")
    ap.add_argument("--rounds", type=int, default=9)
    args = ap.parse_args()
    model, image = str(args.model.resolve()), str(args.image.resolve())
    pythons = args.python or [sys.executable]
    cmds = {f"edgecnn classify ({py})": [py, "-c", COLD_START, "classify", model, image, "--json"] for py in pythons}
    hand_name = f"hand-written LiteRT script ({pythons[0]})"
    cmds[hand_name] = [pythons[0], "-c", HAND_WRITTEN, model, image]
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in cmds}
    before = load_average()
    for _ in range(args.rounds):
        for name, cmd in cmds.items():
            try:
                results[name].append(cold_run(cmd, cwd="/"))
            except EdgeCNNError as exc:
                raise SystemExit(f"cold_start_bench: {name}: {exc}") from None
    after = load_average()
    print(f"# {args.model.name}, {args.rounds} rounds interleaved; CPU: {cpu_info().describe()}")
    print(f"# {describe_load(before)} before, {describe_load(after)} after")
    hand = [s for s, _ in results[hand_name]]
    for name, runs in results.items():
        seconds = [s for s, _ in runs]
        line = (f"{name}: median {statistics.median(seconds):.3f} s ({min(seconds):.3f}-{max(seconds):.3f}), "
                f"peak RSS {max(r for _, r in runs):.1f} MB")
        if name != hand_name:  # paired by round: what edgecnn adds, whatever the load did to both
            extra = [1e3 * (a - b) for a, b in zip(seconds, hand, strict=True)]
            line += (f"; minus the hand-written script in the same round: median {statistics.median(extra):+.1f} ms "
                     f"({min(extra):+.1f} to {max(extra):+.1f})")
        print(line)

if __name__ == "__main__":
    main()
