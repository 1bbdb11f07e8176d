"""TensorFlow and Keras for the workstation side, imported once and quietly.

`from edgecnn.workstation.tf_env import tf, keras`. Only workstation modules that build, train,
convert or run Keras models import this; it raises one clear EdgeCNNError when TensorFlow is
not installed (the device install has only the runtime).
"""

from __future__ import annotations

import logging
import os
import sys
import warnings

from edgecnn.errors import EdgeCNNError

# Read by TensorFlow once, at its first import: a program that imported TensorFlow before edgecnn
# trains with whatever it had (oneDNN kernels on by default: different rounding, other models).
ONEDNN_ALREADY_ON = "tensorflow" in sys.modules and os.environ.get("TF_ENABLE_ONEDNN_OPTS") != "0"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # --debug sets it lower
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
warnings.filterwarnings("ignore", module="keras")
warnings.filterwarnings("ignore", message=r".*tf\.lite\.Interpreter is deprecated.*")

try:
    import keras
    import tensorflow as tf
except ImportError:
    raise EdgeCNNError("this command needs TensorFlow: pip install 'edgecnn[train]' "
                       "(the device install has only the runtime)") from None

tf.get_logger().setLevel("ERROR")
logging.getLogger("absl").setLevel(logging.ERROR)

__all__ = ["keras", "tf"]
