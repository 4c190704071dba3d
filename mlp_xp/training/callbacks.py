"""Callbacks of ``fit``: called after every epoch, able to stop training (training layer).

A callback is a callable ``callback(epoch, logs)`` or an object with an
``on_epoch_end(epoch, logs)`` method, as in Keras.  ``epoch`` is the number of
epochs completed (1 after the first); ``logs`` holds the host values the loop
already has: ``loss``, ``val_loss`` (None without a validation set),
``learning_rate``, ``epoch`` and ``epochs`` (the most this call trains to),
so a callback costs no device synchronisation.  A callback that returns True
stops training after this epoch; the model keeps this epoch's weights (early
stopping's best weights, if it was on) and records ``stop_reason_ == "callback"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .driver import Epoch, Observer, Run


def check_callbacks(callbacks: Any) -> tuple[Any, ...]:
    """``callbacks`` as a tuple, each one callable or with ``on_epoch_end``."""
    if callbacks is None:
        return ()
    if callable(callbacks) or hasattr(callbacks, "on_epoch_end"):
        callbacks = [callbacks]
    if isinstance(callbacks, (str, bytes)) or not isinstance(callbacks, Sequence):
        msg = f"callbacks must be a list of callables, got {type(callbacks).__name__}"
        raise TypeError(msg)
    for i, cb in enumerate(callbacks):
        if not (callable(cb) or callable(getattr(cb, "on_epoch_end", None))):
            msg = (
                f"callbacks[{i}] is a {type(cb).__name__}, neither callable nor with an "
                "on_epoch_end(epoch, logs) method"
            )
            raise TypeError(msg)
    return tuple(callbacks)


def run_callbacks(callbacks: tuple[Any, ...], epoch: int, logs: dict[str, Any]) -> str | None:
    """Call every callback; the name of the first that asked to stop, or None.

    Every callback is called, even after one has asked to stop, so that each
    sees every epoch (a logger records the last one too).
    """
    stopper = None
    for cb in callbacks:
        method = getattr(cb, "on_epoch_end", None)
        fn = method if callable(method) else cb
        if fn(epoch, dict(logs)) is True and stopper is None:
            stopper = getattr(cb, "__name__", None) or type(cb).__name__
    return stopper


class Callbacks(Observer):
    """The user's callbacks as a driver observer, after every epoch.

    ``start`` is the number of epochs trained before this run, ``epochs`` the
    most the whole training runs; ``stopper`` names the callback that asked to
    stop after the last epoch, or is None.
    """

    def __init__(self, callbacks: tuple[Any, ...], *, start: int, epochs: int) -> None:
        self.callbacks, self.start, self.epochs = callbacks, start, epochs
        self.stopper: str | None = None

    def on_epoch_end(self, run: Run, epoch: Epoch) -> bool:
        number = self.start + run.epoch + 1
        logs = {
            "epoch": number,
            "epochs": self.epochs,
            "loss": epoch.loss,
            "val_loss": epoch.val_loss,
            "learning_rate": run.learning_rate,
        }
        self.stopper = run_callbacks(self.callbacks, number, logs)
        return self.stopper is not None
