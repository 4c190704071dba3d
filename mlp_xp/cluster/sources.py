"""Lazy data sources for the dask backend: ``.npy`` files, npy stacks and Zarr stores.

Nothing here reads the data: each function returns dask arrays whose chunks
are read by the workers, one task per chunk, when a step needs them.  The
host-memory loaders (CSV, ``.npz``, built-in data sets) live in
:mod:`mlp_xp.data`.

A data set directory holds the features ``X`` and, for training, the
targets ``y``, each in one of three forms::

    DIR/X.npy, DIR/y.npy    .npy files, memory-mapped and read by row chunks
    DIR/X/, DIR/y/          npy stacks written by dask.array.to_npy_stack
    DIR (a Zarr group)      arrays "X" and "y" (needs the zarr package)

``X`` is 2-D, (n_samples, n_features); ``y`` is 1-D or 2-D with as many rows.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from ..backend import FLOAT_DTYPES
from ..data.tables import check_features
from ..validation import check_positive_int

CHUNK_BYTES = 64 * 2**20
"""Default size of one row chunk of a ``.npy`` file: 64 MiB."""


class LazyDataset(NamedTuple):
    """Features and targets as dask arrays, read only when computed."""

    X: Any
    """dask array, shape (n_samples, n_features), chunked by rows."""
    y: Any
    """dask array, shape (n_samples,) or (n_samples, n_outputs), or None."""
    source: str
    layout: str
    """"npy", "npy-stack" or "zarr"."""


class _NpyRows:
    """A ``.npy`` file that reads the rows it is sliced with, through a memory map.

    Dask puts this small object in the graph instead of the data: a task
    opens the file, copies its rows out and closes the map.  A ``numpy.memmap``
    in the graph would be pickled with its whole contents.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        header = np.load(path, mmap_mode="r")
        self.shape: tuple[int, ...] = tuple(header.shape)
        self.dtype = header.dtype
        self.ndim = header.ndim
        stat = os.stat(path)
        # The file's identity for dask's task names: a rewritten file is new data.
        self._token = (os.path.abspath(path), self.shape, str(self.dtype), stat.st_mtime_ns)
        del header

    def __getitem__(self, index: Any) -> np.ndarray:
        data = np.load(self.path, mmap_mode="r")
        try:
            return np.array(data[index])
        finally:
            del data

    def __dask_tokenize__(self) -> object:
        return self._token


def default_rows_per_chunk(shape: tuple[int, ...], itemsize: int) -> int:
    """Rows in a chunk of about :data:`CHUNK_BYTES`."""
    row_bytes = itemsize * int(np.prod(shape[1:], dtype=np.int64))
    return max(1, CHUNK_BYTES // max(1, row_bytes))


def open_npy(path: str | os.PathLike[str], rows_per_chunk: int | None = None) -> Any:
    """A ``.npy`` file as a dask array chunked by rows, read lazily.

    Parameters
    ----------
    path : str or path
        A ``.npy`` file (not an ``.npz`` archive).
    rows_per_chunk : int, optional
        Rows in each chunk; default about 64 MiB per chunk.  Make the training
        ``batch_size`` a multiple of it, so that a batch reads whole chunks.

    Returns
    -------
    dask array
        With the file's shape and dtype.  Each chunk is read by one task, which
        memory-maps the file and copies its rows.
    """
    import dask.array as da

    source = str(path)
    if not Path(source).is_file():
        msg = f"{source!r} is not a file; give the path of a .npy file"
        raise FileNotFoundError(msg)
    try:
        rows = _NpyRows(source)
    except (ValueError, OSError) as exc:
        msg = f"{source!r} is not a readable .npy file ({exc})"
        raise ValueError(msg) from None
    if rows.ndim < 1 or rows.shape[0] < 1:
        msg = f"{source!r} holds an array of shape {rows.shape}; it needs at least one row"
        raise ValueError(msg)
    if rows_per_chunk is None:
        n = default_rows_per_chunk(rows.shape, rows.dtype.itemsize)
    else:
        n = check_positive_int("rows_per_chunk", rows_per_chunk)
    chunks = (n, *rows.shape[1:])
    meta = np.empty((0,) * rows.ndim, dtype=rows.dtype)
    return da.from_array(rows, chunks=chunks, meta=meta)


def _is_zarr(path: Path) -> bool:
    return any((path / name).exists() for name in ("zarr.json", ".zgroup", ".zarray"))


def open_dataset(
    path: str | os.PathLike[str], *, rows_per_chunk: int | None = None, need_target: bool = True
) -> LazyDataset:
    """Open a data set directory (see the module's docstring) as lazy dask arrays.

    Parameters
    ----------
    path : str or path
        The directory.
    rows_per_chunk : int, optional
        Rows per chunk for ``.npy`` files.  npy stacks and Zarr arrays keep the
        chunks they were written with.
    need_target : bool
        Whether ``y`` must be there.

    Raises
    ------
    FileNotFoundError, ValueError
        When the directory holds no ``X`` in one of the three forms, or ``X``
        and ``y`` do not fit together.
    """
    import dask.array as da

    root = Path(path)
    source = str(path)
    if not root.is_dir():
        msg = f"data set directory {source!r} does not exist"
        raise FileNotFoundError(msg)
    if _is_zarr(root):
        if importlib.util.find_spec("zarr") is None:
            msg = f"{source!r} is a Zarr store; reading it needs: pip install zarr"
            raise ModuleNotFoundError(msg)
        import zarr

        group = zarr.open_group(source, mode="r")
        names = sorted(group.array_keys())
        if "X" not in names:
            msg = f"the Zarr store {source!r} has no array 'X' (it holds: {', '.join(names)})"
            raise ValueError(msg)
        X = da.from_zarr(source, component="X")
        y = da.from_zarr(source, component="y") if "y" in names else None
        layout = "zarr"
    elif (root / "X.npy").is_file():
        X = open_npy(root / "X.npy", rows_per_chunk)
        # The targets' chunks follow the features', so that no step rechunks them.
        y = open_npy(root / "y.npy", X.chunks[0][0]) if (root / "y.npy").is_file() else None
        layout = "npy"
    elif (root / "X" / "info").is_file():
        # dask's own layout: numbered .npy chunks and a pickled "info" file
        # (so open only directories you trust, as with any pickle).
        X = da.from_npy_stack(str(root / "X"), mmap_mode="r")
        y = da.from_npy_stack(str(root / "y"), mmap_mode="r") if (root / "y").is_dir() else None
        layout = "npy-stack"
    else:
        msg = (
            f"{source!r} holds no features: expected X.npy (and y.npy), npy stacks "
            "X/ and y/ written by dask.array.to_npy_stack, or a Zarr group with "
            "arrays X and y"
        )
        raise FileNotFoundError(msg)
    check_features(X, source)
    if y is None and need_target:
        msg = f"{source!r} has X but no y with the targets"
        raise ValueError(msg)
    if y is not None and (y.ndim not in (1, 2) or y.shape[0] != X.shape[0]):
        msg = (
            f"{source!r}: y has shape {y.shape}, but X has {X.shape[0]} rows; "
            "y needs one row per sample"
        )
        raise ValueError(msg)
    return LazyDataset(X, y, source, layout)


def _regression_block(
    seed: int, weights: np.ndarray, dtype: str, block_info: dict[Any, Any] | None = None
) -> np.ndarray:
    """One chunk of :func:`make_regression`: features, then the target in the last column."""
    info = {} if block_info is None else block_info[None]
    rows, width = info.get("chunk-shape", (0, weights.shape[0] + 1))
    index = info.get("chunk-location", (0,))[0]
    rng = np.random.default_rng([seed, 1, index])
    out = rng.standard_normal((rows, width), dtype=np.float32)
    xw = out[:, :-1] @ weights
    out[:, -1] = np.tanh(xw) + np.float32(0.1) * xw + np.float32(0.01) * out[:, -1]
    return out.astype(dtype, copy=False)


def make_regression(
    n_samples: int,
    n_features: int,
    *,
    rows_per_chunk: int,
    seed: int = 0,
    dtype: str = "float32",
) -> tuple[Any, Any]:
    """A synthetic regression data set made lazily, chunk by chunk, from per-chunk seeds.

    Nothing is held in memory: each chunk is drawn by the task that needs it from
    ``numpy.random.default_rng([seed, 1, chunk_index])``, so a lost chunk is made
    again identically, and a data set far larger than the workers' memory costs
    only time.  The target is ``tanh(x @ w) + 0.1 x @ w`` plus a little noise.

    Parameters
    ----------
    n_samples, n_features : int
    rows_per_chunk : int
        Rows of each chunk (the last may be shorter).
    seed : int
    dtype : {"float32", "float64"}

    Returns
    -------
    X : dask array, shape (n_samples, n_features)
    y : dask array, shape (n_samples,)
        Both cut from the same chunks: a step that reads rows of X and y
        draws them once.
    """
    import dask.array as da

    n = check_positive_int("n_samples", n_samples)
    d = check_positive_int("n_features", n_features)
    rows = check_positive_int("rows_per_chunk", rows_per_chunk)
    if dtype not in FLOAT_DTYPES:
        msg = f"dtype={dtype!r} is not supported; use float32 or float64"
        raise TypeError(msg)
    weights = np.random.default_rng([seed, 0]).standard_normal(d, dtype=np.float32)
    weights /= np.float32(np.sqrt(d))
    chunks = (tuple(min(rows, n - start) for start in range(0, n, rows)), (d + 1,))
    table = da.map_blocks(
        _regression_block,
        seed,
        weights,
        dtype,
        chunks=chunks,
        dtype=dtype,
        meta=np.empty((0, 0), dtype=dtype),
    )
    return table[:, :d], table[:, d]
