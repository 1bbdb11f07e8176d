"""Ctrl-C during training, taken at a batch boundary.

Python's own SIGINT handler raises KeyboardInterrupt wherever the main thread is, and inside
TensorFlow that can be in the middle of C++ work: building the next epoch's tf.data iterator,
a pybind call that checks for signals. TensorFlow then wraps it in a SystemError at best, and at
worst the process dies with SIGSEGV before edgecnn can say anything (seen once in CI: exit -11
right after "epoch 1/500"). `batch_boundary_interrupts` replaces the handler while training runs:
the first Ctrl-C only sets a flag, and `StopAtBatchEnd` raises KeyboardInterrupt from plain Python
at the end of the current batch. A second Ctrl-C raises at once, as before, for a stuck step.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from edgecnn.workstation.tf_env import keras


class StopAtBatchEnd(keras.callbacks.Callback):
    """Raise KeyboardInterrupt at the next batch or epoch boundary once Ctrl-C was pressed."""

    def __init__(self) -> None:
        super().__init__()
        self.pressed = threading.Event()

    def check(self, *_: Any, **__: Any) -> None:
        """Raise KeyboardInterrupt if Ctrl-C was pressed (every hook below is this)."""
        if self.pressed.is_set():
            raise KeyboardInterrupt

    on_train_batch_end = on_test_batch_end = on_predict_batch_end = check
    on_epoch_begin = on_epoch_end = on_test_begin = on_test_end = check


@contextmanager
def batch_boundary_interrupts() -> Iterator[StopAtBatchEnd]:
    """A StopAtBatchEnd callback whose flag the first SIGINT sets while the block runs.

    Outside the main thread, or when SIGINT is not Python's default handler (ignored, or a
    caller's own), the handler is left alone and the callback never fires."""
    stopper = StopAtBatchEnd()
    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield stopper
        return

    def on_sigint(signum: int, frame: Any) -> None:
        if stopper.pressed.is_set():
            raise KeyboardInterrupt
        stopper.pressed.set()

    signal.signal(signal.SIGINT, on_sigint)
    try:
        yield stopper
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    stopper.check()  # pressed after the last batch: still an interrupt
