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

from ..backend import Array, Namespace, Placement, floating_point_errors_ignored, to_host
from ..errors import DivergenceError
from ..nn.backprop import forward_output
from ..nn.layers import Params
from ..nn.optimizers import Optimizer, State
from ..nn.plan import Plan
from .shuffle import EpochOrders
from .step import Prepare, epoch_loss, epoch_steps


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
    ``rows``, a device index array, trains on those rows of ``X``, ``Y`` and ``W``
    only (None: all of them), and ``prepare`` turns each gathered block of rows
    into training data (see :func:`mlp_xp.training.step.epoch_steps`): with
    both, training holds no copy of the data beyond a few batches.
    """

    X: Array
    Y: Array
    X_val: Array | None = None
    Y_val: Array | None = None
    W: Array | None = None
    W_val: Array | None = None
    rows: Array | None = None
    prepare: Prepare | None = None

    @property
    def n_rows(self) -> int:
        """How many rows train: those of ``rows``, or all of ``X``."""
        return int((self.X if self.rows is None else self.rows).shape[0])


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
    X, Y, X_val, Y_val, W, W_val, train_rows, prepare = data
    orders = EpochOrders(batches.position, data.n_rows, batches.size, batches.shuffle, epochs)
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
                rows=train_rows,
                prepare=prepare,
            ):
                params, state = step.params, step.state
                losses.append(step.loss)
                rows.append(step.rows)
                if step.weight is not None:
                    weights.append(step.weight)
            if X_val is not None and Y_val is not None:
                # No L2 term: the validation loss measures the fit alone.
                losses.append(validation_loss(xp, params, plan, X_val, Y_val, W_val))
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


VALIDATION_BLOCK_BYTES = 2**22
"""The validation loss runs the network on blocks of rows whose widest layer holds
about this many bytes, so that its activations never take memory like the data's."""


def validation_loss(
    xp: Namespace, params: Params, plan: Plan, X: Array, Y: Array, W: Array | None
) -> Array:
    """The (weighted) mean loss over the validation rows, a 0-d array on the device.

    A validation set larger than one block is run a block at a time, and the
    blocks' losses are added, weighted by their rows (or weights); a smaller one
    in one go, as one batch.
    """
    n = int(X.shape[0])
    width = max(int(X.shape[1]), *(int(layer.W.shape[0]) for layer in params))
    rows = max(1, VALIDATION_BLOCK_BYTES // (width * (xp.finfo(X.dtype).bits // 8)))
    total_w = None if W is None else xp.sum(W)
    total: Array = None
    for start in range(0, n, rows):
        stop = min(start + rows, n)
        whole = start == 0 and stop == n
        Xb, Yb = (X, Y) if whole else (X[start:stop, ...], Y[start:stop, ...])
        z, y_hat = forward_output(xp, params, Xb, plan)
        if W is None:
            part = plan.loss.value(xp, z, y_hat, Yb, None)
            part = part if whole else part * ((stop - start) / n)
        else:
            part = plan.loss.value(xp, z, y_hat, Yb, W[start:stop, ...] / total_w)
        total = part if total is None else total + part
    return total


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
