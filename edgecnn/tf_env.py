"""Import TensorFlow and Keras quietly, with one clear error when they are not installed."""

from __future__ import annotations

import os
import warnings
from typing import Any

from edgecnn.errors import EdgeCNNError


def import_tf() -> tuple[Any, Any]:
    """(tensorflow, keras), with TensorFlow's C++ start-up chatter turned down."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # --debug sets it lower
    warnings.filterwarnings("ignore", module="keras")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    try:
        import tensorflow as tf
        import keras
    except ImportError:
        raise EdgeCNNError("this command needs TensorFlow: pip install 'edgecnn[train]' "
                           "(the device install has only the runtime)") from None
    tf.get_logger().setLevel("ERROR")
    return tf, keras
