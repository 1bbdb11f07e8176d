"""The device runtime: numpy + ai_edge_litert (or tflite_runtime), never TensorFlow."""

from edgecnn.runtime.classify import Class, Classifier, get_classes, normalize
from edgecnn.runtime.model import LoadedModel, ModelError, load_model, read_card
from edgecnn.runtime.tensors import TensorSpec, dequantize, quantize

__all__ = [
    "Class",
    "Classifier",
    "LoadedModel",
    "ModelError",
    "TensorSpec",
    "dequantize",
    "get_classes",
    "load_model",
    "normalize",
    "quantize",
    "read_card",
]
