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

from ..backend import (
    Array,
    Placement,
    floating_point_errors_ignored,
    full_precision,
    to_host,
)
from ..errors import DivergenceError
from ..nn.layers import Params
from ..nn.optimizers import Optimizer, State
from ..nn.plan import Plan
from ..validation import arg_name
from .compiled import CompiledEpochs, EpochResult, Layout, compiles
from .shuffle import EpochOrders
from .step import Data, epoch_batches, epoch_loss, train_step, validation_loss


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
    compiled: bool = True,
) -> Iterator[Epoch]:
    """Train ``epochs`` epochs on ``data``, yielding each one.

    ``optimizer()`` is called before every epoch, so that a learning-rate
    schedule (:mod:`mlp_xp.training.schedules`) sets each epoch's rate.  The
    epoch's batch losses (with sample weights, their weight sums too) and the
    validation loss are read back to the host once, at its end, never per step.
    A generator that is closed early (the caller stops) ends the shuffle's
    helper thread.

    On a backend that compiles (``adapter.compiled_epoch()``), each epoch is one
    compiled call (:mod:`mlp_xp.training.compiled`), unless ``compiled`` is
    False or the optimizer is a hand-made chain without hyperparams.
    """
    has_val = data.X_val is not None
    orders = EpochOrders(batches.position, data.n_rows, batches.size, batches.shuffle, epochs)
    fast = None
    if compiled and compiles(placement):
        fast = CompiledEpochs(placement, data, plan=plan, batch_size=batches.size, alpha=alpha)
    with floating_point_errors_ignored(placement), orders:
        for _ in range(epochs):
            order, batch_order, position = orders.next()
            epoch_optimizer = optimizer()
            # Entered and left within the epoch: a scope held across a yield
            # would be restored out of order by interleaved generators.
            with full_precision(placement):
                if fast is not None and epoch_optimizer.hyperparams is not None:
                    result, _ = fast.run(params, state, epoch_optimizer, order, batch_order)
                else:
                    result = _eager_epoch(
                        placement, params, state, data, plan, epoch_optimizer, batches.size,
                        (order, batch_order), alpha,
                    )  # fmt: skip
            params, state = result.params, result.state
            # The one read-back of the epoch: its batch losses (and weight sums) and
            # validation loss.
            values = to_host(result.values).tolist()
            n, block = result.layout.batches, result.layout.slots
            rows: list[float] = (
                values[block : block + n] if result.rows is None else list(result.rows)
            )
            loss = epoch_loss(values[:n], rows)
            val_loss = float(values[-1]) if has_val else None
            yield Epoch(params, state, position, loss, val_loss, n)


def _eager_epoch(
    placement: Placement,
    params: Params,
    state: State,
    data: Data,
    plan: Plan,
    optimizer: Optimizer,
    batch_size: int,
    orders: tuple[Any, Any],
    alpha: float,
) -> EpochResult:
    """One epoch, step by step; its losses (and weight sums, validation loss) stacked.

    The steps of :func:`~mlp_xp.training.step.epoch_steps`, written out here
    without its generator and its ``Step`` records, which weigh on a small
    network's epoch of a few 50 us steps (``benchmarks/loop_cost.py`` times
    the loop alone).
    """
    xp = placement.xp
    order, batch_order = orders
    settle = placement.adapter.materialize  # looked up once an epoch, called every step
    losses: list[Array] = []
    weights: list[Array] = []
    rows: list[int] = []
    for Xb, Yb, Wb in epoch_batches(
        placement, data.X, data.Y, batch_size, order, batch_order, data.W, data.rows, data.prepare
    ):
        params, state, value = train_step(
            placement, params, state, Xb, Yb, plan, optimizer, alpha, Wb
        )
        params, state = settle((params, state), here=True)
        losses.append(value)
        rows.append(int(Xb.shape[0]))
        if Wb is not None:
            weights.append(xp.sum(Wb))
    if data.X_val is not None and data.Y_val is not None:
        # No L2 term: the validation loss measures the fit alone.
        losses.append(validation_loss(xp, params, plan, data.X_val, data.Y_val, data.W_val))
    n = len(rows)
    values = xp.stack(losses[:n] + weights + losses[n:])
    layout = Layout(data.n_rows, batch_size, n, n, False)
    return EpochResult(params, state, values, layout, None if weights else rows)


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
