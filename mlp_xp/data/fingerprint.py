"""The fingerprint of a data array: its sha256, shape, dtype and column sums (data layer).

A fingerprint tells whether two arrays hold the same data, on any backend:
the sha256 covers the shape, the dtype name and the exact bytes in C order, so
a float32 array hashes alike on NumPy, PyTorch or a GPU, and differently from
its float64 cast.  The float64 sums and sums of squares per column tell "the
same rows in another order" (equal sums, another sha) from "other data".

The array is read in blocks of rows, each moved to the host on its own, so a
fingerprint needs neither a float64 copy of the data nor a second full copy.
Lazy arrays (dask) are not read at all: their fingerprint is the token of their
source and rows.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

import numpy as np

from ..backend import dtype_name, is_array, is_lazy, lazy_token, to_host
from ..blocks import row_blocks

BLOCK_BYTES = 8 * 2**20
"""About how many bytes of rows go to the host, and into the hash, at a time."""


def fingerprint_array(x: Any) -> dict[str, Any]:
    """The fingerprint of ``x``: an array of any backend, or host data.

    Parameters
    ----------
    x : array, shape (n_samples, ...)
        Features or targets; numbers, or labels (strings, objects).

    Returns
    -------
    dict
        ``sha256`` (hex, of the shape, dtype and bytes, lazy arrays' too; the
        library's token for a lazy array of unknown length), ``shape`` (list of
        ints), ``dtype`` (its name, e.g. ``"float32"``), and ``column_sums`` and
        ``column_sumsq``, the float64 sums of the values and of their squares
        per column (one column for 1-D data), None for labels that are not
        numbers.
    """
    if is_lazy(x):
        # The content, read block by block as for any array, so that the same data
        # copied elsewhere (or held in memory) has the same fingerprint; only an
        # array of unknown length falls back to the library's token of its source.
        if any(_size(n) is None for n in x.shape):
            return _record(lazy_token(x), x.shape, dtype_name(x.dtype), None, None)
        return _numeric(x)
    if not is_array(x):
        x = np.asarray(x)
    if isinstance(x, np.ndarray) and x.dtype.kind not in "biufc":
        # Labels: their text, the same whatever object or string dtype holds them.
        labels = np.ascontiguousarray(np.asarray(x).astype(str))
        digest = _digest(labels.shape, "str")
        digest.update(_native(labels))
        return _record(digest.hexdigest(), labels.shape, "str", None, None)
    return _numeric(x)


def _numeric(x: Any) -> dict[str, Any]:
    """The fingerprint of a numeric array, read a block of rows at a time."""
    shape, name = tuple(int(n) for n in x.shape), dtype_name(x.dtype)
    digest = _digest(shape, name)
    # Complex numbers are hashed, but their float64 sums would drop a part.
    summed = not name.startswith("complex")
    width = math.prod(shape[1:]) if len(shape) > 1 else 1
    total = np.zeros(width, dtype=np.float64)
    total_sq = np.zeros(width, dtype=np.float64)
    if len(shape) == 0:
        blocks: Any = [_host_block(x, None)]
    else:
        spans = row_blocks(shape[0], _itemsize(name) * width, BLOCK_BYTES)
        blocks = (_host_block(x, slice(start, stop)) for start, stop in spans)
    for block in blocks:
        digest.update(_native(block))
        if summed:
            s, sq = _sums(block.reshape(block.shape[0] if block.ndim else 1, width))
            total += s
            total_sq += sq
    if not summed:
        return _record(digest.hexdigest(), shape, name, None, None)
    return _record(digest.hexdigest(), shape, name, total.tolist(), total_sq.tolist())


def _host_block(x: Any, rows: slice | None) -> np.ndarray:
    """Rows ``rows`` of ``x`` (all of a 0-d array) as a C-ordered host array."""
    part = x if rows is None else x[rows, ...]
    host = part if isinstance(part, np.ndarray) else to_host(part)
    return np.ascontiguousarray(host)


def _native(block: np.ndarray) -> np.ndarray:
    """The block in the machine's byte order, so that the bytes hashed do not depend on it."""
    if block.dtype.isnative:
        return block
    return block.astype(block.dtype.newbyteorder("="))


def _sums(flat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The float64 sums and sums of squares along the first axis of one block."""
    with np.errstate(over="ignore", invalid="ignore"):
        s = np.sum(flat, axis=0, dtype=np.float64)
        sq = np.sum(np.square(flat, dtype=np.float64), axis=0, dtype=np.float64)
    return np.asarray(s), np.asarray(sq)


def _digest(shape: tuple[int, ...], name: str) -> Any:
    """A sha256 that starts with the array's shape and dtype name."""
    header = json.dumps({"shape": list(shape), "dtype": name}, sort_keys=True)
    return hashlib.sha256(header.encode())


def _itemsize(name: str) -> int:
    """The bytes of one element of dtype ``name`` (8 when NumPy has no such dtype)."""
    try:
        return int(np.dtype(name).itemsize)
    except TypeError:
        return 8


def _record(
    sha: str,
    shape: Any,
    name: str,
    sums: list[float] | None,
    sumsq: list[float] | None,
) -> dict[str, Any]:
    return {
        "sha256": sha,
        "shape": [_size(n) for n in shape],
        "dtype": name,
        "column_sums": sums,
        "column_sumsq": sumsq,
    }


def _size(n: Any) -> int | None:
    """A dimension as an int; None where a lazy array does not know it yet."""
    try:
        return int(n)
    except (TypeError, ValueError):
        return None


def chained_sha256(previous: str | None, *fingerprints: dict[str, Any] | None) -> str:
    """The next link of a hash chain: sha256 of ``previous`` and each fingerprint's sha256.

    A run of ``partial_fit`` calls records one chain of the batches it was
    given, ``h1 = chained_sha256(None, X1, y1, w1)``, ``h2 = chained_sha256(h1,
    X2, y2, w2)``, ...: a fixed size whatever the number of calls, and equal to
    that of the given data repeated only when every call was given that data.
    A missing array (no sample weights) is None.
    """
    digest = hashlib.sha256((previous or "").encode())
    for fp in fingerprints:
        digest.update(b"|" + (b"-" if fp is None else str(fp["sha256"]).encode()))
    return digest.hexdigest()
