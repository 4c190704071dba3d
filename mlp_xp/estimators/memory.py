"""Whether a fit fits: its estimated memory against the device's, checked first (estimator layer).

The estimate is :func:`estimate_fit_bytes`, the measured model of a fit (Adam's
two moments, early stopping's best weights...): what it allocates beyond the
caller's X.  The backend only says what its library knows: the bytes free on a
device, and the rows of lazy data held at once.  The limit
is ``max_memory`` when given (bytes, or a size such as ``"8GB"``), else what
the adapter says the device has free (host RAM for the host backends).  Lazy
data counts one chunk at a time (:meth:`Adapter.resident_rows`).
"""

from __future__ import annotations

import itertools
import math
import re
from typing import Any

import numpy as np

from ..backend import Placement, dtype_name, is_array, is_placed
from ..training.compiled import compiles, padding_bytes
from ..validation import arg_name, arg_setting

_UNITS = {
    "": 1,
    "B": 1,
    "KB": 10**3,
    "MB": 10**6,
    "GB": 10**9,
    "TB": 10**12,
    "KIB": 2**10,
    "MIB": 2**20,
    "GIB": 2**30,
    "TIB": 2**40,
}


def parse_bytes(arg: str, value: object) -> int | None:
    """A memory size: None, a number of bytes, or a string like ``"8GB"`` or ``"512MiB"``."""
    if value is None:
        return None
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value > 0:
        return int(value)
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([A-Za-z]*)\s*", str(value))
    if isinstance(value, str) and match and match.group(2).upper() in _UNITS:
        size = float(match.group(1)) * _UNITS[match.group(2).upper()]
        if size >= 1:
            return int(size)
    msg = (
        f"{arg_name(arg)} must be a positive number of bytes or a size such as '8GB' or '512MiB', "
        f"got {value!r}"
    )
    raise ValueError(msg)


FIXED_FIT_BYTES = 24 * 2**20
"""Working blocks a fit holds whatever the data's size: the fingerprint's and the
column statistics' float64 blocks, the shuffle's gather of a few batches, and the
validation loss's block of activations (each a few MiB)."""

INDEX_BYTES = 8
"""Bytes per row of each of the three row-index arrays of an epoch (int64)."""


def estimate_fit_bytes(
    n_rows: int,
    n_features: int,
    n_outputs: int,
    layer_sizes: tuple[int, ...],
    itemsize: int,
    batch_size: int,
    *,
    x_copied: bool = True,
    validation_fraction: float = 0.0,
) -> int:
    """About how many bytes ``fit`` allocates beyond the caller's data, before it allocates any.

    Parameters
    ----------
    n_rows : int
        The rows of training data held in memory at once (all of them, or one
        chunk of lazy data: the adapter's ``resident_rows``).
    n_features, n_outputs : int
        Columns of X and of the encoded targets.
    layer_sizes : tuple of int
        Every layer's width, input and output included: ``(n_features, *hidden, n_outputs)``.
    itemsize : int
        Bytes per number of the training dtype (4 for float32).
    batch_size : int
        Rows per step (capped at ``n_rows``).
    x_copied : bool
        Whether X is copied to reach the training dtype and device (a cast, or
        a move to a GPU); X already there is used as it is.
    validation_fraction : float
        The share of rows held out for early stopping (0 without it): those rows
        are gathered and standardised once.

    Returns
    -------
    int
        The measured model of a fit (issue 16; README, "How big can the data
        be"): X's copy when ``x_copied``; the encoded targets; the validation
        rows; three int64 row indices per row (the training rows, the epoch's
        order, and their composition); :data:`FIXED_FIT_BYTES` of working
        blocks; the weights six times (weights, gradients, two optimizer
        moments, the update, early stopping's best weights); and a batch's
        activations three times (pre-activations, activations, deltas).
        Standardisation and the shuffle work a few batches at a time, so they
        add no copy of the data.  Python integers: no overflow.
    """
    n, d, k = int(n_rows), int(n_features), int(n_outputs)
    data = (n * d if x_copied else 0) + n * k
    held_out = math.ceil(float(validation_fraction) * n) * (d + k)
    weights = sum((int(a) + 1) * int(b) for a, b in itertools.pairwise(layer_sizes))
    batch = min(int(batch_size), n)
    activations = 3 * batch * sum(int(w) for w in layer_sizes)
    numbers = data + held_out + 6 * weights + activations
    return int(itemsize) * numbers + 3 * INDEX_BYTES * n + FIXED_FIT_BYTES


def human_bytes(n: int) -> str:
    """A byte count for people: 1.5 GiB."""
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024:
            return f"{size:.4g} {unit}"
        size /= 1024
    return f"{size:.3g} PiB"


def fit_memory(
    model: Any,
    X: Any,
    n_outputs: int,
    placement: Placement,
    dtype: str,
    hidden: tuple[int, ...],
) -> tuple[int, int | None]:
    """``(estimate, limit)`` in bytes for fitting ``model`` on ``X``; the limit may be unknown."""
    adapter = placement.adapter
    shape = _shape(X)
    rows = adapter.resident_rows(X) if is_array(X) else shape[0]
    width = shape[1] if len(shape) > 1 else 1
    copied = not (is_array(X) and is_placed(X, placement) and dtype_name(X.dtype) == dtype)
    itemsize = np.dtype(dtype).itemsize
    need = estimate_fit_bytes(
        rows,
        width,
        n_outputs,
        (width, *hidden, n_outputs),
        itemsize,
        int(model.batch_size),
        x_copied=copied,
        validation_fraction=float(model.validation_fraction) if model.early_stopping else 0.0,
    )
    if compiles(placement):
        # A compiled epoch pads small data to a bucketed shape: one copy, X, Y and W.
        batch = min(int(model.batch_size), int(rows))
        need += padding_bytes(int(rows), (width + n_outputs + 1) * itemsize, batch)
    limit = parse_bytes("max_memory", getattr(model, "max_memory", None))
    if limit is None:
        limit = adapter.memory_available(placement.device)
    return need, limit


def _shape(a: Any) -> tuple[int, ...]:
    """The shape of an array, or of host data (a list, a DataFrame, an array-like)."""
    shape = getattr(a, "shape", None)
    if shape is None:
        shape = np.asarray(a).shape
    return tuple(int(n) for n in shape)


def check_fit_memory(
    model: Any,
    X: Any,
    n_outputs: int,
    placement: Placement,
    dtype: str,
    hidden: tuple[int, ...],
) -> None:
    """Refuse a fit whose estimate exceeds the limit, naming both in bytes.

    A ValueError, raised before anything is allocated: the work is refused as
    bad input is, instead of dying later with a MemoryError.
    """
    need, limit = fit_memory(model, X, n_outputs, placement, dtype, hidden)
    if limit is None or need <= limit:
        return
    where = f"{placement.name} {placement.adapter.device_name(placement.device)}"
    if getattr(model, "max_memory", None) is not None:
        room = f"{arg_name('max_memory')} allows {limit:,} bytes ({human_bytes(limit)})"
    else:
        room = f"{where} has {limit:,} bytes ({human_bytes(limit)}) free"
    msg = (
        f"fit would need about {need:,} bytes ({human_bytes(need)}) beyond the data, but "
        f"{room}; use smaller hidden layers ({arg_name('hidden_layer_sizes')}), a smaller "
        f"{arg_name('batch_size')}, {arg_setting('dtype', 'float32')}, less data, or "
        f"{arg_setting('backend', 'dask')}, which trains out of core"
    )
    raise ValueError(msg)
