"""Standardisation of features and targets, kept on the training device (estimator layer)."""

from __future__ import annotations

from collections.abc import Iterator

from ..backend import Array, Placement, compiled_call, materialize
from ..blocks import row_blocks

STATS_BLOCK_BYTES = 2**22
"""Rows are summed this many float64 bytes at a time, so no full float64 copy is made."""


def _column_stats(placement: Placement, a: Array, w: Array | None = None) -> tuple[Array, Array]:
    """Mean and standard deviation of each column, summed in float64, cast to a's dtype.

    With sample weights ``w`` (a column (n, 1)) both are weighted: sum w x / sum w
    and sqrt(sum w (x - mean)^2 / sum w), so that an integer weight counts as
    that many copies of its row, as scikit-learn's StandardScaler counts it.

    A float32 reduction over axis 0 adds the rows one after another (NumPy's
    pairwise summation runs along the fast axis only): for 4000 heights around
    1.7 m its mean was 1e-5 standard deviations off, an offset of every scaled
    input that training then follows (a NumPy float32 model ended 1e-3 from
    float64 after 12,600 steps, PyTorch's, which accumulates in float64, 4e-6).
    So the sums run in float64 where the backend has it, over blocks of rows
    (a lazy backend casts chunk by chunk itself).  Two passes: the mean, then
    the squared deviations from it.
    """
    xp, device = placement.xp, placement.device
    wide = xp.float64 if "float64" in placement.adapter.float_dtypes(device) else a.dtype
    n, width = int(a.shape[0]), int(a.shape[1])
    # A lazy backend casts chunk by chunk itself: one block of all the rows.
    budget = 8 * max(1, width) * max(1, n) if placement.adapter.lazy else STATS_BLOCK_BYTES

    def blocks() -> Iterator[tuple[Array, Array | None]]:
        """The rows (and weights) in float64, a block at a time (never all at once)."""
        for i, stop in row_blocks(n, 8 * width, budget):
            yield (
                xp.astype(a[i:stop, ...], wide),
                None if w is None else xp.astype(w[i:stop, ...], wide),
            )

    total: Array = None
    for block, wb in blocks():
        part = xp.sum(block if wb is None else block * wb, axis=0)
        total = part if total is None else total + part
    count = n if w is None else xp.sum(xp.astype(w, wide))
    mean = total / count
    squares: Array = None
    for block, wb in blocks():
        dev = (block - mean) ** 2
        part = xp.sum(dev if wb is None else dev * wb, axis=0)
        squares = part if squares is None else squares + part
    std = xp.sqrt(squares / count)
    return xp.astype(mean, a.dtype), xp.astype(std, a.dtype)


def _mean_and_scale(placement: Placement, a: Array, w: Array | None) -> tuple[Array, Array]:
    """The column means and the scales that divide them: the std, or 1 where it is 0."""
    mean, std = _column_stats(placement, a, w)
    # A constant column has std 0: leave it unscaled rather than divide by 0.
    return mean, placement.xp.where(std > 0, std, 1.0)


class Scaler:
    """Mean and standard deviation of columns, kept on the training device."""

    def __init__(self, mean: Array, scale: Array) -> None:
        self.mean = mean
        self.scale = scale

    @classmethod
    def fit(cls, placement: Placement, a: Array, w: Array | None = None) -> Scaler:
        """The column statistics of ``a``, shape (n_samples, n_columns), weighted by ``w``."""
        # One compiled call on JAX, rather than a compilation per operation.
        mean, scale = compiled_call(placement, _mean_and_scale, a, w)
        # Computed once, now: on a lazy backend every step that scales a batch
        # would otherwise recompute them with a pass over all the data.
        mean, scale = materialize(placement, (mean, scale))
        return cls(mean, scale)

    def transform(self, a: Array) -> Array:
        """``(a - mean) / scale``, as a new array."""
        return (a - self.mean) / self.scale

    def transform_owned(self, a: Array) -> Array:
        """``(a - mean) / scale`` computed into ``a``, an array the caller made and owns.

        The same numbers as :meth:`transform`, without a temporary the size of
        ``a``; on a namespace whose arrays are immutable (JAX) the operators
        rebind, and the result is used as returned.
        """
        a -= self.mean
        a /= self.scale
        return a

    def inverse(self, a: Array) -> Array:
        """``a * scale + mean``, as a new array."""
        return a * self.scale + self.mean
