"""Peak extra memory of ``fit`` over the size of the data, at three sizes (issue 16).

Run: ``python benchmarks/fit_memory.py [ROWS ...]`` (default 100000 1000000 4000000).
NumPy's allocations are traced with tracemalloc: scaling, early stopping and
shuffling on, X already float32.  (torch CPU's allocator statistics are not
measured yet.)  The figures in README.md, "How big can the data be",
come from this script.
"""

from __future__ import annotations

import sys
import tracemalloc
import warnings

import numpy as np

import mlp_xp


def peak_ratio(rows: int) -> tuple[float, float]:
    """(peak extra bytes / data bytes, seconds) of one fit of 2 epochs on NumPy float32."""
    X = np.random.default_rng(0).normal(size=(rows, 64)).astype(np.float32)
    y = X[:, :3].sum(axis=1)
    model = mlp_xp.MLPRegressor(
        (64,), batch_size=1024, epochs=2, dtype="float32", backend="numpy", early_stopping=True
    )
    tracemalloc.start()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(X, y)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / X.nbytes, X.nbytes / 2**20


def main(argv: list[str]) -> int:
    sizes = [int(a) for a in argv] or [100_000, 1_000_000, 4_000_000]
    print("| rows | data | peak extra / data |")
    print("|---|---|---|")
    for rows in sizes:
        ratio, mib = peak_ratio(rows)
        print(f"| {rows:,} | {mib:,.0f} MiB | {ratio:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
