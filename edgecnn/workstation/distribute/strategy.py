"""Which tf.distribute strategy trains: none (one process, as always), mirrored (the local devices:
several GPUs) or multiworker (MultiWorkerMirroredStrategy over TF_CONFIG's cluster)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from edgecnn.errors import EdgeCNNUsageError
from edgecnn.log import get_logger
from edgecnn.workstation.distribute.cluster import Cluster, read_tf_config, rendezvous
from edgecnn.workstation.tf_env import tf

log = get_logger(__name__)
COLLECTIVE_TIMEOUT_S = 120.0  # a step waiting longer than this on another worker fails instead of hanging


@dataclass(frozen=True)
class Distribution:
    mode: str  # "none", "mirrored" or "multiworker"
    strategy: Any
    replicas: int
    cluster: Cluster | None = None

    @property
    def distributed(self) -> bool:
        return self.mode != "none"

    @property
    def is_chief(self) -> bool:
        return self.cluster is None or self.cluster.is_chief

    @property
    def workers(self) -> int:
        return self.cluster.size if self.cluster else 1

    def scope(self) -> Any:
        """Create the model and its optimizer in here."""
        return self.strategy.scope() if self.distributed else contextlib.nullcontext()

    def per_replica_batch(self, global_batch: int) -> int:
        if global_batch % self.replicas:
            fits = global_batch // self.replicas * self.replicas or self.replicas
            raise EdgeCNNUsageError(f"--batch-size {global_batch} is the global batch: it must divide evenly "
                                    f"among the {self.replicas} replicas (try {fits})")
        return global_batch // self.replicas

    def steps(self, train_size: int, global_batch: int) -> int:
        """Training steps an epoch: a partial last batch in one process; only full global batches
        when distributed (every replica gets the same batch size)."""
        return train_size // global_batch if self.distributed else -(-train_size // global_batch)

    def card(self, global_batch: int, learning_rate: float) -> dict[str, Any]:
        """What the card records about how the model was trained."""
        return {"strategy": self.mode, "workers": self.workers, "replicas": self.replicas,
                "global_batch_size": global_batch, "per_replica_batch_size": global_batch // self.replicas,
                "learning_rate": learning_rate,
                "learning_rate_scaling": "none: --batch-size is the global batch whatever the number of "
                                         "replicas, so the learning rate that suits it stays"}


def make_distribution(mode: str = "auto", connect_timeout: float = 120.0) -> Distribution:
    """The strategy for `mode`. auto: multiworker when TF_CONFIG is set, mirrored when there are
    several GPUs, else none. Must run before any other TensorFlow op (MultiWorkerMirroredStrategy's
    rule)."""
    cluster = read_tf_config()
    if mode == "auto":
        mode = "multiworker" if cluster else ("mirrored" if len(tf.config.list_physical_devices("GPU")) > 1 else "none")
    if mode == "none":
        return Distribution("none", tf.distribute.get_strategy(), 1)
    if mode == "mirrored":
        strategy = tf.distribute.MirroredStrategy()
        if strategy.num_replicas_in_sync < 2:
            log.warning("--distribute mirrored: only one device here, training in one process as usual")
            return Distribution("none", tf.distribute.get_strategy(), 1)
        return Distribution("mirrored", strategy, strategy.num_replicas_in_sync)
    if cluster is None:
        raise EdgeCNNUsageError("--distribute multiworker needs TF_CONFIG (the cluster and this task), or use "
                                "--workers N to start N workers on this machine")
    rendezvous(cluster, connect_timeout)  # TensorFlow alone would wait for ever, deaf to signals
    options = tf.distribute.experimental.CommunicationOptions(
        implementation=tf.distribute.experimental.CommunicationImplementation.RING,
        timeout_seconds=COLLECTIVE_TIMEOUT_S)
    strategy = tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
    log.info(f"worker {cluster.rank} of {cluster.size} ({'chief' if cluster.is_chief else 'not the chief'}), "
             f"{strategy.num_replicas_in_sync} replicas")
    return Distribution("multiworker", strategy, strategy.num_replicas_in_sync, cluster)
