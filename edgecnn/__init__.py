"""edgecnn: train a small CNN, quantize it to int8, prove the accuracy cost, run it on a Pi."""

__version__ = "0.1.0"
