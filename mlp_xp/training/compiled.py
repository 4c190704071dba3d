"""The compiled epoch: one compiled call per epoch, scanning its batches (training layer).

On a backend whose adapter compiles (``adapter.compiled_epoch()`` is not None:
JAX), the driver's compiled strategy (:mod:`mlp_xp.training.strategies`) runs
each epoch as one call of a function compiled once per :class:`EpochKey` (the
placement, the plan, the optimizer's rule) and per shapes and dtypes (the batch
size among them).  Inside it, a scan over the epoch's batches gathers each
batch's rows on the device by the host's row order, one batch at a time, through
the training rows' index and the standardisation of
:class:`~mlp_xp.training.step.Data` (never a shuffled, split or scaled copy of
the data), and runs the :func:`~mlp_xp.training.step.train_step` the eager
strategy runs, on the same kernels.  The numbers are data, not code: as optax's
``inject_hyperparams`` does, the optimizer's hyperparameters (the learning rate,
the momentum, Adam's betas and eps) and alpha travel as 0-d arrays in the state
the epoch carries (:class:`~mlp_xp.nn.optimizers.InjectHyperparamsState`), so
that a schedule changing the rate every epoch, or a search over alpha or the
rate, compiles nothing new; so are the row order and Adam's bias corrections,
which the host computes as in the eager strategy.  Nothing is read back inside
the epoch: the call returns the new weights and optimizer state and one vector
of the batch losses (with sample weights, their weight sums; and the validation
loss), which the driver reads once.

**Shapes are bucketed**, so that fits on data of nearly one size share a
compilation, such as the folds of a cross-validation (a row apart) and its refit
on all the rows (1.25 times as many):

* the batch count is rounded up to the next number of the form
  ``ceil(2 ** (k / 2))`` (1, 2, 3, 4, 6, 8, 12, 16, 23, 32, 46, 64, ...), each
  at least 1.33 times the one before, so sizes within a factor 1.25 share at
  most two buckets.  The extra batches take a branch that does nothing;
* the data's rows (and the training rows' index) are padded with zeros to that
  many batches' worth (the validation rows to the next such number, with zero
  weight in the validation loss).  Padding copies the data once a fit, so it is
  done only for data up to :data:`BUCKET_BYTES`; larger data compile for their
  own shape, where the compilation is small beside the epochs, and are used
  as they are, without a copy.

**A last, smaller batch** holds the same rows as on the eager backends.  It is
gathered at full size with its missing rows weighted 0, which the kernel's
weighted mean leaves out exactly: the same batch loss and gradients, a rounding
apart from the eager loop's plain mean over the rows.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from ..backend import Array, Placement, compiled_call, dtype_name
from ..caches import LRU
from ..nn.layers import Params
from ..nn.optimizers import (
    InjectHyperparamsState,
    Optimizer,
    State,
    host_counts_removed,
    host_counts_restored,
    step_numbers,
)
from ..nn.plan import Plan
from .step import Data, train_step, validation_loss

BUCKET_BYTES = 2**26
"""Data (X, Y and weights) up to this many bytes are padded to a bucketed row count."""

_TRACES = [0]


def compilations() -> int:
    """How many times an epoch function has been traced (compiled) in this process.

    A test asserts "did not compile again" by reading this before and after.
    """
    return _TRACES[0]


def bucket(count: int) -> int:
    """The least ``ceil(2 ** (k / 2))`` that is at least ``count`` (>= 1)."""
    k = max(0, math.ceil(2 * math.log2(max(count, 1))) - 1)
    while math.ceil(2 ** (k / 2)) < count:
        k += 1
    return math.ceil(2 ** (k / 2))


class Layout(NamedTuple):
    """How an epoch's data are cut: rows, batch size, batches, and the padded sizes."""

    rows: int
    batch_size: int
    batches: int
    """The real batches of an epoch."""
    slots: int
    """The scan's length: ``batches`` rounded up to its bucket (or equal to it)."""
    bucketed: bool
    """Whether the data are padded to ``slots * batch_size`` rows."""


class EpochResult(NamedTuple):
    """One compiled epoch: the new weights and state, and its vector of losses (on the device)."""

    params: Params
    state: State
    values: Array
    """The batch losses, then (with weights) their weight sums, each ``slots`` long;
    then the validation loss."""
    layout: Layout
    rows: list[int] | None
    """Each real batch's row count, or None when the weight sums are in ``values``."""


def _layout(n: int, batch_size: int, data_bytes: int) -> Layout:
    """The layout of an epoch over ``n`` rows; bucketed for data up to :data:`BUCKET_BYTES`."""
    batches = math.ceil(n / batch_size)
    if data_bytes > BUCKET_BYTES:
        return Layout(n, batch_size, batches, batches, False)
    return Layout(n, batch_size, batches, bucket(batches), True)


def epoch_index(
    layout: Layout, order: np.ndarray | None, batches: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """The host row index ``(slots, batch_size)`` of each batch, and each batch's row count.

    ``order`` permutes the rows (shuffle mode "rows"), ``batches`` the contiguous
    slices ("batches"); with neither, the slices come in row order, as in
    :func:`mlp_xp.training.step.epoch_batches`.  Missing rows (the last batch's,
    the skipped batches') point at row 0 and are not counted.
    """
    n, size, real, slots, _ = layout
    kind = np.int32 if n < 2**31 else np.int64
    index = np.zeros((slots, size), dtype=kind)
    counts = np.zeros(slots, dtype=kind)
    if order is not None:
        index.reshape(-1)[:n] = order
        counts[:real] = size
        counts[real - 1] = n - (real - 1) * size
        return index, counts
    starts = (np.arange(real) if batches is None else np.asarray(batches)) * size
    counts[:real] = np.minimum(size, n - starts)
    rows = starts[:, None] + np.arange(size)[None, :]
    index[:real] = np.where(np.arange(size)[None, :] < counts[:real, None], rows, 0)
    return index, counts


def _padded(placement: Placement, a: Array | None, rows: int) -> Array | None:
    """``a`` with zero rows appended up to ``rows`` (itself when it has them)."""
    if a is None or a.shape[0] >= rows:
        return a
    return compiled_call(placement, _zero_rows_appended, a, rows=rows)


def _zero_rows_appended(placement: Placement, a: Array, *, rows: int) -> Array:
    xp = placement.xp
    pad = xp.zeros((rows - a.shape[0], *a.shape[1:]), dtype=a.dtype, device=placement.device)
    return xp.concat([a, pad], axis=0)


def _ones(placement: Placement, like: Array) -> Array:
    """A column of ones, one per row of ``like``."""
    xp = placement.xp
    return xp.ones((like.shape[0], 1), dtype=like.dtype, device=placement.device)


class CompiledEpochs:
    """The compiled epochs of one training run: its (padded) data and its compiled function.

    Parameters
    ----------
    placement : Placement
        Where the data live; its adapter's ``compiled_epoch()`` compiles.
    data : Data
        What the :class:`~mlp_xp.training.driver.Driver` trains on: X, Y and W (n, 1)
        or None; the training ``rows`` (an index into them, or None for all);
        ``prepare``, the standardisation of each gathered batch, or None; and
        the validation set, whose loss is computed after each epoch, or None.
    trace : bool
        Also return every step's weights and state (for the parity check).
    """

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
        self.placement, self.plan, self.alpha, self.trace = placement, plan, alpha, trace
        X, Y, W, rows = data.X, data.Y, data.W, data.rows
        self.dtype = dtype_name(X.dtype)
        itemsize = int(placement.xp.finfo(X.dtype).bits // 8)
        row_bytes = (X.shape[1] + Y.shape[1] + (0 if W is None else 1)) * itemsize
        self.layout = _layout(data.n_rows, batch_size, int(X.shape[0]) * row_bytes)
        pad = self.layout.bucketed
        total = _bucketed_rows(int(X.shape[0]), batch_size) if pad else 0
        self.data = tuple(_padded(placement, a, total) for a in (X, Y, W))
        self.rows = _padded(placement, rows, self.layout.slots * batch_size if pad else 0)
        self.prepare = data.prepare
        self.val: tuple[Any, ...] = (None, None, None)
        if data.X_val is not None:
            Xv, Yv, Wv = data.X_val, data.Y_val, data.W_val
            held = bucket(int(Xv.shape[0])) if pad else 0
            if Wv is None and held > Xv.shape[0]:
                Wv = _ones(placement, Xv)  # the padding's zero weights leave it out
            self.val = tuple(_padded(placement, a, held) for a in (Xv, Yv, Wv))

    def run(
        self,
        params: Params,
        state: State,
        optimizer: Optimizer,
        order: np.ndarray | None,
        batches: np.ndarray | None,
    ) -> tuple[EpochResult, Any]:
        """One epoch as one compiled call; the second item is the steps' trace (or None)."""
        hyper = optimizer.hyperparams
        if hyper is None:
            msg = "a compiled epoch needs an optimizer of sgd, momentum or adam (its hyperparams)"
            raise ValueError(msg)
        layout = self.layout
        index, counts = epoch_index(layout, order, batches)
        per_step = {}  # each step's host numbers (Adam's bias corrections), one per slot
        for name, values in step_numbers(optimizer, state, layout.batches).items():
            per_step[name] = np.ones(layout.slots, dtype=self.dtype)
            per_step[name][: layout.batches] = values
        numbers = {**dict(hyper.numbers), "alpha": self.alpha}
        carried = InjectHyperparamsState(
            {name: np.asarray(value, dtype=self.dtype) for name, value in numbers.items()},
            host_counts_removed(state),
        )
        fn = _epoch_function(EpochKey(self.placement, self.plan, hyper.rule, self.trace))
        host = (index, counts, per_step)
        params_out, traced, values, steps = fn(
            params, carried, self.data, self.rows, self.prepare, self.val, host
        )
        state_out = host_counts_restored(traced.inner_state, state, layout.batches)
        weighted = self.data[2] is not None
        rows = None if weighted else [int(c) for c in counts[: layout.batches]]
        return EpochResult(params_out, state_out, values, layout, rows), steps


def padding_bytes(n: int, row_bytes: int, batch_size: int) -> int:
    """The bytes of the padded copy a compiled epoch makes of data of ``n`` rows (0: none)."""
    if n * row_bytes > BUCKET_BYTES:
        return 0
    return _bucketed_rows(n, batch_size) * row_bytes


def _bucketed_rows(n: int, batch_size: int) -> int:
    """``n`` rows rounded up to a bucketed number of batches, in rows."""
    return bucket(math.ceil(n / batch_size)) * batch_size


class EpochKey(NamedTuple):
    """What a compiled epoch is compiled for, beyond its arguments' shapes and dtypes.

    The one rule of what is static: what is not a number.  Where it runs, the
    network's plan, the optimizer's rule (a module-level function, one per
    named optimizer) and whether it records its steps are static and make the
    key; every number (the hyperparameters, alpha, Adam's corrections, the row
    order) is an array argument, whose shape and dtype (the batch size, the
    scan's length, the data's size) the compiler (``jax.jit``) keys on itself.
    """

    placement: Placement
    plan: Plan
    rule: Callable[..., Optimizer]
    trace: bool


_FUNCTIONS: LRU[EpochKey, Any] = LRU(maxsize=16)
"""The compiled epochs by :class:`EpochKey`: the latest 16.

Every compiled function keeps its compilations, one per shape and dtype, so
a process that trains many networks or on many backends keeps the latest few.
"""


def _epoch_function(key: EpochKey) -> Any:
    """The compiled epoch for ``key``, compiled once per shape and dtype (cached).

    The compiler (``jax.jit``) caches its compilations by the arguments' shapes,
    dtypes and tree structure, so one function serves every fit of a
    configuration, whatever its hyperparameters; :func:`compilations` counts them.
    """

    def make() -> Any:
        compiler = key.placement.adapter.compiled_epoch()
        return compiler.jit(_epoch_body(key, compiler))

    return _FUNCTIONS.get_or_make(key, make)


def _epoch_body(key: EpochKey, compiler: Any) -> Any:
    """The function to compile: a scan over the epoch's batches, then the validation loss."""
    placement, plan, rule, trace = key
    xp = placement.xp

    def epoch(
        params: Params,
        carried: InjectHyperparamsState,
        data: Any,
        rows: Any,
        prepare: Any,
        val: Any,
        host: Any,
    ) -> Any:
        _TRACES[0] += 1  # runs once per compilation, while the function is traced
        X, Y, W = data
        index, counts, per_step = host
        numbers = dict(carried.hyperparams)
        alpha = numbers.pop("alpha")
        size = index.shape[1]
        dtype = X.dtype
        slot = xp.arange(size, dtype=index.dtype, device=placement.device)

        def gather(positions: Array) -> tuple[Array, Array, Array | None]:
            """One batch: its rows of the training rows, standardised (as ``epoch_batches``)."""
            at = positions if rows is None else xp.take(rows, positions, axis=0)
            Xb, Yb = xp.take(X, at, axis=0), xp.take(Y, at, axis=0)
            Wb = None if W is None else xp.take(W, at, axis=0)
            if prepare is not None:
                Xb, Yb = prepare(Xb, Yb)
            return Xb, Yb, Wb

        def step(params: Params, state: State, Xb: Array, Yb: Array, w: Any, c: Any) -> Any:
            optimizer = rule(**numbers, **c)
            params, state, loss = train_step(
                placement, params, state, Xb, Yb, plan, optimizer, alpha, w
            )
            weight = xp.zeros((), dtype=dtype) if W is None else xp.sum(w)
            return params, state, loss, weight

        def full(params: Params, state: State, positions: Array, count: Array, c: Any) -> Any:
            Xb, Yb, Wb = gather(positions)
            return step(params, state, Xb, Yb, Wb, c)

        def partial(params: Params, state: State, positions: Array, count: Array, c: Any) -> Any:
            # The missing rows weigh 0: the weighted mean over the real rows.
            Xb, Yb, Wb = gather(positions)
            mask = xp.reshape(xp.astype(slot < count, dtype), (-1, 1))
            return step(params, state, Xb, Yb, mask if Wb is None else Wb * mask, c)

        def skip(params: Params, state: State, positions: Array, count: Array, c: Any) -> Any:
            zero = xp.zeros((), dtype=dtype)
            return params, state, zero, zero

        def body(carry: Any, x: Any) -> Any:
            params, state = carry
            positions, count, c = x
            branch = xp.where(count == size, 0, xp.where(count > 0, 1, 2))
            params, state, loss, weight = compiler.switch(
                branch, [full, partial, skip], params, state, positions, count, c
            )
            return (params, state), (loss, weight, (params, state) if trace else None)

        (params, state), (losses, weights, steps) = compiler.scan(
            body, (params, carried.inner_state), (index, counts, per_step)
        )
        values = [losses] if W is None else [losses, weights]
        X_val, Y_val, W_val = val
        if X_val is not None:
            # No L2 term: the validation loss measures the fit alone.
            loss = validation_loss(xp, params, plan, X_val, Y_val, W_val)
            values.append(xp.reshape(loss, (1,)))
        out = InjectHyperparamsState(carried.hyperparams, state)
        return params, out, xp.concat(values), steps

    return epoch


def compiles(placement: Placement) -> bool:
    """Whether ``placement``'s backend trains in compiled epochs."""
    return placement.adapter.compiled_epoch() is not None
