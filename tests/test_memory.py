"""Memory at scale: fit keeps at most one extra copy of the data (measured, not timed)."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from mlp_xp import MLPClassifier, MLPRegressor
from mlp_xp.estimators.memory import estimate_fit_bytes


@pytest.mark.slow
def test_fit_on_numpy_holds_less_than_one_extra_copy_of_the_data():
    # 400,000 x 64 float32 = 98 MiB; scaling, early stopping and shuffling all on.
    X = np.random.default_rng(0).normal(size=(400_000, 64)).astype(np.float32)
    y = X[:, :3].sum(axis=1)
    model = MLPRegressor(
        (64,), batch_size=1024, epochs=1, dtype="float32", backend="numpy", early_stopping=True
    )
    tracemalloc.start()
    try:
        model.fit(X, y)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    ratio = peak / X.nbytes
    assert ratio <= 1.0, f"fit's peak extra memory is {ratio:.2f} times the data"
    # The stretch, scaling folded into the gather: the README's 0.24 at 1e6 rows.
    assert ratio <= 0.5, ratio


def test_the_estimate_covers_what_fit_allocates():
    X = np.random.default_rng(1).normal(size=(100_000, 32)).astype(np.float32)
    y = X[:, 0]
    model = MLPRegressor((32,), batch_size=512, epochs=1, early_stopping=True)
    tracemalloc.start()
    try:
        model.fit(X, y)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    need = estimate_fit_bytes(
        100_000, 32, 1, (32, 32, 1), 4, 512, x_copied=False, validation_fraction=0.1
    )
    assert peak <= need


def test_work_that_cannot_fit_is_refused_before_it_starts():
    X, y = np.zeros((50, 2)), np.arange(50.0)
    with pytest.raises(ValueError, match=r"fit would need about [\d,]+ bytes .* free"):
        MLPRegressor((10**9,)).fit(X, y)
    with pytest.raises(ValueError, match=r"max_memory allows 1,000 bytes"):
        MLPClassifier((8,), max_memory="1KB").fit(X, (y > 20).astype(int))
    with pytest.raises(ValueError, match="max_memory must be"):
        MLPRegressor((8,), max_memory="lots").fit(X, y)
    assert MLPRegressor((8,), epochs=1, max_memory="1GiB").fit(X, y).n_epochs_ == 1
