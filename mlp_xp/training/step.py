"""One optimizer step, and the mini-batches of an epoch (training layer).

A shuffled epoch (mode ``"rows"``) moves its row order to the device once (one
transfer of n indices) and gathers the rows in that order a few batches at a
time, so a step does no host round trip, works on a contiguous batch, and
reads it from cache.  The orders come from :mod:`mlp_xp.training.shuffle`.

The epoch's loop over these batches is the driver's
(:mod:`mlp_xp.training.strategies`); on a lazy backend it materialises each
step's arrays, so that the task graph does not grow.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import NamedTuple

import numpy as np

from ..backend import Array, Namespace, Placement, materialize, row_index
from ..blocks import row_blocks
from ..nn.backprop import forward_output
from ..nn.layers import Params
from ..nn.network import value_and_grad
from ..nn.optimizers import Optimizer, State, apply_updates
from ..nn.plan import Plan


class Step(NamedTuple):
    """The result of one optimizer step."""

    params: Params
    state: State
    loss: Array
    """The batch loss, a 0-d array still on the device."""
    rows: int
    """How many samples the batch held."""
    weight: Array | None = None
    """The batch's sample-weight sum (0-d, on the device), or None without weights."""


def train_step(
    placement: Placement,
    params: Params,
    state: State,
    X: Array,
    Y: Array,
    plan: Plan,
    optimizer: Optimizer,
    alpha: float | Array = 0.0,
    w: Array | None = None,
) -> tuple[Params, State, Array]:
    """One optimizer step on one batch: (new params, new state, batch loss).

    ``w`` holds the batch's sample weights as a column (n, 1), or is None.

    This is what ``fit`` runs on every batch and what benchmarks/step.py times.
    The gradients are materialised before the update, so that a lazy backend
    computes them where the data is and the update where the parameters are; on
    dask the workers compute the partial products of the batch's chunks, the
    graph sums them, and the small gradients come back.  On eager backends
    materialize does nothing.
    """
    sums = placement.adapter.column_sums  # the library's kernel for the bias gradients
    value, grads = value_and_grad(placement.xp, params, X, Y, plan, alpha, w, sums)
    value, grads = materialize(placement, (value, grads))
    updates, state = optimizer.update(grads, state, params)
    return apply_updates(params, updates), state, value


def epoch_loss(losses: list[float], rows: list[float]) -> float:
    """The epoch's mean loss per sample from its batch losses, summed in float64 on the host.

    ``rows`` are the batches' sizes, or with sample weights their weight sums.

    A sum past the largest float64 is inf, as a diverging run's loss should be.
    """
    try:
        total = math.fsum(value * count for value, count in zip(losses, rows, strict=True))
    except OverflowError:  # finite terms whose exact sum overflows
        return math.inf
    return total / sum(rows)


class Prepare(NamedTuple):
    """Turns a gathered block ``(X, Y)`` into training data: the estimators' standardisation.

    ``(X - x_mean) / x_scale`` and ``(Y - y_mean) / y_scale``, elementwise, so a
    block scaled as it is gathered holds the numbers of scaling all the data
    first; a None pair leaves that side as it is.  Arrays, not a closure, so that
    a compiled epoch takes them as arguments (:mod:`mlp_xp.training.compiled`)
    and a compilation reused by the next fit never keeps this fit's scaler.
    """

    x_mean: Array | None = None
    x_scale: Array | None = None
    y_mean: Array | None = None
    y_scale: Array | None = None

    def __call__(self, X: Array, Y: Array) -> tuple[Array, Array]:
        if self.x_mean is not None:
            X = (X - self.x_mean) / self.x_scale
        if self.y_mean is not None:
            Y = (Y - self.y_mean) / self.y_scale
        return X, Y


class Data(NamedTuple):
    """The arrays an epoch trains on, on the device, standardised.

    ``W`` and ``W_val`` are sample weights as columns (n, 1), or None when every
    row counts the same; ``X_val``/``Y_val`` are None without a validation set.
    ``rows``, a device index array, trains on those rows of ``X``, ``Y`` and ``W``
    only (None: all of them), and ``prepare`` turns each gathered block of rows
    into training data (see :func:`epoch_batches`): with
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


GATHER_BYTES = 2**20
"""How many bytes of shuffled rows to gather at a time (about a core's L2 cache)."""


def epoch_batches(
    placement: Placement,
    X: Array,
    Y: Array,
    batch_size: int,
    order: np.ndarray | None,
    batches: np.ndarray | None,
    W: Array | None = None,
    rows: Array | None = None,
    prepare: Prepare | None = None,
) -> Iterator[tuple[Array, Array, Array | None]]:
    """The epoch's mini-batches, each a contiguous ``(X, Y, W)`` triple (W may be None).

    A shuffled epoch moves its row order to the device once, then gathers the
    rows a few batches at a time, at most about :data:`GATHER_BYTES` (or one
    batch), so that the shuffle never holds a second copy of the data: gathering
    the whole epoch at once would double the memory a large data set needs on
    its device.  Each step then reads a batch the gather has just written.  The
    speed is the same within noise (mnist-sized epochs of 8 batches: 13.7 ms
    either way); a small data set is still gathered in one go.
    """
    xp = placement.xp
    n = X.shape[0] if rows is None else rows.shape[0]
    if rows is not None and order is None and batches is not None:
        # Contiguous batches of the training rows, in the order ``batches`` gives.
        for i in batches:
            start = int(i) * batch_size
            part = rows[start : min(start + batch_size, n)]
            Xb, Yb = xp.take(X, part, axis=0), xp.take(Y, part, axis=0)
            Wb = None if W is None else xp.take(W, part, axis=0)
            yield (*prepare(Xb, Yb), Wb) if prepare is not None else (Xb, Yb, Wb)
        return
    if order is not None or rows is not None:
        index: Array
        if order is None:
            index = rows
        else:
            index = row_index(placement, order)
            if rows is not None:
                index = xp.take(rows, index, axis=0)
        row_bytes = (X.shape[1] + Y.shape[1]) * (xp.finfo(X.dtype).bits // 8)
        chunk = batch_size * max(1, GATHER_BYTES // (batch_size * row_bytes))
        for first in range(0, n, chunk):
            part = index if chunk >= n else index[first : min(first + chunk, n)]
            Xc, Yc = xp.take(X, part, axis=0), xp.take(Y, part, axis=0)
            Wc = None if W is None else xp.take(W, part, axis=0)
            if prepare is not None:
                Xc, Yc = prepare(Xc, Yc)
            size = Xc.shape[0]
            if size <= batch_size:
                yield Xc, Yc, Wc
                continue
            for start in range(0, size, batch_size):
                stop = min(start + batch_size, size)  # the Array API has no out-of-range stops
                yield Xc[start:stop, ...], Yc[start:stop, ...], _rows(Wc, start, stop)
        return
    starts = range(0, n, batch_size) if batches is None else (int(i) * batch_size for i in batches)
    for start in starts:
        stop = min(start + batch_size, n)
        if start == 0 and stop == n:
            Xb, Yb, Wb = X, Y, W
        else:
            Xb, Yb, Wb = X[start:stop, ...], Y[start:stop, ...], _rows(W, start, stop)
        yield (*prepare(Xb, Yb), Wb) if prepare is not None else (Xb, Yb, Wb)


def _rows(W: Array | None, start: int, stop: int) -> Array | None:
    """Rows ``start:stop`` of the weights, or None without weights."""
    return None if W is None else W[start:stop, ...]


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
    row_bytes = width * (xp.finfo(X.dtype).bits // 8)
    total_w = None if W is None else xp.sum(W)
    total: Array = None
    for start, stop in row_blocks(n, row_bytes, VALIDATION_BLOCK_BYTES):
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
