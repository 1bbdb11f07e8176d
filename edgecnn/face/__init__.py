"""Face verification: an int8 embedding CNN, verification metrics (FAR, FRR, EER).

metrics.py and embedder.py are device side (numpy + LiteRT); model.py and training.py need
TensorFlow.
"""
