"""Training throughput: one process vs N local workers (tf.distribute MultiWorkerMirroredStrategy).

    python benchmarks/distribute_bench.py [--data digits] [--workers 2] [--epochs 10] [--repeats 3]

Each contender trains the same data with the same seed, global batch and fixed number of epochs
(early stopping off), as `edgecnn train` from the command line, in alternation (1, N, 1, N, ...),
so load that comes and goes hits both. Training steps/s and images/s come from the training time
the run records in its card (start-up, data loading and the final evaluation excluded); wall
seconds include everything. The load average and the CPU are printed with the table.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edgecnn.runtime.machine import cpu_info


def train_once(data: str, workers: int, epochs: int, batch: int, out: Path) -> dict[str, float]:
    cmd = [sys.executable, "-m", "edgecnn", "train", data, "--out", str(out), "--epochs", str(epochs),
           "--patience", str(epochs), "--batch-size", str(batch), "--overwrite"]
    cmd += ["--workers", str(workers)] if workers > 1 else ["--distribute", "none"]
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode:
        sys.exit(f"distribute_bench: {' '.join(cmd)} failed:\n{done.stderr[-2000:]}")
    card = json.loads((out / "card.json").read_text())
    train_images = card["dataset"]["split"]["train"]
    steps = epochs * (train_images // batch if workers > 1 else -(-train_images // batch))
    seconds = card["training"]["seconds"]
    return {"steps_s": steps / seconds, "images_s": epochs * train_images / seconds, "train_s": seconds,
            "wall_s": wall, "accuracy": quality(card["metrics"]["float"])}


def quality(metrics: dict) -> float:
    """Test accuracy of a classifier, test mAP@.5 of a detector."""
    return metrics["test_accuracy"] if "test_accuracy" in metrics else metrics["test_map50"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="digits")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    contenders = [1, args.workers]
    results: dict[int, list[dict[str, float]]] = {n: [] for n in contenders}
    loads = []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeats):
            for n in contenders if r % 2 == 0 else reversed(contenders):
                loads.append(os.getloadavg()[0])
                results[n].append(train_once(args.data, n, args.epochs, args.batch_size, Path(tmp) / f"w{n}"))
                print(f"repeat {r + 1}: {n} worker(s) {results[n][-1]['steps_s']:.1f} steps/s", file=sys.stderr)
    print(f"# {args.data}, {args.epochs} epochs, global batch {args.batch_size}, {args.repeats} repeats interleaved; "
          f"CPU {cpu_info().describe()}; load average (1 min) "
          f"{min(loads):.1f}-{max(loads):.1f} while running")
    print(f"{'processes':<10} {'steps/s':>18} {'images/s':>18} {'train s':>8} {'wall s':>8} {'quality':>9}")
    base = statistics.median(x["steps_s"] for x in results[1])
    for n in contenders:
        rows = results[n]

        def span(key: str, rows: list[dict[str, float]] = rows) -> str:
            values = [x[key] for x in rows]
            return f"{statistics.median(values):.1f} ({min(values):.1f}-{max(values):.1f})"

        print(f"{n:<10} {span('steps_s'):>18} {span('images_s'):>18} "
              f"{statistics.median(x['train_s'] for x in rows):>8.1f} "
              f"{statistics.median(x['wall_s'] for x in rows):>8.1f} "
              f"{statistics.median(x['accuracy'] for x in rows) * 100:>8.2f}%")
    ratios = [b["steps_s"] / a["steps_s"] for a, b in zip(results[1], results[args.workers], strict=True)]
    print("quality: test accuracy (classifier) or test mAP@.5 (detector)")
    print(f"speed-up of {args.workers} workers (same repeat, side by side): median "
          f"{statistics.median(ratios):.2f}x, range {min(ratios):.2f}-{max(ratios):.2f}x "
          f"(1 process: {base:.1f} steps/s)")


if __name__ == "__main__":
    main()
