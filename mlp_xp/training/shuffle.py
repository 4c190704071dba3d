"""Each epoch's shuffle, from one host generator, drawn ahead on a helper thread (training layer).

Batch order comes from a host ``numpy.random.Generator``: every backend sees the
same rows in the same batches.  Two ways to shuffle share the loop:

* rows (:func:`epoch_order`): each epoch moves its row order to the device once
  and gathers the rows in that order a few batches at a time;
* batches (:func:`batch_order`): the rows stay where they are, and the epoch
  visits the contiguous slices ``[i * batch_size, (i + 1) * batch_size)`` in a
  new order.  Nothing is gathered, so a batch is a slice of whole chunks of a
  dask array that may not fit in memory.  This is what lazy backends use by
  default, and it is available everywhere so that a parity check compares
  like with like.

Drawing a permutation costs about 11 ns a row on the host, a seventh of what a
step of the lecture's 2-8-1 network costs per row.  :class:`EpochOrders`
therefore draws the coming epochs' orders while earlier ones train, on a helper
thread, and gives the same orders as drawing them in line.
"""

from __future__ import annotations

import math
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType
from typing import Any

import numpy as np

SHUFFLES: tuple[str, ...] = ("rows", "batches")
"""The ways an epoch can reorder the data, besides not at all."""


def epoch_order(rng: np.random.Generator, n_samples: int, shuffle: bool) -> np.ndarray | None:
    """A host permutation of the rows for one epoch, or None to keep their order."""
    return rng.permutation(n_samples) if shuffle else None


def batch_order(rng: np.random.Generator, n_samples: int, batch_size: int) -> np.ndarray:
    """A host permutation of the epoch's batch indices: which row slice comes next.

    Batch ``i`` is rows ``[i * batch_size, min((i + 1) * batch_size, n_samples))``.
    """
    return rng.permutation(math.ceil(n_samples / batch_size))


def start_position(rng: np.random.Generator) -> dict[str, Any]:
    """The shuffle position of a fresh generator: its state, nothing drawn yet."""
    return {"state": dict(rng.bit_generator.state), "drawn": 0, "rows": 0}


def shuffle_start(seed: int) -> dict[str, Any]:
    """The shuffle position of a run seeded with ``seed``: the seed's stream 2.

    ``fit`` and the parity suite both start here, so that one seed gives one
    batch order (the validation split draws from stream 1, the weights from
    the seed itself).
    """
    return start_position(np.random.default_rng([int(seed), 2]))


class EpochOrders:
    """Each epoch's shuffle, drawn from one host generator, ahead of time on a helper thread.

    Use it as a context manager and call :meth:`next` at the start of every
    epoch.  It returns ``(order, batches, position)``: the row permutation for
    shuffle mode ``"rows"`` (:func:`epoch_order`), the batch permutation for
    ``"batches"`` (:func:`batch_order`), None for what the mode does not use,
    and the position after this epoch's draw, a JSON-able dict that a
    checkpoint saves and a later ``EpochOrders`` resumes from.

    A position is a generator state, and how many permutations of how many rows
    were drawn from it since.  Row permutations for the coming epochs are drawn
    in blocks, with one ``Generator.permuted`` call that releases the GIL, on a
    helper thread while earlier epochs train.  ``permuted`` draws row by row
    exactly as successive ``permutation`` calls do, so the orders are those of
    drawing in line, epoch after epoch; but the generator's state is only known
    at block boundaries, which is why a position counts the draws since one.
    Resuming replays them (about 11 ns a row each) with the row count they were
    drawn for, so the generator continues where it was even if the next run
    trains on other data or shuffles otherwise.

    Each block costs the training thread a few GIL handoffs, each a context
    switch, so a block holds up to 32 epochs, and at most 2**20 indices unless
    one epoch has more.  The first epoch is drawn in line, and the blocks grow
    from one epoch, doubling: each is drawn while the one before it, half its
    size, trains, so the second epoch does not wait for 32 epochs' draws (a
    tiny fit's second epoch took 1.5-4.7 ms instead of 0.5 ms).  Nothing is
    drawn ahead for batch permutations (a few numbers) or for a single epoch.
    """

    def __init__(
        self,
        position: dict[str, Any],
        n_samples: int,
        batch_size: int,
        mode: str | None,
        epochs: int,
    ) -> None:
        self._rng = np.random.default_rng()
        self._rng.bit_generator.state = position["state"]
        self._n = n_samples
        self._batch_size = batch_size
        self._mode = mode
        self._block = 1
        self._most = max(1, min(32, 2**20 // max(1, n_samples)))
        self._ahead = epochs - 1 if mode == "rows" else 0
        self._pool: ThreadPoolExecutor | None = None
        self._pending: Future[tuple[dict[str, Any], np.ndarray]] | None = None
        self._drawn: tuple[dict[str, Any], np.ndarray] | None = None
        self._used = 0
        for _ in range(int(position["drawn"])):  # replay what was drawn before
            self._rng.permutation(int(position["rows"]))

    def __enter__(self) -> EpochOrders:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = self._pending = None

    def _draw_one(self) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Draw one epoch's orders here."""
        order = epoch_order(self._rng, self._n, self._mode == "rows")
        if self._mode != "batches":
            return order, None
        return order, batch_order(self._rng, self._n, self._batch_size)

    def _draw_block(self, epochs: int) -> tuple[dict[str, Any], np.ndarray]:
        """The generator state before, and ``epochs`` row permutations as rows."""
        state = dict(self._rng.bit_generator.state)
        rows = np.tile(np.arange(self._n), (epochs, 1))  # C order: each epoch's order contiguous
        return state, self._rng.permuted(rows, axis=1, out=rows)

    def next(self) -> tuple[np.ndarray | None, np.ndarray | None, dict[str, Any]]:
        """This epoch's ``(order, batches, position)``."""
        if self._drawn is None or self._used == len(self._drawn[1]):
            if self._pending is not None:
                self._drawn, self._used = self._pending.result(), 0
                self._pending = None
            else:
                self._drawn = None
        if self._drawn is None:
            order, batches = self._draw_one()
            position = {"state": dict(self._rng.bit_generator.state), "drawn": 0, "rows": 0}
        else:
            state, block = self._drawn
            order, batches = block[self._used], None
            self._used += 1
            position = {"state": state, "drawn": self._used, "rows": self._n}
        if self._pending is None and self._ahead > 0 and (self._drawn is None or self._used == 1):
            # Start drawing the next block while this one (or this epoch) trains.
            count = min(self._block, self._ahead)
            self._ahead -= count
            self._block = min(2 * self._block, self._most)
            if self._pool is None:
                self._pool = ThreadPoolExecutor(1, thread_name_prefix="mlp_xp-shuffle")
            self._pending = self._pool.submit(self._draw_block, count)
        return order, batches, position
