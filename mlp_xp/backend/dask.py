"""The dask adapter: data-parallel training on a cluster, or on data larger than memory.

Dask builds a task graph instead of computing.  :meth:`DaskAdapter.materialize`
and :meth:`DaskAdapter.shard_rows` are the only places where the training loop
lets it know that a step or a data set is complete; every eager adapter returns
their input unchanged.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any, ClassVar

import array_api_compat
import numpy as np

from ..tree import tree_leaves, tree_unflatten
from .adapter import Adapter, Array, Device, Namespace

SEND_ONCE_BYTES = 2**20
"""Host arrays from this size on are persisted when placed on dask (see from_host)."""


def worker_threads() -> int:
    """Threads of the current ``dask.distributed`` client's workers, or 1 without one."""
    if importlib.util.find_spec("distributed") is None:
        return 1
    from distributed import default_client

    try:
        client = default_client()
    except ValueError:  # no client: dask's local threaded scheduler
        return 1
    return max(1, sum(client.nthreads().values()))


def _aligned(block: Any) -> Any:
    """A chunk in memory of its own, aligned for its dtype.

    Host data reaches a worker inside a message, at any byte offset; NumPy
    runs its matrix products on unaligned float arrays without BLAS, up to
    2.5 times slower (measured), so each kept chunk is copied once.
    """
    if isinstance(block, np.ndarray) and not block.flags.aligned:
        return block.copy()
    return block


class DaskAdapter(Adapter):
    """dask.array, on its threaded scheduler or a ``dask.distributed`` cluster."""

    name: ClassVar[str] = "dask"
    _module: ClassVar[str] = "dask.array"
    _install_hint: ClassVar[str] = "pip install 'dask[array,distributed]' (or 'mlp_xp[dask]')"
    lazy: ClassVar[bool] = True

    def owns(self, x: object) -> bool:
        return bool(array_api_compat.is_dask_array(x))

    def namespace(self) -> Namespace:
        return importlib.import_module("array_api_compat.dask.array")

    def to_host(self, x: Array) -> np.ndarray:
        return np.asarray(x.compute())

    def from_host(self, host: np.ndarray, xp: Namespace, device: Device, dtype: Any) -> Array:
        """A host array as a dask array chunked by rows only (dask sizes the row chunks).

        Every row chunk holds whole rows: mini-batches are row slices, and a batch
        must not need a gather across feature blocks.  The chunks sit in the graph
        as data; data sets (1 MiB and more) are persisted at once, so that they
        travel to a cluster's workers once rather than with every computation
        that reads them.  Their graph keeps the host chunks as the source from
        which a lost worker's chunks are recomputed.
        """
        import dask.array as da

        if dtype is not None:
            host = host.astype(np.dtype(dtype), copy=False)
        chunks: Any = "auto"
        if host.ndim > 1:
            chunks = {0: "auto", **dict.fromkeys(range(1, host.ndim), -1)}
        placed = da.from_array(host, chunks=chunks)
        if host.nbytes >= SEND_ONCE_BYTES:
            placed = placed.persist()
        return placed

    def check_array(self, x: Array, arg: str) -> None:
        """Only NumPy chunks: the weights, optimizer state and targets are NumPy chunks."""
        meta = getattr(x, "_meta", None)
        if meta is not None and not isinstance(meta, np.ndarray):
            kind = f"{type(meta).__module__}.{type(meta).__qualname__}"
            msg = (
                f"{arg} is a dask array of {kind} chunks; only NumPy chunks are "
                "supported (the weights and targets are built as NumPy chunks). "
                "Use backend='cupy' on one GPU, or turn the chunks into NumPy first"
            )
            raise TypeError(msg)

    def index_array(self, xp: Namespace, device: Device, order: np.ndarray) -> Array:
        return xp.asarray(order)

    def resident_rows(self, x: Array) -> int:
        """Lazy data is read a chunk at a time: the rows of its largest chunk, not all of them."""
        if array_api_compat.is_dask_array(x) and x.chunks and x.chunks[0]:
            return int(max(x.chunks[0]))
        return int(x.shape[0])

    def lazy_token(self, x: Array) -> str:
        from dask.base import tokenize

        return str(tokenize(x))[:16]

    def materialize(self, tree: Any, *, here: bool = False) -> Any:
        """Compute the lazy arrays of a small tree: gradients, parameters, optimizer state, losses.

        The training loop calls this after each step.  It computes every lazy leaf
        in one ``dask.compute`` call (shared work done once) and wraps each value
        again as a one-chunk dask array.  The next step's graph then starts from
        these values instead of from the whole history of steps, so it does not grow.

        ``dask.persist`` would keep the values on the workers, but on a distributed
        scheduler each persisted result keeps the graph that made it: the
        scheduler's task table grows with every step, and a lost worker makes it
        replay every step since the start.  Reading the small tree back is the
        parameter broadcast of synchronous data-parallel training: the client sends
        the new parameters with the next step's graph.

        ``here`` says that the tree's graph reads only small arrays already in this
        process (the optimizer's update of computed gradients): it is computed
        here with dask's synchronous scheduler.  On a cluster, each of its few
        dozen one-chunk tasks would otherwise cost a scheduler round trip.
        """
        import dask
        import dask.array as da

        leaves = tree_leaves(tree)
        lazy = [i for i, leaf in enumerate(leaves) if array_api_compat.is_dask_array(leaf)]
        scheduler = "sync" if here else None
        values = dask.compute(
            *(leaves[i] for i in lazy), scheduler=scheduler, optimize_graph=not here
        )
        for i, value in zip(lazy, values):
            # A 0-d result comes back as a NumPy scalar; from_array wants an array.
            data = np.asarray(value) if isinstance(value, np.generic) else value
            leaves[i] = da.from_array(data, chunks=data.shape)
        return tree_unflatten(tree, leaves)

    def shard_rows(
        self,
        X: Array,
        Y: Array,
        *,
        batch_size: int,
        x_in_memory: bool,
        y_in_memory: bool,
    ) -> tuple[Array, Array]:
        """Lay ``X`` and ``Y`` out for mini-batches that are row slices.

        * ``X`` chunked along its features is refused: a batch must be a row slice
          of whole chunks, never a gather across column blocks.
        * ``X`` from host memory (``x_in_memory``) is split into chunks of
          ``ceil(batch_size / workers)`` rows, so that a batch slice covers one
          chunk per worker thread and the partial products of a step run in
          parallel.  A lazy ``X`` keeps its row chunks: reading them is the source's
          business.
        * ``Y`` gets the row chunks of ``X`` and one block of columns.
        * Arrays from host memory are persisted: sent to the workers once, rather
          than with every step's graph.  The graph keeps the host chunks as their
          source, so a lost worker's chunks are recomputed from them.
        """
        import dask

        if len(X.chunks[1]) > 1:
            rows = X.chunks[0][0]
            msg = (
                f"X is chunked along its features (chunks[1] = {X.chunks[1]}); mini-batches "
                "are row slices, so every chunk must hold whole rows. Rechunk it first, e.g. "
                f"X = X.rechunk({{0: {rows}, 1: -1}})"
            )
            raise ValueError(msg)
        if x_in_memory:
            rows_per_chunk = max(1, -(-int(batch_size) // worker_threads()))
            X = X.rechunk({0: rows_per_chunk, 1: -1}).map_blocks(_aligned, dtype=X.dtype)
        if Y.chunks[0] != X.chunks[0] or len(Y.chunks[1]) > 1:
            Y = Y.rechunk({0: X.chunks[0], 1: -1})
        if y_in_memory:
            Y = Y.map_blocks(_aligned, dtype=Y.dtype)
        keep = [a for a, flag in ((X, x_in_memory), (Y, y_in_memory)) if flag]
        if keep:
            kept = iter(dask.persist(*keep))
            X = next(kept) if x_in_memory else X
            Y = next(kept) if y_in_memory else Y
        return X, Y


ADAPTER = DaskAdapter()
