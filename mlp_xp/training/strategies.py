"""How an epoch executes: eager, lazy or compiled, chosen from the backend's capabilities.

The driver (:mod:`mlp_xp.training.driver`) hands each epoch to one strategy,
which runs the epoch's steps and returns an :class:`EpochResult`: the new
weights and optimizer state, and one vector of the batch losses (with sample
weights, their weight sums; then the validation loss), still on the device.

* :class:`Eager`: step by step, on a library that computes as it goes (NumPy,
  PyTorch, CuPy, array-api-strict, JAX off its compiled path);
* :class:`Lazy`: the same steps, each one's weights and state materialised
  (computed) before the next, so that a library that records a task graph
  (``adapter.lazy``: dask) never grows one across steps;
* :class:`Compiled`: the epoch as one compiled call scanning its batches
  (``adapter.compiled_epoch()`` is not None: JAX), see
  :mod:`mlp_xp.training.compiled`; an optimizer without hyperparams (a hand-made
  chain) trains eagerly.

A step observer (``on_step``) sees every step as a :class:`~mlp_xp.training.step.Step`
(the parity suite compares each one with its reference); one that returns True
ends the epoch there.  The compiled strategy then records every step's weights
in its call and hands them over after it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..backend import Array, Placement
from ..nn.layers import Params
from ..nn.optimizers import Optimizer, State, host_counts_restored
from ..nn.plan import Plan
from ..tree import tree_map
from .compiled import CompiledEpochs, EpochResult, Layout, compiles, epoch_index
from .step import Data, Step, epoch_batches, train_step, validation_loss

OnStep = Callable[[Step], bool]
"""A step observer: called after every step; True ends the epoch (and the run) there."""


class Eager:
    """Each epoch step by step, on the host's loop; its losses stacked at its end.

    The loop is written for a small network's epoch of a few 50 us steps
    (``benchmarks/loop_cost.py`` times it alone): no generator per step, no
    step record unless a step observer asks for one, and the adapter's
    ``materialize`` (for :class:`Lazy`) looked up once an epoch.
    """

    name = "eager"
    settles = False
    """Whether each step's weights and state are materialised before the next."""

    def __init__(
        self, placement: Placement, data: Data, *, plan: Plan, batch_size: int, alpha: float
    ) -> None:
        self.placement, self.data, self.plan = placement, data, plan
        self.batch_size, self.alpha = batch_size, alpha

    def epoch(
        self,
        params: Params,
        state: State,
        optimizer: Optimizer,
        order: np.ndarray | None,
        batches: np.ndarray | None,
        on_step: OnStep | None = None,
    ) -> EpochResult | None:
        """One epoch; None when ``on_step`` ended it before its last step."""
        placement, data, plan, alpha = self.placement, self.data, self.plan, self.alpha
        xp = placement.xp
        settle = placement.adapter.materialize if self.settles else None  # looked up once
        losses: list[Array] = []
        weights: list[Array] = []
        rows: list[int] = []
        for Xb, Yb, Wb in epoch_batches(
            placement, data.X, data.Y, self.batch_size, order, batches, data.W, data.rows,
            data.prepare,
        ):  # fmt: skip
            params, state, value = train_step(
                placement, params, state, Xb, Yb, plan, optimizer, alpha, Wb
            )
            if settle is not None:
                params, state = settle((params, state), here=True)
            losses.append(value)
            rows.append(int(Xb.shape[0]))
            weight = None if Wb is None else xp.sum(Wb)
            if weight is not None:
                weights.append(weight)
            if on_step is not None and on_step(Step(params, state, value, rows[-1], weight)):
                return None
        if data.X_val is not None and data.Y_val is not None:
            # No L2 term: the validation loss measures the fit alone.
            losses.append(validation_loss(xp, params, plan, data.X_val, data.Y_val, data.W_val))
        n = len(rows)
        values = xp.stack(losses[:n] + weights + losses[n:])
        layout = Layout(data.n_rows, self.batch_size, n, n, False)
        return EpochResult(params, state, values, layout, None if weights else rows)


class Lazy(Eager):
    """:class:`Eager`, with each step's weights and state computed before the next.

    On a library that records a task graph, the graph of a step is computed
    where the data are and the small results come back, so that an epoch's
    graph does not grow step after step.
    """

    name = "lazy"
    settles = True


class Compiled:
    """Each epoch one compiled call (:class:`~mlp_xp.training.compiled.CompiledEpochs`).

    ``trace`` also records every step's weights and state in the call, for a
    step observer.  An optimizer without hyperparams trains eagerly.
    """

    name = "compiled"

    def __init__(
        self,
        placement: Placement,
        data: Data,
        *,
        plan: Plan,
        batch_size: int,
        alpha: float,
        trace: bool = False,
    ) -> None:
        self.eager = Eager(placement, data, plan=plan, batch_size=batch_size, alpha=alpha)
        self.compiled = CompiledEpochs(
            placement, data, plan=plan, batch_size=batch_size, alpha=alpha, trace=trace
        )
        self.weighted = data.W is not None

    def epoch(
        self,
        params: Params,
        state: State,
        optimizer: Optimizer,
        order: np.ndarray | None,
        batches: np.ndarray | None,
        on_step: OnStep | None = None,
    ) -> EpochResult | None:
        """One epoch as one compiled call; then each step to ``on_step``, if given."""
        if optimizer.hyperparams is None:
            return self.eager.epoch(params, state, optimizer, order, batches, on_step)
        result, trace = self.compiled.run(params, state, optimizer, order, batches)
        if on_step is None:
            return result
        layout = result.layout
        _, counts = epoch_index(layout, order, batches)
        all_params, all_states = trace
        for k in range(layout.batches):
            pick = tree_map(
                lambda a, k=k: None if a is None else a[k, ...], (all_params, all_states)
            )
            step_state = host_counts_restored(pick[1], state, k + 1)
            weight = result.values[layout.slots + k] if self.weighted else None
            if on_step(Step(pick[0], step_state, result.values[k], int(counts[k]), weight)):
                return None
        return result


Strategy = Eager | Compiled
"""An execution strategy: ``epoch(params, state, optimizer, order, batches, on_step)``."""


def choose_strategy(
    placement: Placement,
    data: Data,
    *,
    plan: Plan,
    batch_size: int,
    alpha: float,
    compiled: bool = True,
    trace: bool = False,
) -> Strategy:
    """The strategy ``placement``'s backend trains with, from its adapter's capabilities.

    Compiled where the adapter compiles (unless ``compiled`` is False), lazy
    where it records a task graph, eager elsewhere.  ``trace``: a step observer
    will watch every step.
    """
    settings: dict[str, Any] = {"plan": plan, "batch_size": batch_size, "alpha": alpha}
    if compiled and compiles(placement):
        return Compiled(placement, data, trace=trace, **settings)
    if placement.adapter.lazy:
        return Lazy(placement, data, **settings)
    return Eager(placement, data, **settings)
