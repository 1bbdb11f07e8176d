"""Device-runtime benchmark: one table, every number measured in this run on this machine.

    python benchmarks/runtime_bench.py [--runs 200] [--repeats 5] [--work DIR] [--quick]

Rows: the digits CNN and MobileNetV2 (random weights: speed does not depend on them), float32
and full-int8 .tflite, 1 and 2 threads. Columns: LiteRT bare invoke() p50, edgecnn's predict
path (preprocess + quantize + invoke + dequantize) p50 and its overhead, the interpreter bundled
in TensorFlow, and Keras predict() / __call__ on the float model. Then cold start and peak RSS of
`edgecnn classify` next to the same classification done through TensorFlow.

Ratios (overhead, int8 vs float32, TF vs LiteRT) are paired estimates (edgecnn.runtime.paired):
the median of per-call ratios over interleaved pairs, order alternated, with the range over
--repeats; they hold on a busy machine where a ratio of two p50s does not. Contenders on
different interpreters run untimed calls before each timed one, so the other's thread pool,
still spinning, is not billed to them. The CPU (with its int8 instructions) and the load average
head every table. Needs `pip install 'edgecnn[train]'` (TensorFlow is what we compare against).
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edgecnn.card import Card, InputSpec
from edgecnn.errors import EdgeCNNError
from edgecnn.runtime import Classifier
from edgecnn.runtime.bench import COLD_START, cold_run
from edgecnn.runtime.machine import cpu_info, describe_load, load_average
from edgecnn.runtime.paired import Paired, compare
from edgecnn.workstation.models import make_model, preprocessing_for
from edgecnn.workstation.quantize.metadata import embed_metadata
from edgecnn.workstation.tf_env import keras, tf

MODELS = {  # name: (arch, (h, w, c), kwargs)
    "digits CNN": ("cnn", (8, 8, 1), {}),
    "MobileNetV2 a0.35 96px": ("mobilenetv2", (96, 96, 3), {"alpha": 0.35}),
    "MobileNetV2 a1.0 160px": ("mobilenetv2", (160, 160, 3), {"alpha": 1.0}),
}


def bare_invoke(interp: Any, input_index: int, output_index: int, tensor: np.ndarray) -> Callable[[], None]:
    """set_tensor + invoke + get_tensor on an interpreter, nothing else."""
    def run() -> None:
        interp.set_tensor(input_index, tensor)
        interp.invoke()
        interp.get_tensor(output_index)
    return run


def p50(fn, runs: int, warmup: int = 10) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e3


def build(name: str, folder: Path) -> dict[str, Path]:
    """Keras model plus float32 and int8 .tflite files with an edgecnn card embedded."""
    arch, shape, kwargs = MODELS[name]
    keras.utils.set_random_seed(0)
    model = make_model(arch, shape, 10, **kwargs)
    pre = preprocessing_for(arch, "gray" if shape[2] == 1 else "rgb")
    card = Card(tuple(str(i) for i in range(10)), InputSpec(*shape), pre, name=name)
    slug = name.split()[0].lower() + "_" + "_".join(name.split()[1:]).replace(".", "")
    paths = {"keras": folder / f"{slug}.keras"}
    built = {**paths, **{p: folder / f"{slug}_{p}.tflite" for p in ("float32", "int8")}}
    if all(path.exists() for path in built.values()):  # --work from an earlier run: same seed, same models
        return built
    model.save(paths["keras"])
    saved = folder / f"{slug}_saved"
    model.export(str(saved), format="tf_saved_model", verbose=False,
                 input_signature=[tf.TensorSpec((1, *shape), tf.float32)])
    rng = np.random.default_rng(0)
    calib = [rng.integers(0, 256, (1, *shape)).astype(np.float32) * pre.scale - pre.mean[0] for _ in range(64)]
    for precision in ("float32", "int8"):
        conv = tf.lite.TFLiteConverter.from_saved_model(str(saved))
        if precision == "int8":
            conv.optimizations = [tf.lite.Optimize.DEFAULT]
            conv.representative_dataset = lambda: ([x] for x in calib)
            conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            conv.inference_input_type = conv.inference_output_type = tf.int8
        data = embed_metadata(conv.convert(), "edgecnn_card", card.to_json().encode())
        paths[precision] = folder / f"{slug}_{precision}.tflite"
        paths[precision].write_bytes(data)
    return paths


SWITCH_WARMUP = 2  # untimed calls before each timed one when two interpreters alternate


def measure(name: str, paths: dict[str, Path], runs: int, repeats: int) -> list[dict]:
    model = keras.models.load_model(paths["keras"], compile=False)
    shape = model.input_shape[1:]
    image = np.random.default_rng(1).integers(0, 256, shape, dtype=np.uint8)
    x = (image.astype(np.float32) / 255.0)[None]
    keras_predict = p50(lambda: model.predict(x, verbose=0), max(runs // 4, 20))
    keras_call = p50(lambda: model(x, training=False), runs)
    rows = []
    for threads in (1, 2):
        bares = {}
        for precision in ("float32", "int8"):
            clf = Classifier(paths[precision], threads=threads)
            tensor = clf.preprocess(image)
            bare = bare_invoke(clf.model.interpreter, clf.model.input.index, clf.model.output.index, tensor)
            overhead, bare_s, predict_s = compare(bare, functools.partial(clf.scores, image), runs, repeats)
            tfi = tf.lite.Interpreter(model_path=str(paths[precision]), num_threads=threads)
            tfi.allocate_tensors()
            tf_invoke = bare_invoke(tfi, tfi.get_input_details()[0]["index"], tfi.get_output_details()[0]["index"],
                                    tensor)
            tf_ratio, _, tf_s = compare(bare, tf_invoke, max(runs // 2, 10), repeats, switch_warmup=SWITCH_WARMUP)
            bares[precision] = (bare, clf)
            rows.append({"model": name, "precision": precision, "size_kb": paths[precision].stat().st_size / 1024,
                         "threads": threads, "invoke": ms(bare_s), "predict": ms(predict_s),
                         "overhead": overhead, "tf_interp": ms(tf_s), "tf_ratio": tf_ratio,
                         "keras_predict": keras_predict if precision == "float32" else None,
                         "keras_call": keras_call if precision == "float32" else None})
        # int8 against float32, both bare: median of per-pair float32_i / int8_i is the int8 speed-up
        speedup, _, _ = compare(bares["int8"][0], bares["float32"][0], max(runs // 2, 10), repeats,
                                switch_warmup=SWITCH_WARMUP)
        rows[-1]["speedup"] = speedup
    return rows


def ms(samples_s: list[float]) -> float:
    return statistics.median(samples_s) * 1e3


TF_LITE_CLASSIFY = """
import os, sys; os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import cv2, numpy as np, tensorflow as tf
it = tf.lite.Interpreter(model_path=sys.argv[1]); it.allocate_tensors()
i, o = it.get_input_details()[0], it.get_output_details()[0]
img = cv2.imread(sys.argv[2], cv2.IMREAD_GRAYSCALE if i["shape"][3] == 1 else cv2.IMREAD_COLOR)
s, z = i["quantization"]
x = np.clip(np.rint(img.reshape(i["shape"]) / 255.0 / s + z), -128, 127).astype(np.int8)
it.set_tensor(i["index"], x); it.invoke(); print(int(it.get_tensor(o["index"]).argmax()))
from edgecnn.runtime.machine import own_peak_rss_mb; sys.stderr.write(f"PEAK_RSS_MB {own_peak_rss_mb()}\\n")
"""
KERAS_CLASSIFY = """
import os, sys; os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import cv2, numpy as np, keras
m = keras.models.load_model(sys.argv[1], compile=False)
img = cv2.imread(sys.argv[2], cv2.IMREAD_GRAYSCALE if m.input_shape[3] == 1 else cv2.IMREAD_COLOR)
print(int(m.predict(img.reshape((1,) + m.input_shape[1:]) / 255.0, verbose=0).argmax()))
from edgecnn.runtime.machine import own_peak_rss_mb; sys.stderr.write(f"PEAK_RSS_MB {own_peak_rss_mb()}\\n")
"""


def cold_start(cmd: list[str], repeats: int = 3) -> tuple[float, float, float, float]:
    """Median, min and max wall seconds and peak RSS (MB, the child's own VmHWM) of fresh processes."""
    try:
        runs = [cold_run(cmd) for _ in range(repeats)]
    except EdgeCNNError as exc:
        raise SystemExit(f"cold-start command failed: {' '.join(cmd[:3])}: {exc}") from None
    walls = [w for w, _ in runs]
    return statistics.median(walls), min(walls), max(walls), max(r for _, r in runs)


def span(p: Paired) -> str:
    """'1.041x (1.03-1.05)': the paired ratio and its range over repeats."""
    return f"{p.ratio:.3f}x ({p.ratio_min:.2f}-{p.ratio_max:.2f})"


def machine_line() -> str:
    return f"CPU: {cpu_info().describe()}; {describe_load(load_average())}"


def fmt(v: float | None, spec: str = ".3f") -> str:
    return "-" if v is None else format(v, spec)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=200, help="Interleaved pairs per repeat.")
    parser.add_argument("--repeats", type=int, default=5, help="Repeats; ratio ranges are over these.")
    parser.add_argument("--cold-starts", type=int, default=9, help="Fresh `edgecnn classify` processes.")
    parser.add_argument("--work", type=Path, default=None,
                        help="Folder for the models (default: temporary); models already there are reused.")
    parser.add_argument("--quick", action="store_true", help="Only the digits CNN and MobileNetV2 0.35.")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="edgecnn-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    names = list(MODELS)[:2] if args.quick else list(MODELS)
    rows, built = [], {}
    load_before = load_average()
    for name in names:
        print(f"building {name} ...", file=sys.stderr)
        built[name] = build(name, work)
        rows += measure(name, built[name], args.runs, args.repeats)
    print(f"\nedgecnn runtime benchmark: median (p50) latency in ms, batch 1, {args.repeats} repeats x {args.runs} "
          f"interleaved pairs; ratios are medians of per-call ratios (range over repeats)")
    print(f"{machine_line()} after; {describe_load(load_before)} before\n")
    head = ("model", "precision", "size kB", "thr", "LiteRT invoke", "edgecnn predict", "overhead",
            "TF interpreter", "TF / LiteRT", "Keras predict()", "Keras call")
    table = [head] + [(r["model"], r["precision"], f"{r['size_kb']:.1f}", str(r["threads"]), fmt(r["invoke"]),
                       fmt(r["predict"]), span(r["overhead"]), fmt(r["tf_interp"]), span(r["tf_ratio"]),
                       fmt(r["keras_predict"]), fmt(r["keras_call"])) for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(head))]
    for n, row in enumerate(table):
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
        if n == 0:  # Markdown's header separator, so the pasted table renders
            print("| " + " | ".join("-" * w for w in widths) + " |")
    print()
    for r in rows:
        if "speedup" in r:
            f32 = next(q for q in rows if q["model"] == r["model"] and q["precision"] == "float32"
                       and q["threads"] == r["threads"])
            print(f"{r['model']}, {r['threads']} thread(s): int8 vs float32 speed-up {span(r['speedup'])} "
                  f"(bare invokes paired), size ratio {f32['size_kb'] / r['size_kb']:.2f}x")
    target = built[names[0]]
    image = work / "input.png"
    cv2.imwrite(str(image), np.random.default_rng(2).integers(0, 256, (8, 8), dtype=np.uint8))
    print(f"\ncold start to first result (median, min-max of fresh processes) and peak RSS, digits CNN; "
          f"{machine_line()}")
    for label, cmd, repeats in (
        ("edgecnn classify (LiteRT, int8 .tflite)",
         [sys.executable, "-c", COLD_START, "classify", str(target["int8"]), str(image), "--json"], args.cold_starts),
        ("TensorFlow tf.lite.Interpreter (int8 .tflite)", [sys.executable, "-c", TF_LITE_CLASSIFY,
                                                           str(target["int8"]), str(image)], 3),
        ("Keras load_model + predict (float .keras)", [sys.executable, "-c", KERAS_CLASSIFY,
                                                       str(target["keras"]), str(image)], 3),
    ):
        wall, lo, hi, rss = cold_start(cmd, repeats)
        print(f"  {label:48} {wall:6.3f} s ({lo:.3f}-{hi:.3f}, {repeats} runs)   {rss:7.1f} MB")


if __name__ == "__main__":
    main()
