"""The driver's observers: divergence, the schedule and the stopping rule (training layer).

Each is an :class:`~mlp_xp.training.driver.Observer`; ``fit`` runs them in this
order after every epoch, before its own history and provenance and the user's
callbacks, and the parity suite runs the same schedule and rule:

* :class:`Divergence` raises :class:`DivergenceError` when an epoch's loss is
  not finite, before anything of that epoch is kept;
* :class:`Schedule` sets each epoch's optimizer at the schedule's learning rate
  and counts the rows seen (:mod:`mlp_xp.training.schedules`);
* :class:`StoppingRule` is scikit-learn's rule, which the ``adaptive`` schedule
  postpones by dividing the rate (:func:`~mlp_xp.training.schedules.adapt`).
"""

from __future__ import annotations

import math
from typing import Any

from ..errors import DivergenceError
from ..nn.layers import Params
from ..validation import arg_name
from .driver import Epoch, Observer, Run
from .schedules import adapt, after_epoch, epoch_rate, optimizer_at


def check_diverged(epoch: Epoch, completed: int, learning_rate: float) -> None:
    """Raise :class:`DivergenceError` when an epoch's loss is not finite.

    ``completed`` is the number of epochs whose weights are kept.
    """
    loss, val_loss = epoch.loss, epoch.val_loss
    if math.isfinite(loss) and (val_loss is None or math.isfinite(val_loss)):
        return
    msg = (
        f"training diverged in epoch {completed + 1}: the loss became {loss}"
        f"{'' if val_loss is None else f' (validation {val_loss})'}; "
        f"the weights of epoch {completed} were kept. Try a smaller "
        f"{arg_name('learning_rate')} than {learning_rate}"
    )
    raise DivergenceError(msg)


class Divergence(Observer):
    """Stops a run whose loss is not finite, with :class:`DivergenceError`.

    ``start`` is the number of epochs trained before this run (a resume's).
    """

    def __init__(self, *, start: int, learning_rate: float) -> None:
        self.start, self.learning_rate = start, learning_rate

    def on_epoch_end(self, run: Run, epoch: Epoch) -> bool:
        check_diverged(epoch, self.start + run.epoch, self.learning_rate)
        return False


class Schedule(Observer):
    """Each epoch's optimizer at the schedule's learning rate, and the rows seen.

    ``state`` holds the schedule's state (``lr``, ``seen``; ``lr_now``, the rate
    in force, is set here), as a checkpoint saves it.  ``start`` is the number
    of epochs trained before this run, ``epochs`` the most the whole training
    runs (``cosine`` decays over them).
    """

    reads_losses = False

    def __init__(
        self,
        state: dict[str, Any],
        *,
        name: str,
        optimizer: str,
        learning_rate: float,
        power_t: float,
        start: int,
        epochs: int,
    ) -> None:
        self.state, self.name, self.optimizer = state, name, optimizer
        self.learning_rate, self.power_t = float(learning_rate), float(power_t)
        self.start, self.epochs = start, epochs

    def on_epoch_begin(self, run: Run) -> None:
        rate = epoch_rate(
            self.name,
            self.state,
            learning_rate=self.learning_rate,
            power_t=self.power_t,
            epoch=self.start + run.epoch,
            epochs=self.epochs,
        )
        self.state["lr_now"] = run.learning_rate = rate
        run.optimizer = optimizer_at(self.optimizer, rate)

    def on_epoch_end(self, run: Run, epoch: Epoch) -> bool:
        after_epoch(self.state, run.rows)
        return False


class Stopping:
    """scikit-learn's rule: stop after ``patience`` epochs without a ``tol`` improvement.

    With a validation set the validation loss is watched and the best weights
    are kept; otherwise the training loss is watched.  The counters live in a
    checkpoint's state dict (``best``, ``best_loss``, ``bad_epochs``), so that a
    resumed run stops where an uninterrupted one would.
    """

    def __init__(self, state: dict[str, Any], tol: float, patience: int) -> None:
        self.state = state
        self.tol = tol
        self.patience = patience

    def update(self, loss: float, val_loss: float | None, params: Params) -> tuple[bool, bool]:
        """After an epoch: ``(stop, best)``, whether to stop and whether these weights are best."""
        state = self.state
        watched = val_loss if val_loss is not None else loss
        if watched < state["best_loss"] - self.tol:
            state["bad_epochs"] = 0
        else:
            state["bad_epochs"] += 1
        best = False
        if watched < state["best_loss"]:
            state["best_loss"] = watched
            if val_loss is not None:
                state["best"] = params
                best = True
        return bool(state["bad_epochs"] >= self.patience), best


def start_stopping(state: dict[str, Any]) -> None:
    """Set a new run's stopping counters: no best weights, no loss seen, no bad epoch."""
    state.update(best=None, best_loss=math.inf, bad_epochs=0)


class StoppingRule(Observer):
    """:class:`Stopping` after every epoch, postponed by the ``adaptive`` schedule.

    ``stopped`` says whether it asked to stop after the last epoch, ``best``
    whether that epoch's weights are the best so far (kept in ``state["best"]``).
    """

    def __init__(self, state: dict[str, Any], *, tol: float, patience: int, schedule: str) -> None:
        self.rule = Stopping(state, float(tol), int(patience))
        self.schedule = schedule
        self.stopped = self.best = False

    def on_epoch_end(self, run: Run, epoch: Epoch) -> bool:
        stop, self.best = self.rule.update(epoch.loss, epoch.val_loss, epoch.params)
        self.stopped = adapt(self.schedule, self.rule.state, stop)
        return self.stopped
