"""The estimators' epoch loop: schedule, stopping, callbacks, why it stopped (estimator layer).

:class:`EpochLoop` is mixed into both estimators.  It drives
:func:`mlp_xp.training.run_epochs`, commits each complete epoch, applies the
stopping rule and the learning-rate schedule, calls the user's callbacks, and
records in ``stop_reason_`` why training stopped:

* ``"converged"``: the training loss did not improve by ``tol`` for ``patience`` epochs;
* ``"early_stopping"``: the validation loss did not (``best_epoch_``'s weights are restored);
* ``"callback"``: a callback returned True;
* ``"diverged"``: the loss became infinite or NaN (:class:`DivergenceError`);
* ``"interrupted"``: Ctrl-C or an exception from a callback;
* ``"max_epochs"``: ``epochs`` ran out first.  A ``ConvergenceWarning`` says so,
  as scikit-learn's does, unless the run was ``partial_fit``'s single epoch.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from sklearn.exceptions import ConvergenceWarning

from ..backend import Placement
from ..errors import DivergenceError, warn_at_caller
from ..nn.layers import Params
from ..nn.optimizers import OPTIMIZERS, Optimizer
from ..nn.plan import Plan
from ..training import (
    Batches,
    Data,
    Epoch,
    Stopping,
    adapt,
    after_epoch,
    check_diverged,
    epoch_rate,
    run_callbacks,
    run_epochs,
)
from .provenance import end_segment, ending, joined, progress, with_segment

STOP_REASONS: tuple[str, ...] = (
    "converged",
    "early_stopping",
    "callback",
    "diverged",
    "interrupted",
    "max_epochs",
)
"""Every value of ``stop_reason_``."""


@functools.lru_cache(maxsize=64)
def _optimizer(name: str, learning_rate: float) -> Optimizer:
    """The optimizer ``name`` at ``learning_rate``, made once per rate.

    Optimizers are immutable, so epochs at one rate share one: making Adam anew
    every epoch took 2 us of the lecture network's 0.4 ms epoch.
    """
    return OPTIMIZERS[name](learning_rate)


class EpochLoop:
    """The training loop over epochs, shared by ``fit``, resumes and ``partial_fit``."""

    # Set by the estimator (constructor parameters and fitted attributes).
    params_: Params
    n_epochs_: int
    history_: dict[str, list[Any]]
    loss_: float | None
    best_epoch_: int
    stop_reason_: str
    interrupted_: bool
    provenance_: dict[str, Any]
    _state: dict[str, Any]
    optimizer: str
    learning_rate: float
    schedule: str
    power_t: float
    epochs: int
    batch_size: int
    alpha: float
    tol: float
    patience: int
    early_stopping: bool

    if TYPE_CHECKING:  # provided by the estimator classes

        def _plan(self) -> Plan: ...

        def _shuffle_mode(self, placement: Placement) -> str | None: ...

    def _epoch_optimizer(self, state: dict[str, Any], max_epochs: int) -> Optimizer:
        """The optimizer of the coming epoch, at the schedule's learning rate."""
        state["lr_now"] = epoch_rate(
            self.schedule,
            state,
            learning_rate=float(self.learning_rate),
            power_t=float(self.power_t),
            epoch=self.n_epochs_,
            epochs=max_epochs,
        )
        return _optimizer(self.optimizer, state["lr_now"])

    def _train_on(
        self,
        placement: Placement,
        data: Data,
        max_epochs: int,
        callbacks: tuple[Any, ...],
        stopping: bool,
        segment: dict[str, Any],
    ) -> None:
        """The training loop, on the placement's device; ``segment`` records how it went."""
        state = getattr(self, "_state", None) or {}
        n = data.n_rows
        batches = Batches(
            min(int(self.batch_size), n), self._shuffle_mode(placement), state["rng"]
        )
        rule = Stopping(state, float(self.tol), int(self.patience))
        steps, reason = 0, "max_epochs"
        watch_val = data.X_val is not None
        # The record with this call's segment, made once; each epoch updates the
        # segment in place (rebuilding the record every epoch was quadratic in epochs).
        record = with_segment(getattr(self, "provenance_", None), segment)
        try:
            for epoch in run_epochs(
                placement,
                self.params_,
                state["opt"],
                data,
                plan=self._plan(),
                optimizer=lambda: self._epoch_optimizer(state, max_epochs),
                batches=batches,
                alpha=float(self.alpha),
                epochs=max_epochs - self.n_epochs_,
            ):
                check_diverged(epoch, self.n_epochs_, self.learning_rate)
                self._commit(state, epoch, n)
                steps += epoch.steps
                # A checkpoint saved by a callback (the command line's periodic one)
                # records this segment so far, as an interrupted one would be.
                progress(segment, end_epoch=self.n_epochs_, steps=steps)
                self.provenance_ = record
                # The epoch is handled whole (the stopping rule included) before the
                # callbacks run: a callback that raises leaves the state an interrupt
                # in the next epoch would, so that a resume continues exactly.
                if stopping and self._rule_stops(rule, state, epoch):
                    reason = "early_stopping" if watch_val else "converged"
                logs = {
                    "epoch": self.n_epochs_,
                    "epochs": max_epochs,
                    "loss": epoch.loss,
                    "val_loss": epoch.val_loss,
                    "learning_rate": state["lr_now"],
                }
                if run_callbacks(callbacks, self.n_epochs_, logs) is not None:
                    reason = "callback" if reason == "max_epochs" else reason
                if reason != "max_epochs":
                    break
        except BaseException as exc:
            # Keep the state of the last complete epoch, so that the checkpoint the
            # caller saves resumes exactly; then let the interrupt through.
            if isinstance(exc, KeyboardInterrupt):
                self.interrupted_ = True
            self.stop_reason_ = "diverged" if isinstance(exc, DivergenceError) else "interrupted"
            self._state = state
            self._record(record, segment, ending(exc, False), steps, None)
            raise
        self._state = state
        self._finish(record, state, segment, reason, steps, stopping and watch_val, max_epochs)

    def _rule_stops(self, rule: Stopping, state: dict[str, Any], epoch: Epoch) -> bool:
        """The stopping rule after an epoch (the adaptive schedule may postpone it)."""
        stop, best = rule.update(epoch.loss, epoch.val_loss, self.params_)
        if best:
            self.best_epoch_ = self.n_epochs_
        return adapt(self.schedule, state, stop)

    def _finish(
        self,
        record: dict[str, Any],
        state: dict[str, Any],
        segment: dict[str, Any],
        reason: str,
        steps: int,
        kept_val: bool,
        max_epochs: int,
    ) -> None:
        """A segment that ended normally: best weights, stop reason, record, warning."""
        kept_best = kept_val and state["best"] is not None
        if kept_best:
            self.params_ = state["best"]
        self.interrupted_ = False
        self.stop_reason_ = reason
        best_epoch = getattr(self, "best_epoch_", None) if kept_best else None
        ended = {"max_epochs": "completed", "callback": "callback"}.get(reason, "stopped")
        self._record(record, segment, ended, steps, best_epoch)
        if reason == "max_epochs" and segment["kind"] != "partial_fit":
            msg = (
                f"{type(self).__name__}: the {max_epochs} epochs ran out while the "
                f"loss was still improving by more than tol={self.tol} within "
                f"{self.patience} epochs; raise epochs, or tol, to let it converge"
            )
            warn_at_caller(msg, ConvergenceWarning)

    def _commit(self, state: dict[str, Any], epoch: Epoch, rows: int) -> None:
        """An epoch is complete: keep its weights, optimizer state, position and losses."""
        self.params_, state["opt"] = epoch.params, epoch.state
        state["rng"] = epoch.position
        after_epoch(state, rows)
        self.n_epochs_ += 1
        self.history_["loss"].append(epoch.loss)
        self.history_["val_loss"].append(epoch.val_loss)
        self.history_.setdefault("learning_rate", []).append(state["lr_now"])
        self.loss_ = epoch.loss

    def _record(
        self,
        record: dict[str, Any],
        segment: dict[str, Any],
        ended: str,
        steps: int,
        best_epoch: int | None,
    ) -> None:
        """End the call's segment in ``record`` (a partial_fit joins the run it continues)."""
        end_segment(
            segment, ended=ended, end_epoch=self.n_epochs_, steps=steps, best_epoch=best_epoch
        )
        self.provenance_ = joined(record)
