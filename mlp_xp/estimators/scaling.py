"""Standardisation of features and targets, kept on the training device (estimator layer)."""

from __future__ import annotations

from ..backend import Array, Placement, materialize


class Scaler:
    """Mean and standard deviation of columns, kept on the training device."""

    def __init__(self, mean: Array, scale: Array) -> None:
        self.mean = mean
        self.scale = scale

    @classmethod
    def fit(cls, placement: Placement, a: Array) -> Scaler:
        """The column statistics of ``a``, shape (n_samples, n_columns)."""
        xp = placement.xp
        mean = xp.mean(a, axis=0)
        std = xp.std(a, axis=0)
        # A constant column has std 0: leave it unscaled rather than divide by 0.
        scale = xp.where(std > 0, std, 1.0)
        # Computed once, now: on a lazy backend every step that scales a batch
        # would otherwise recompute them with a pass over all the data.
        mean, scale = materialize(placement, (mean, scale))
        return cls(mean, scale)

    def transform(self, a: Array) -> Array:
        """``(a - mean) / scale``, as a new array."""
        return (a - self.mean) / self.scale

    def inverse(self, a: Array) -> Array:
        """``a * scale + mean``, as a new array."""
        return a * self.scale + self.mean
