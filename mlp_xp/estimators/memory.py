"""Whether a fit fits: its estimated memory against the device's, checked first (estimator layer).

The estimate is the backend's (:func:`mlp_xp.backend.estimate_fit_bytes`), the
measured model of a fit: what it allocates beyond the caller's X.  The limit
is ``max_memory`` when given (bytes, or a size such as ``"8GB"``), else what
the adapter says the device has free (host RAM for the host backends).  Lazy
data counts one chunk at a time (:meth:`Adapter.resident_rows`).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from ..backend import Placement, dtype_name, estimate_fit_bytes, is_array, is_placed
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
    itemsize = 8 if dtype == "float64" else 4
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
