"""`fit`: model.fit for one process; under a distribution strategy our own loop, because Keras 3's
fit does not run under MultiWorkerMirroredStrategy (keras-team/keras#20585). The loop keeps what
fit gives the rest of edgecnn: Keras callbacks (early stopping, learning-rate schedule, progress),
a history, and -- new -- a checkpoint every epoch to resume from."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from edgecnn.errors import EdgeCNNError
from edgecnn.log import get_logger
from edgecnn.workstation.distribute.checkpoint import ResumePoint
from edgecnn.workstation.distribute.strategy import Distribution
from edgecnn.workstation.interrupt import batch_boundary_interrupts
from edgecnn.workstation.tf_env import keras, tf

log = get_logger(__name__)
# make_train(shard, shards, batch): this worker's training batches (its 1/shards of the images)
TrainData = Callable[[int, int, int], Any]


def fit(dist: Distribution, model: Any, make_train: TrainData, val_data: Any, epochs: int, callbacks: list[Any],
        global_batch: int, train_size: int, run_dir: str | Path, settings: dict[str, Any],
        accuracy: bool = False) -> dict[str, list[float]]:
    """Train `model` (compiled, created in `dist.scope()`); the history as lists of floats.
    Ctrl-C stops it at the end of the current batch (KeyboardInterrupt from Python, not from TensorFlow)."""
    with batch_boundary_interrupts() as stopper:
        callbacks = [stopper, *callbacks]
        if not dist.distributed:
            hist = model.fit(make_train(0, 1, global_batch), validation_data=val_data, epochs=epochs, verbose=0,
                             callbacks=callbacks)
            return {k: [float(v) for v in vals] for k, vals in hist.history.items()}
        return _Loop(dist, model, accuracy).run(make_train, val_data, epochs, callbacks, global_batch, train_size,
                                                ResumePoint(run_dir, {**settings, "replicas": dist.replicas},
                                                            dist.is_chief))


class _Loop:
    def __init__(self, dist: Distribution, model: Any, accuracy: bool) -> None:
        self.dist, self.model, self.accuracy = dist, model, accuracy
        self.strategy = dist.strategy

    def run(self, make_train: TrainData, val_data: Any, epochs: int, callbacks: list[Any], global_batch: int,
            train_size: int, resume: ResumePoint) -> dict[str, list[float]]:
        steps = self.dist.steps(train_size, global_batch)
        if steps < 1:
            raise EdgeCNNError(f"{train_size} training images make no full global batch of {global_batch}: "
                               "lower --batch-size")
        per_replica = self.dist.per_replica_batch(global_batch)
        self.global_batch = global_batch
        data = self.strategy.distribute_datasets_from_function(
            lambda ctx: make_train(ctx.input_pipeline_id, ctx.num_input_pipelines, per_replica)
            .unbatch().repeat().batch(per_replica, drop_remainder=True).prefetch(2))  # every batch full: same sizes
        batches = iter(data)
        model = self.model
        history: dict[str, list[float]] = {}
        with self.strategy.scope():
            model.optimizer.build(model.trainable_variables)
            start = self._resume(resume, history, steps)
        hooks = keras.callbacks.CallbackList(callbacks, model=model)
        model.stop_training = False
        hooks.on_train_begin()
        for epoch in range(start, epochs):
            hooks.on_epoch_begin(epoch)
            logs = self._epoch(batches, steps, hooks, epoch)
            if val_data is not None:
                hooks.on_test_begin()  # what fit does around validation (batch-norm statistics are measured then)
                logs.update(self._validate(val_data))
                hooks.on_test_end(logs)
            hooks.on_epoch_end(epoch, logs)
            for key, value in logs.items():
                history.setdefault(key, []).append(float(value))
            resume.save(state_variables(model), epoch + 1, history, float(np.asarray(model.optimizer.learning_rate)))
            if model.stop_training:
                break
        hooks.on_train_end()
        resume.clear()
        return history

    def _epoch(self, batches: Any, steps: int, hooks: Any, epoch: int) -> dict[str, float]:
        losses, correct = [], []
        for i in range(steps):
            try:
                loss, right = self._step(next(batches))
            except tf.errors.OpError as exc:  # another worker died or hung: a collective timed out or failed
                raise EdgeCNNError(f"lost another worker during epoch {epoch + 1} ({type(exc).__name__}: "
                                   f"{str(exc.message).splitlines()[0][:160]}); restart every worker with the "
                                   f"same command: training resumes from the last finished epoch") from None
            losses.append(float(loss))
            correct.append(float(right))
            hooks.on_train_batch_end(i)
        logs = {"loss": float(np.mean(losses))}
        if self.accuracy:
            logs["accuracy"] = float(np.sum(correct) / (steps * self.global_batch))
        return logs

    @tf.function
    def _step(self, batch: Any) -> tuple[Any, Any]:
        model, replicas = self.model, self.dist.replicas

        def replica_step(x: Any, y: Any) -> tuple[Any, Any]:
            with tf.GradientTape() as tape:
                pred = model(x, training=True)
                # Keras already divides the loss by the number of replicas here (scale_loss_for_distribution):
                # the replicas' gradients are summed, so each brings its share of the global batch's mean
                share = model.compute_loss(x=x, y=y, y_pred=pred, training=True)
            grads = tape.gradient(share, model.trainable_variables)
            model.optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
            right = tf.zeros(())
            if self.accuracy:
                right = tf.reduce_sum(tf.cast(tf.equal(tf.argmax(pred, axis=-1, output_type=tf.int32),
                                                       tf.cast(tf.reshape(y, [-1]), tf.int32)), tf.float32))
            return share * replicas, right  # this replica's own mean loss, for the logs

        loss, right = self.strategy.run(replica_step, args=batch)
        return (self.strategy.reduce("MEAN", loss, axis=None), self.strategy.reduce("SUM", right, axis=None))

    def _validate(self, val_data: Any) -> dict[str, float]:
        """Every worker scores the whole validation set itself: same weights, same numbers, no traffic."""
        total = weight = right = 0.0
        for x, y in val_data:
            pred = self.model(x, training=False)
            n = float(tf.shape(x)[0])
            total += float(self.model.compute_loss(x=x, y=y, y_pred=pred, training=False)) * n
            weight += n
            if self.accuracy:
                right += float(np.sum(np.argmax(pred, axis=-1) == np.reshape(y, [-1])))
        logs = {"val_loss": total / max(weight, 1.0)}
        if self.accuracy:
            logs["val_accuracy"] = right / max(weight, 1.0)
        return logs

    def _resume(self, resume: ResumePoint, history: dict[str, list[float]], steps: int) -> int:
        """Load the chief's checkpoint and hand it to every worker (their disks may not have it)."""
        state = resume.load() if resume.chief else None
        values = resume.arrays(state, state_variables(self.model)) if state is not None else None
        if values is not None:  # the chief's copy; _from_chief hands it to every worker
            for var, value in zip(state_variables(self.model), values, strict=True):
                var.assign(value)
            history.update(state["history"])
        else:
            state = None
        epoch = _from_chief(self.strategy, self.model, float(state["epoch"]) if state else 0.0)
        if epoch:
            self.model.optimizer.iterations.assign(epoch * steps)
            log.info(f"resumed after epoch {epoch} from the checkpoint in {resume.folder}")
        return epoch


def state_variables(model: Any) -> list[Any]:
    """What a checkpoint holds: every float variable of the model and of its optimizer, in a fixed order."""
    return [v for v in model.weights + model.optimizer.variables if v.dtype.startswith("float")]


def _from_chief(strategy: Any, model: Any, epoch: float) -> int:
    """Every float variable of the model and its optimizer, and `epoch`, as the chief has them."""
    variables = state_variables(model)
    marker = tf.constant(epoch, tf.float32)

    @tf.function
    def gather() -> Any:
        def replica() -> Any:
            ctx = tf.distribute.get_replica_context()
            keep = tf.cast(tf.equal(ctx.replica_id_in_sync_group, 0), tf.float32)
            return ctx.all_reduce("SUM", [tf.cast(v.value, tf.float32) * keep for v in variables] + [marker * keep])
        return strategy.run(replica)

    values = [strategy.experimental_local_results(v)[0] for v in gather()]
    for var, value in zip(variables, values[:-1], strict=True):
        var.assign(tf.cast(value, var.dtype))
    return int(round(float(values[-1])))
