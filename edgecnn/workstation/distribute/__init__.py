"""Training on several processes or machines with TensorFlow's own engine (tf.distribute): the
cluster from TF_CONFIG, the strategy, a training loop that runs under it, checkpoints to resume
from, and a launcher for N local workers. Only the chief writes the run folder."""
