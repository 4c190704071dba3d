"""The mini-batch loop shared by the estimators, the parity check and the benchmarks.

Batch order comes from a host ``numpy.random.Generator``: every backend sees the
same rows in the same batches.  Each epoch gathers the shuffled rows once on the
device (one transfer of n indices), then takes contiguous slices, so a step does
no host round trip and no copy beyond the batch itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

import numpy as np

from ._backend import Array, Namespace, Placement, take_rows
from .layers import Params
from .network import train_step
from .optimizers import Optimizer, State
from .plan import Plan


class Step(NamedTuple):
    """The result of one optimizer step."""

    params: Params
    state: State
    loss: Array
    """The batch loss, a 0-d array still on the device."""
    rows: int
    """How many samples the batch held."""


def epoch_order(rng: np.random.Generator, n_samples: int, shuffle: bool) -> np.ndarray | None:
    """A host permutation of the rows for one epoch, or None to keep their order."""
    return rng.permutation(n_samples) if shuffle else None


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
) -> Iterator[Step]:
    """Yield one :class:`Step` per mini-batch of one epoch over ``X`` and ``Y``."""
    xp: Namespace = placement.xp
    if order is not None:
        X = take_rows(placement, X, order)
        Y = take_rows(placement, Y, order)
    n = X.shape[0]
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        if start == 0 and stop == n:
            Xb, Yb = X, Y
        else:
            Xb, Yb = X[start:stop, ...], Y[start:stop, ...]
        params, state, value = train_step(xp, params, state, Xb, Yb, plan, optimizer, alpha)
        yield Step(params, state, value, stop - start)
