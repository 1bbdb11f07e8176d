"""Keras model -> SavedModel -> TFLite bytes, in every mode edgecnn offers.

`model.export()` then `TFLiteConverter.from_saved_model()` is the route known to survive Keras 3.
The converter's own C++ chatter ("fully_quantize: 0, inference_type: 6, ...") is silenced.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from edgecnn.card import Card
from edgecnn.errors import EdgeCNNError
from edgecnn.log import bar, native_stderr_silenced
from edgecnn.workstation.config import QuantizeConfig
from edgecnn.workstation.tf_env import tf


def export_saved_model(model: Any, card: Card, folder: Path) -> Path:
    """model.export() with a static batch-1 float signature (what the Edge TPU compiler needs)."""
    saved = folder / "saved_model"
    spec = card.input
    signature = [tf.TensorSpec((1, spec.height, spec.width, spec.channels), tf.float32, name="image")]
    with native_stderr_silenced():
        model.export(str(saved), format="tf_saved_model", input_signature=signature, verbose=False)
    return saved


def converter(saved: Path, cfg: QuantizeConfig | None, calib: np.ndarray | None) -> Any:
    """A TFLiteConverter set up for `cfg.mode` (None: plain float32; integer modes need `calib`)."""
    conv = tf.lite.TFLiteConverter.from_saved_model(str(saved))
    if cfg is None:
        return conv
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    if cfg.mode == "float16":
        conv.target_spec.supported_types = [tf.float16]
    elif cfg.mode in ("int8", "int16x8"):
        if calib is None:
            raise ValueError(f"{cfg.mode} conversion needs calibration images")
        conv.representative_dataset = representative(calib)
        if cfg.mode == "int8":
            conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            io_type = {"int8": tf.int8, "uint8": tf.uint8, "float32": tf.float32}[cfg.io]
        else:  # 16-bit activations, 8-bit weights; integer io becomes int16
            ops = tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8
            conv.target_spec.supported_ops = [ops]
            io_type = tf.float32 if cfg.io == "float32" else tf.int16
        conv.inference_input_type = io_type
        conv.inference_output_type = io_type
    return conv


def convert(saved: Path, cfg: QuantizeConfig | None, calib: np.ndarray | None = None) -> bytes:
    """TFLite bytes of `saved` in `cfg.mode` (None: the float32 reference)."""
    conv = converter(saved, cfg, calib)
    try:
        with native_stderr_silenced():
            return bytes(conv.convert())
    except Exception as exc:  # the converter raises ConverterError, RuntimeError, ValueError...
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise EdgeCNNError(f"TFLite conversion ({cfg.mode if cfg else 'float32'}) failed: {first}") from None


def convert_selective(saved: Path, cfg: QuantizeConfig, calib: np.ndarray, denylist: list[str]) -> bytes:
    """Full int8 except the layers in `denylist`, which stay float (TensorFlow's quantization debugger)."""
    options = tf.lite.experimental.QuantizationDebugOptions(denylisted_nodes=denylist, fully_quantize=True)
    with native_stderr_silenced():  # the debugger converts as it is made
        debugger = tf.lite.experimental.QuantizationDebugger(
            converter=converter(saved, cfg, calib), debug_dataset=lambda: ([x[None]] for x in calib),
            debug_options=options)
        return bytes(debugger.get_nondebug_quantized_model())


def representative(calib: np.ndarray) -> Callable[[], Iterator[list[np.ndarray]]]:
    """A representative-dataset generator over calibration images, with a progress bar."""
    def generate() -> Iterator[list[np.ndarray]]:
        with bar(len(calib), "calibrating") as progress:
            for x in calib:
                yield [x[None, ...].astype(np.float32)]
                progress.update(1)
    return generate
