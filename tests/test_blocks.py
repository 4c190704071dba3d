"""Blocks of rows: they cover every row once, in order, each within its byte budget."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mlp_xp.blocks import block_rows, row_blocks


@given(st.integers(0, 500), st.integers(0, 64), st.integers(0, 4096))
def test_blocks_cover_the_rows_in_order_within_the_budget(n, row_bytes, budget):
    spans = list(row_blocks(n, row_bytes, budget))
    rows = block_rows(row_bytes, budget)
    assert rows >= 1
    assert [i for a, b in spans for i in range(a, b)] == list(range(n))
    assert all(b - a == rows for a, b in spans[:-1])
    assert all(0 < b - a <= rows for a, b in spans)
    # A row larger than the budget is still one block; otherwise a block fits it.
    assert rows == 1 or rows * max(1, row_bytes) <= budget


def test_a_block_is_as_many_rows_as_the_budget_holds():
    assert block_rows(8, 64) == 8
    assert block_rows(8, 63) == 7
    assert block_rows(100, 10) == 1
    assert list(row_blocks(5, 8, 16)) == [(0, 2), (2, 4), (4, 5)]
