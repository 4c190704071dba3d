"""The mini-batch loop shared by the estimators, the parity check and the benchmarks.

Batch order comes from a host ``numpy.random.Generator``: every backend sees the
same rows in the same batches.  Two ways to shuffle share the loop:

* rows (:func:`epoch_order`): each epoch gathers the rows in a new order once on
  the device (one transfer of n indices), then takes contiguous slices, so a
  step does no host round trip and no copy beyond the batch itself;
* batches (:func:`batch_order`): the rows stay where they are, and the epoch
  visits the contiguous slices ``[i * batch_size, (i + 1) * batch_size)`` in a
  new order.  Nothing is gathered, so a batch is a slice of whole chunks of a
  dask array that may not fit in memory.  This is the default on dask, and
  available everywhere so that a parity check compares like with like.

After every step the loop hands the step's arrays to
:func:`mlp_xp._backend.materialize`, which computes them on dask (so the task
graph does not grow) and does nothing on eager backends.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import NamedTuple

import numpy as np

from ._backend import Array, Placement, materialize, take_rows
from .layers import Params
from .network import value_and_grad
from .optimizers import Optimizer, State, apply_updates
from .plan import Plan

SHUFFLES: tuple[str, ...] = ("rows", "batches")
"""The ways an epoch can reorder the data, besides not at all."""


class Step(NamedTuple):
    """The result of one optimizer step."""

    params: Params
    state: State
    loss: Array
    """The batch loss, a 0-d array still on the device."""
    rows: int
    """How many samples the batch held."""
    loss_sum: Array = None
    """The sum of ``loss * rows`` over the epoch's steps so far, a 0-d array on the device."""


def train_step(
    placement: Placement,
    params: Params,
    state: State,
    X: Array,
    Y: Array,
    plan: Plan,
    optimizer: Optimizer,
    alpha: float = 0.0,
) -> tuple[Params, State, Array]:
    """One optimizer step on one batch: (new params, new state, batch loss).

    This is what ``fit`` runs on every batch and what benchmarks/step.py times.
    The gradients are materialised before the update, so that a lazy backend
    computes them where the data is and the update where the parameters are; on
    dask the workers compute the partial products of the batch's chunks, the
    graph sums them, and the small gradients come back.  On eager backends
    materialize does nothing.
    """
    value, grads = value_and_grad(placement.xp, params, X, Y, plan, alpha)
    value, grads = materialize(placement, (value, grads))
    updates, state = optimizer.update(grads, state, params)
    return apply_updates(params, updates), state, value


def epoch_order(rng: np.random.Generator, n_samples: int, shuffle: bool) -> np.ndarray | None:
    """A host permutation of the rows for one epoch, or None to keep their order."""
    return rng.permutation(n_samples) if shuffle else None


def batch_order(rng: np.random.Generator, n_samples: int, batch_size: int) -> np.ndarray:
    """A host permutation of the epoch's batch indices: which row slice comes next.

    Batch ``i`` is rows ``[i * batch_size, min((i + 1) * batch_size, n_samples))``.
    """
    return rng.permutation(math.ceil(n_samples / batch_size))


def epoch_steps(
    placement: Placement,
    params: Params,
    state: State,
    X: Array,
    Y: Array,
    *,
    plan: Plan,
    optimizer: Optimizer,
    batch_size: int,
    order: np.ndarray | None,
    alpha: float = 0.0,
    batches: np.ndarray | None = None,
) -> Iterator[Step]:
    """Yield one :class:`Step` per mini-batch of one epoch over ``X`` and ``Y``.

    ``order`` (from :func:`epoch_order`) gathers the rows in a new order first;
    ``batches`` (from :func:`batch_order`) visits the contiguous slices in the
    order it gives.  With neither, the slices come in row order.
    """
    if order is not None:
        X = take_rows(placement, X, order)
        Y = take_rows(placement, Y, order)
    n = X.shape[0]
    if batches is None:
        starts: Iterator[int] = iter(range(0, n, batch_size))
    else:
        starts = (int(i) * batch_size for i in batches)
    loss_sum = None
    for start in starts:
        stop = min(start + batch_size, n)
        if start == 0 and stop == n:
            Xb, Yb = X, Y
        else:
            Xb, Yb = X[start:stop, ...], Y[start:stop, ...]
        params, state, value = train_step(placement, params, state, Xb, Yb, plan, optimizer, alpha)
        part = value * (stop - start)
        loss_sum = part if loss_sum is None else loss_sum + part
        params, state, loss_sum = materialize(placement, (params, state, loss_sum), here=True)
        yield Step(params, state, value, stop - start, loss_sum)
