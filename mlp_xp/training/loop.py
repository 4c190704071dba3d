"""The epoch driver: epochs of steps, the divergence check and the stopping rule (training layer).

:func:`run_epochs` trains epoch after epoch and yields each complete epoch's
results, so that its caller commits them (weights, history, checkpoint state)
only once an epoch is whole: an interrupted or diverged run keeps the last
complete epoch.  The caller owns the stopping decision, through
:class:`Stopping`, scikit-learn's rule.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

from ..backend import Array, Placement, floating_point_errors_ignored, to_host
from ..errors import DivergenceError
from ..nn.backprop import forward_output
from ..nn.layers import Params
from ..nn.optimizers import Optimizer, State
from ..nn.plan import Plan
from .shuffle import EpochOrders
from .step import epoch_loss, epoch_steps


class Epoch(NamedTuple):
    """One complete epoch: its weights, optimizer state, shuffle position and losses."""

    params: Params
    state: State
    position: dict[str, Any]
    """The shuffle position after this epoch, for a checkpoint."""
    loss: float
    """The mean training loss per sample, with the L2 term."""
    val_loss: float | None
    """The validation loss without the L2 term, or None without a validation set."""
    steps: int
    """How many optimizer steps (mini-batches) the epoch took."""


class Data(NamedTuple):
    """The arrays an epoch trains on, on the device, standardised.

    ``W`` and ``W_val`` are sample weights as columns (n, 1), or None when every
    row counts the same; ``X_val``/``Y_val`` are None without a validation set.
    """

    X: Array
    Y: Array
    X_val: Array | None = None
    Y_val: Array | None = None
    W: Array | None = None
    W_val: Array | None = None


class Batches(NamedTuple):
    """How an epoch cuts the data: batch size, shuffle mode and its starting position."""

    size: int
    shuffle: str | None
    position: dict[str, Any]


def run_epochs(
    placement: Placement,
    params: Params,
    state: State,
    data: Data,
    *,
    plan: Plan,
    optimizer: Callable[[], Optimizer],
    batches: Batches,
    alpha: float,
    epochs: int,
) -> Iterator[Epoch]:
    """Train ``epochs`` epochs on ``data``, yielding each one.

    ``optimizer()`` is called before every epoch, so that a learning-rate
    schedule (:mod:`mlp_xp.training.schedules`) sets each epoch's rate.  The
    epoch's batch losses (with sample weights, their weight sums too) and the
    validation loss are read back to the host once, at its end, never per step.
    A generator that is closed early (the caller stops) ends the shuffle's
    helper thread.
    """
    xp = placement.xp
    X, Y, X_val, Y_val, W, W_val = data
    orders = EpochOrders(batches.position, int(X.shape[0]), batches.size, batches.shuffle, epochs)
    with floating_point_errors_ignored(placement), orders:
        for _ in range(epochs):
            order, batch_order, position = orders.next()
            losses: list[Array] = []
            weights: list[Array] = []
            rows: list[float] = []
            for step in epoch_steps(
                placement,
                params,
                state,
                X,
                Y,
                plan=plan,
                optimizer=optimizer(),
                batch_size=batches.size,
                order=order,
                alpha=alpha,
                batches=batch_order,
                W=W,
            ):
                params, state = step.params, step.state
                losses.append(step.loss)
                rows.append(step.rows)
                if step.weight is not None:
                    weights.append(step.weight)
            if X_val is not None:
                z, y_hat = forward_output(xp, params, X_val, plan)
                w_val = None if W_val is None else W_val / xp.sum(W_val)
                # No L2 term: the validation loss measures the fit alone.
                losses.append(plan.loss.value(xp, z, y_hat, Y_val, w_val))
            # The one read-back of the epoch: its batch losses (and weight sums) and
            # validation loss.
            values = to_host(xp.stack([xp.asarray(v) for v in losses + weights])).tolist()
            n = len(rows)
            if weights:
                rows = values[-n:]
                values = values[:-n]
            loss = epoch_loss(values[:n], rows)
            val_loss = float(values[n]) if X_val is not None else None
            yield Epoch(params, state, position, loss, val_loss, n)


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
        f"learning_rate than {learning_rate}"
    )
    raise DivergenceError(msg)


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
