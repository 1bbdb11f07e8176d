"""Third-party detection layouts on real .tflite files built here with TensorFlow: SSD post-processed
(the TFLite_Detection_PostProcess op, as the TF2 detection exporters insert it) and YOLO single
tensor (both orientations, float and full int8, normalised and pixel boxes). ObjectDetector's numpy
decoding must give the boxes TensorFlow computes from the same model (its own ops and NMS)."""

from __future__ import annotations

import statistics
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorflow", reason="workstation tests need pip install 'edgecnn[train]'")

from edgecnn.runtime.detection import ObjectDetector
from edgecnn.runtime.detection.boxes import iou_matrix
from edgecnn.runtime.detection.layouts import KNOWN
from edgecnn.runtime.model import ModelError
from edgecnn.workstation.tf_env import tf

S, C = 96, 3  # YOLO input side and classes
STRIDES = (8, 16, 32)  # 12 x 12 + 6 x 6 + 3 x 3 = 189 candidates
SSD_SIDE, SSD_GRID, SSD_SIZES = 64, 4, (0.2, 0.35, 0.5)  # 48 anchors
SSD_ATTRS = {"max_detections": 10, "max_classes_per_detection": 1, "detections_per_class": 100,
             "use_regular_nms": False, "nms_score_threshold": 0.3, "nms_iou_threshold": 0.5,
             "y_scale": 10.0, "x_scale": 10.0, "h_scale": 5.0, "w_scale": 5.0, "num_classes": C}


def make_frame(seed: int = 5, hw: tuple[int, int] = (120, 200)) -> np.ndarray:
    """A deterministic RGB frame of coloured rectangles (non-square by default)."""
    rng = np.random.default_rng(seed)
    frame = rng.integers(0, 30, (*hw, 3), dtype=np.uint8)
    for _ in range(10):
        x0, y0 = rng.integers(0, hw[1] - 30), rng.integers(0, hw[0] - 30)
        frame[y0:y0 + rng.integers(10, 40), x0:x0 + rng.integers(10, 60)] = rng.integers(0, 255, 3)
    return frame


def normalised(t: tf.Tensor, bias: tf.Tensor) -> tf.Tensor:
    """Per-channel standardised logits (spread scores around the thresholds whatever the image)."""
    return (t - tf.reduce_mean(t, 0)) / (tf.math.reduce_std(t, 0) + 1e-3) * 1.5 + bias


class Yolo(tf.Module):
    """A small YOLOv8-like head: 3 strides, centre-size boxes then sigmoid class scores."""

    def __init__(self, channels_first: bool, pixels: bool) -> None:
        rng = np.random.default_rng(1)
        self.stem = tf.constant(rng.normal(0, 0.4, (3, 3, 3, 16)).astype(np.float32))
        self.heads = [tf.constant(rng.normal(0, 0.25, (16, 4 + C)).astype(np.float32)) for _ in STRIDES]
        self.bias = tf.constant(np.array([0, 0, -0.5, -0.5] + [-1.5] * C, np.float32))
        self.channels_first, self.pixels = channels_first, pixels

    @tf.function(input_signature=[tf.TensorSpec([1, S, S, 3], tf.float32)])
    def serve(self, x: tf.Tensor) -> tf.Tensor:
        f = tf.nn.relu(tf.nn.conv2d(x * 2 - 1, self.stem, 2, "SAME"))
        rows = []
        for s, head in zip(STRIDES, self.heads, strict=True):
            g = S // s
            p = tf.nn.avg_pool2d(f, s // 2, s // 2, "VALID")
            t = normalised(tf.reshape(tf.nn.relu(p - tf.reduce_mean(p)) * 3, [g * g, 16]) @ head, self.bias)
            gy, gx = (a.reshape(-1).astype(np.float32) for a in np.meshgrid(np.arange(g), np.arange(g), indexing="ij"))
            cx = (gx + 0.5 + tf.tanh(t[:, 0])) * s / S
            cy = (gy + 0.5 + tf.tanh(t[:, 1])) * s / S
            wh = tf.sigmoid(t[:, 2:4]) * (3 * s / S)
            rows.append(tf.concat([cx[:, None], cy[:, None], wh, tf.sigmoid(t[:, 4:])], 1))
        out = tf.concat(rows, 0)
        if self.pixels:  # older Ultralytics exports: boxes in input pixels
            out = out * tf.constant([S] * 4 + [1] * C, tf.float32)
        return tf.transpose(out[None], [0, 2, 1]) if self.channels_first else out[None]


def ssd_anchors() -> np.ndarray:
    c = (np.arange(SSD_GRID) + 0.5) / SSD_GRID
    y, x = (a.reshape(-1) for a in np.meshgrid(c, c, indexing="ij"))
    return np.concatenate([np.stack([y, x, np.full_like(y, s), np.full_like(y, s)], 1) for s in SSD_SIZES]).astype(
        np.float32)


def implements(attrs: dict[str, float | int | bool]) -> str:
    """The `experimental_implements` text the TF2 detection exporters give the post-processing function."""
    def value(v: float | int | bool) -> str:
        return f"b: {str(v).lower()}" if isinstance(v, bool) else f"i: {v}" if isinstance(v, int) else f"f: {v}"
    return " ".join(['name: "TFLite_Detection_PostProcess"']
                    + [f'attr {{ key: "{k}" value {{ {value(v)} }} }}' for k, v in attrs.items()])


class Ssd(tf.Module):
    """A small SSD: box encodings and class scores (background first) per anchor, then the op."""

    def __init__(self) -> None:
        rng = np.random.default_rng(2)
        cell = SSD_SIDE // SSD_GRID
        self.kernel = tf.constant(rng.normal(0, 0.3, (cell, cell, 3, len(SSD_SIZES) * (5 + C))).astype(np.float32))
        self.bias = tf.constant(np.array([0.0] * 4 + [0.5] + [-1.0] * C, np.float32))
        self.anchors = tf.constant(ssd_anchors())

    def heads(self, x: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        h = tf.nn.conv2d(x * 2 - 1, self.kernel, SSD_SIDE // SSD_GRID, "VALID")  # 1, g, g, sizes * (5 + C)
        h = tf.reshape(tf.transpose(tf.reshape(h, [SSD_GRID ** 2, len(SSD_SIZES), 5 + C]), [1, 0, 2]), [-1, 5 + C])
        h = tf.concat([h[:, :4] * 0.3, normalised(h[:, 4:], self.bias[4:])], 1)
        return h[None, :, :4], tf.sigmoid(h[None, :, 4:])

    @tf.function(input_signature=[tf.TensorSpec([1, SSD_SIDE, SSD_SIDE, 3], tf.float32)])
    def serve(self, x: tf.Tensor) -> tuple[tf.Tensor, ...]:
        encodings, scores = self.heads(x)
        return self.post(encodings, scores, self.anchors)

    @tf.function(experimental_implements=implements(SSD_ATTRS))
    def post(self, encodings: tf.Tensor, scores: tf.Tensor, anchors: tf.Tensor) -> tuple[tf.Tensor, ...]:
        zero = tf.constant(0.0)  # a placeholder: the converter puts the TFLite op here
        return zero, zero, zero, zero

    @tf.function(input_signature=[tf.TensorSpec([1, SSD_SIDE, SSD_SIDE, 3], tf.float32)])
    def named(self, x: tf.Tensor) -> dict[str, tf.Tensor]:
        """The same model with named outputs (a SavedModel signature, as TF2 exporters write)."""
        boxes, classes, scores, count = self.serve(x)
        return {"detection_scores": scores, "detection_boxes": boxes, "num_detections": count,
                "detection_classes": classes}


def convert(module: tf.Module, path: Path, side: int, int8: bool = False, saved: bool = False) -> Path:
    """`module.serve` (or the `named` signature through a SavedModel) -> a .tflite at `path`."""
    if saved:
        tf.saved_model.save(module, str(path.with_suffix("")), signatures={"serving_default": module.named})
        converter = tf.lite.TFLiteConverter.from_saved_model(str(path.with_suffix("")))
    else:
        converter = tf.lite.TFLiteConverter.from_concrete_functions([module.serve.get_concrete_function()], module)
    converter.allow_custom_ops = True  # TFLite_Detection_PostProcess is custom, though every interpreter has it
    if int8:
        frames = [make_frame(seed, (side, side))[None].astype(np.float32) / 255 for seed in range(12)]
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: ([f] for f in frames)
        if isinstance(module, Ssd):  # as Coral's SSDs: uint8 pixels in, the op's float outputs out
            converter.inference_input_type = tf.uint8
        else:  # full int8, as Ultralytics' int8 export
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            converter.inference_input_type = converter.inference_output_type = tf.int8
    path.write_bytes(converter.convert())
    return path


def run_tensorflow(path: Path, tensor: np.ndarray) -> list[np.ndarray]:
    """TensorFlow's own interpreter on the input edgecnn prepared: every output, dequantized."""
    interpreter = tf.lite.Interpreter(model_path=str(path))
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], tensor)
    interpreter.invoke()
    outputs = []
    for detail in interpreter.get_output_details():
        value, (scale, zero) = interpreter.get_tensor(detail["index"]), detail["quantization"]
        outputs.append((value.astype(np.float32) - zero) * scale if scale else value)
    return outputs


def letterbox_to_frame(boxes: np.ndarray, frame_hw: tuple[int, int], side: int) -> np.ndarray:
    """x0, y0, x1, y1 in a letterboxed square input -> frame pixels, clipped. The frame was resized
    to whole pixels and placed at a whole-pixel offset; this undoes exactly that placement."""
    h, w = frame_hw
    s = min(side / w, side / h)
    nw, nh = round(w * s), round(h * s)
    pad = np.array([(side - nw) // 2, (side - nh) // 2] * 2, dtype=np.float64)
    return np.clip((boxes - pad) / np.array([nw / w, nh / h] * 2), 0, [w, h, w, h])


def assert_same(found: list, boxes: np.ndarray, scores: np.ndarray, classes: np.ndarray) -> float:
    """Same detections as the reference: one to one, same class and score, IoU >= 0.99 (corners within
    0.5 px for boxes the frame edge clipped to nothing). Returns the smallest IoU."""
    assert len(found) == len(boxes) > 0, ([d.box for d in found], boxes)
    got = np.array([d.box for d in found])
    distance = np.abs(got[:, None, :] - boxes[None, :, :]).max(axis=2)
    distance[np.array([d.index for d in found])[:, None] != classes[None, :]] = np.inf
    best = np.zeros(len(found), dtype=np.int64)
    for i in range(len(found)):  # one to one: the nearest reference box not matched yet
        best[i] = distance[i].argmin()
        distance[:, best[i]] = np.where(np.arange(len(found)) == i, distance[:, best[i]], np.inf)
    np.testing.assert_allclose([d.score for d in found], scores[best], atol=1e-5)
    assert distance[np.arange(len(found)), best].max() < 0.5, distance
    area = (boxes[best, 2] - boxes[best, 0]) * (boxes[best, 3] - boxes[best, 1])
    ious = iou_matrix(got, boxes)[np.arange(len(got)), best][area > 1]
    assert ious.size and ious.min() >= 0.99, ious
    return float(ious.min())


def tf_yolo(out: np.ndarray, channels_first: bool, pixels: bool, opts: tuple[float, float, int]):
    """TensorFlow's decoding of a YOLO tensor: best class per candidate, NMS per class (TF's op)."""
    threshold, iou, limit = opts
    t = tf.constant(out[0])
    t = tf.transpose(t) if channels_first else t
    cx, cy, w, h = (t[:, i] * (1.0 if pixels else S) for i in range(4))
    scores, classes = tf.reduce_max(t[:, 4:], 1), tf.argmax(t[:, 4:], 1)
    corners = tf.stack([cy - h / 2, cx - w / 2, cy + h / 2, cx + w / 2], 1)  # TF's order: y0, x0, y1, x1
    kept = []
    for c in range(C):
        idx = tf.where(classes == c)[:, 0]
        chosen = tf.image.non_max_suppression(tf.gather(corners, idx), tf.gather(scores, idx), limit, iou, threshold)
        kept.append(tf.gather(idx, chosen))
    keep = tf.concat(kept, 0)
    keep = tf.gather(keep, tf.argsort(tf.gather(scores, keep), direction="DESCENDING", stable=True))[:limit]
    boxes = tf.gather(corners, keep).numpy()[:, [1, 0, 3, 2]]
    return boxes, tf.gather(scores, keep).numpy(), tf.gather(classes, keep).numpy()


def op_inputs(path: Path, tensor: np.ndarray) -> list[np.ndarray]:
    """What TFLite_Detection_PostProcess received in this .tflite (dequantized): encodings, scores, anchors."""
    with warnings.catch_warnings():  # "for debugging purposes only": that is what this is
        warnings.simplefilter("ignore")
        interpreter = tf.lite.Interpreter(model_path=str(path), experimental_preserve_all_tensors=True)
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], tensor)
    interpreter.invoke()
    op = next(o for o in interpreter._get_ops_details() if o["op_name"] == "TFLite_Detection_PostProcess")
    details = {d["index"]: d for d in interpreter.get_tensor_details()}
    values = []
    for index in op["inputs"]:
        value, (scale, zero) = interpreter.get_tensor(index), details[index]["quantization"]
        values.append((value.astype(np.float32) - zero) * scale if scale else value)
    return values


def tf_ssd(encodings: np.ndarray, class_scores: np.ndarray, anchors: np.ndarray, frame_hw: tuple[int, int],
           threshold: float):
    """TensorFlow's SSD post-processing: anchors decoded, best class per anchor, class-agnostic NMS (TF's op)."""
    encodings, class_scores = tf.constant(encodings.reshape(-1, 4)), tf.constant(class_scores.reshape(len(anchors), -1))
    ya, xa, ha, wa = (anchors.reshape(-1, 4)[:, i] for i in range(4))
    a = SSD_ATTRS
    yc = encodings[:, 0] / a["y_scale"] * ha + ya
    xc = encodings[:, 1] / a["x_scale"] * wa + xa
    h, w = tf.exp(encodings[:, 2] / a["h_scale"]) * ha, tf.exp(encodings[:, 3] / a["w_scale"]) * wa
    corners = tf.stack([yc - h / 2, xc - w / 2, yc + h / 2, xc + w / 2], 1)
    scores, classes = tf.reduce_max(class_scores[:, 1:], 1), tf.argmax(class_scores[:, 1:], 1)  # 0: background
    keep = tf.image.non_max_suppression(corners, scores, a["max_detections"], a["nms_iou_threshold"],
                                        max(threshold, a["nms_score_threshold"])).numpy()
    fh, fw = frame_hw
    boxes = np.clip(tf.gather(corners, keep).numpy()[:, [1, 0, 3, 2]] * [fw, fh, fw, fh], 0, [fw, fh, fw, fh])
    return boxes, tf.gather(scores, keep).numpy(), tf.gather(classes, keep).numpy()


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("detection_models")


SSD_CASES = [(False, False), (True, False), (False, True)]


@pytest.mark.parametrize("saved,int8", SSD_CASES, ids=["concrete-function", "saved-model-signature", "uint8-input"])
def test_ssd_postprocess_matches_tensorflow(models: Path, saved: bool, int8: bool, report_metric) -> None:
    module = Ssd()
    path = convert(module, models / f"ssd_{saved}_{int8}.tflite", SSD_SIDE, int8=int8, saved=saved)
    detector = ObjectDetector(path, threshold=0.7, iou=0.5, max_detections=10)
    assert detector.decoder.name.startswith("SSD post-processed") and detector.decoder.fit == "stretch"
    assert detector.model.input.dtype == (np.uint8 if int8 else np.float32)
    frame = make_frame()
    tensor, box = detector.preprocess(frame)
    found = detector.postprocess(detector.invoke(tensor), box)
    if int8:  # quantized heads: TensorFlow decodes what the op received in this very model
        reference = tf_ssd(*op_inputs(path, tensor), frame.shape[:2], 0.7)
    else:  # float: TensorFlow runs the model's own heads
        reference = tf_ssd(*(v.numpy() for v in module.heads(tf.constant(tensor))), ssd_anchors(), frame.shape[:2], 0.7)
    worst = assert_same(found, *reference)
    order = "".join("BCSN"[detector.decoder.order.index(i)] for i in range(4))
    report_metric(f"SSD post-processed ({'uint8 input, ' if int8 else ''}"
                  f"{'SavedModel signature' if saved else 'concrete function'}, outputs {order} as Boxes Classes "
                  f"Scores Num): {len(found)} boxes, min IoU vs TensorFlow {worst:.4f}")


def test_ssd_labels_file_decides_the_classes(models: Path, tmp_path: Path) -> None:
    path = convert(Ssd(), models / "ssd_labels.tflite", SSD_SIDE)
    (tmp_path / "tf.txt").write_text("???\ncat\ndog\nbird\n")
    (tmp_path / "coral.txt").write_text("0  person\n2  car\n")
    assert ObjectDetector(path, labels=tmp_path / "tf.txt").labels == ("cat", "dog", "bird")
    assert ObjectDetector(path, labels=tmp_path / "coral.txt").labels == ("person", "1", "car")
    found = ObjectDetector(path, threshold=0.3).detect(make_frame())
    assert found and all(d.label == str(d.index) for d in found)


YOLO_CASES = [(True, False, False), (False, False, False), (True, True, False), (False, True, False),
              (True, False, True)]


@pytest.mark.parametrize("channels_first,int8,pixels", YOLO_CASES,
                         ids=["4+C,N-float", "N,4+C-float", "4+C,N-int8", "N,4+C-int8", "4+C,N-float-pixels"])
def test_yolo_matches_tensorflow(models: Path, channels_first: bool, int8: bool, pixels: bool, report_metric) -> None:
    name = f"yolo_{'cf' if channels_first else 'cl'}_{'int8' if int8 else 'float'}{'_px' if pixels else ''}"
    path = convert(Yolo(channels_first, pixels), models / f"{name}.tflite", S, int8=int8)
    detector = ObjectDetector(path, threshold=0.6, iou=0.5, max_detections=50)
    decoder = detector.decoder
    assert decoder.name.startswith("YOLO") and decoder.classes == C and decoder.fit == "letterbox"
    frame = make_frame()
    tensor, box = detector.preprocess(frame)
    raw = detector.invoke(tensor)
    found = detector.postprocess(raw, box)
    reference = run_tensorflow(path, tensor)[0]
    boxes, scores, classes = tf_yolo(reference, channels_first, pixels, (0.6, 0.5, 50))
    worst = assert_same(found, letterbox_to_frame(boxes, frame.shape[:2], S), scores, classes)
    invoke_s, decode_s = [], []
    for _ in range(20):  # medians: one call is too noisy to report
        start = time.perf_counter()
        raw = detector.invoke(tensor)
        invoke_s.append(time.perf_counter() - start)
        detector.postprocess(raw, box)
        decode_s.append(detector.last_decode_s)
    report_metric(f"YOLO {name} {list(detector.model.output.shape)}: {len(found)} boxes in {len(set(classes))} "
                  f"classes, min IoU vs TensorFlow {worst:.4f}; decode+NMS {statistics.median(decode_s) * 1e6:.0f} us, "
                  f"invoke {statistics.median(invoke_s) * 1e6:.0f} us")


def test_unknown_layout_is_one_clear_error(models: Path) -> None:
    class Classifier(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([1, 32, 32, 3], tf.float32)])
        def serve(self, x: tf.Tensor) -> tf.Tensor:
            return tf.nn.softmax(tf.reshape(tf.reduce_mean(x, [1, 2]), [1, 3]) @ tf.ones([3, 10]))

    path = convert(Classifier(), models / "classifier.tflite", 32)
    with pytest.raises(ModelError) as info:
        ObjectDetector(path)
    message = str(info.value)
    assert "\n" not in message and "classifier.tflite" in message and "[1, 10]" in message
    assert len(KNOWN) >= 4 and all(description in message for description in KNOWN)
