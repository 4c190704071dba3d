"""The estimators' training run: the driver and its observers, why it stopped (estimator layer).

:class:`EpochLoop` is mixed into both estimators.  It trains through
:class:`mlp_xp.training.Driver`, with the training layer's observers (the
divergence check, the learning-rate schedule, the stopping rule, the user's
callbacks) and its own, which commits each complete epoch (weights, optimizer
state, history, provenance), and records in ``stop_reason_`` why training
stopped:

* ``"converged"``: the training loss did not improve by ``tol`` for ``patience`` epochs;
* ``"early_stopping"``: the validation loss did not (``best_epoch_``'s weights are restored);
* ``"callback"``: a callback returned True;
* ``"diverged"``: the loss became infinite or NaN (:class:`DivergenceError`);
* ``"interrupted"``: Ctrl-C or an exception from a callback;
* ``"max_epochs"``: ``epochs`` ran out first.  A ``ConvergenceWarning`` says so,
  as scikit-learn's does, unless the run was ``partial_fit``'s single epoch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sklearn.exceptions import ConvergenceWarning

from ..backend import Placement
from ..errors import DivergenceError, warn_at_caller
from ..nn.layers import Params
from ..nn.plan import Plan
from ..training import (
    Batches,
    Callbacks,
    Data,
    Divergence,
    Driver,
    Epoch,
    Observer,
    Run,
    Schedule,
    StoppingRule,
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

    def _train_on(
        self,
        placement: Placement,
        data: Data,
        max_epochs: int,
        callbacks: tuple[Any, ...],
        stopping: bool,
        segment: dict[str, Any],
    ) -> None:
        """The training run, on the placement's device; ``segment`` records how it went."""
        state = getattr(self, "_state", None) or {}
        n = data.n_rows
        batches = Batches(
            min(int(self.batch_size), n), self._shuffle_mode(placement), state["rng"]
        )
        start = self.n_epochs_
        watch_val = data.X_val is not None
        rule = (
            StoppingRule(state, tol=self.tol, patience=self.patience, schedule=self.schedule)
            if stopping
            else None
        )
        # The record with this call's segment, made once; each epoch updates the
        # segment in place (rebuilding the record every epoch was quadratic in epochs).
        record = with_segment(getattr(self, "provenance_", None), segment)
        commit = _Commit(self, state, segment, record, rule)
        users = Callbacks(callbacks, start=start, epochs=max_epochs)
        # The epoch is handled whole (the stopping rule included) before the
        # callbacks run: a callback that raises leaves the state an interrupt in
        # the next epoch would, so that a resume continues exactly.
        observers: list[Observer] = [
            Divergence(start=start, learning_rate=self.learning_rate),
            Schedule(
                state,
                name=self.schedule,
                optimizer=self.optimizer,
                learning_rate=float(self.learning_rate),
                power_t=float(self.power_t),
                start=start,
                epochs=max_epochs,
            ),
            *([] if rule is None else [rule]),
            commit,
            users,
        ]
        driver = Driver(
            placement,
            data,
            plan=self._plan(),
            alpha=float(self.alpha),
            batches=batches,
            observers=observers,
        )
        try:
            driver.run(self.params_, state["opt"], max_epochs - start)
        except BaseException as exc:
            # Keep the state of the last complete epoch, so that the checkpoint the
            # caller saves resumes exactly; then let the interrupt through.
            if isinstance(exc, KeyboardInterrupt):
                self.interrupted_ = True
            self.stop_reason_ = "diverged" if isinstance(exc, DivergenceError) else "interrupted"
            self._state = state
            self._record(record, segment, ending(exc, False), commit.steps, None)
            raise
        reason = "max_epochs"
        if rule is not None and rule.stopped:
            reason = "early_stopping" if watch_val else "converged"
        elif users.stopper is not None:
            reason = "callback"
        self._state = state
        self._finish(
            record, state, segment, reason, commit.steps, stopping and watch_val, max_epochs
        )

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


class _Commit(Observer):
    """An epoch is complete: the model keeps its weights, optimizer state, position and losses.

    It also records the segment so far in the model's provenance, so that a
    checkpoint a callback saves (the command line's periodic one) records it,
    as an interrupted one would be; and ``best_epoch_`` when the stopping rule
    found this epoch's weights the best.
    """

    def __init__(
        self,
        model: EpochLoop,
        state: dict[str, Any],
        segment: dict[str, Any],
        record: dict[str, Any],
        rule: StoppingRule | None,
    ) -> None:
        self.model, self.state, self.segment, self.record, self.rule = (
            model, state, segment, record, rule
        )  # fmt: skip
        self.steps = 0

    def on_epoch_end(self, run: Run, epoch: Epoch) -> bool:
        model, state = self.model, self.state
        model.params_, state["opt"] = epoch.params, epoch.state
        state["rng"] = epoch.position
        model.n_epochs_ += 1
        model.history_["loss"].append(epoch.loss)
        model.history_["val_loss"].append(epoch.val_loss)
        model.history_.setdefault("learning_rate", []).append(state["lr_now"])
        model.loss_ = epoch.loss
        self.steps += epoch.steps
        progress(self.segment, end_epoch=model.n_epochs_, steps=self.steps)
        model.provenance_ = self.record
        if self.rule is not None and self.rule.best:
            model.best_epoch_ = model.n_epochs_
        return False
