"""Blocks of rows: how the code that reads all of a data set bounds what it holds at once.

Hashing, finiteness checks, statistics, gathers, the validation loss and the
CLI's held-out metric all walk their rows a block at a time, each block about
a budget of bytes, so that none of them makes a temporary the size of the data.
"""

from __future__ import annotations

from collections.abc import Iterator


def block_rows(row_bytes: int, budget: int) -> int:
    """How many rows of ``row_bytes`` bytes each fit in ``budget`` bytes (at least one)."""
    return max(1, int(budget) // max(1, int(row_bytes)))


def row_blocks(n: int, row_bytes: int, budget: int) -> Iterator[tuple[int, int]]:
    """``(start, stop)`` of consecutive blocks covering rows ``0..n``, each within ``budget``.

    Every block but the last holds :func:`block_rows` rows; ``n == 0`` gives none.
    """
    rows = block_rows(row_bytes, budget)
    for start in range(0, int(n), rows):
        yield start, min(start + rows, int(n))
