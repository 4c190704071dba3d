"""The epoch loop's data: standardised as it is gathered, split by row indices (estimator layer).

Mixed into both estimators.  ``fit`` holds no scaled or split copy of the
caller's X: the training rows are an index array, each gathered block is
standardised on its way to the step, and only the validation rows are gathered
(and scaled in place) once.  Issue 16 measured the peak extra memory of a fit
at 0.24 times the data (README, "How big can the data be").
"""

from __future__ import annotations

import numpy as np

from ..backend import Array, Placement, row_index, take_rows
from ..seeds import seeded_split
from ..training import Data, Prepare
from ..validation import arg_setting
from .scaling import Scaler


class TrainingData:
    """Builds the :class:`mlp_xp.training.Data` an epoch loop trains on."""

    x_scaler_: Scaler | None
    y_scaler_: Scaler | None
    validation_fraction: float
    seed: int

    def _scaled(
        self, placement: Placement, Xd: Array, Yd: Array, Wd: Array | None, *, split: bool
    ) -> Data:
        """The epoch loop's data: standardised as it is gathered, split by row indices.

        No scaled or split copy of the data is made: the training rows are an
        index array, and each gathered block is standardised on its way to the
        step (elementwise, so the numbers are those of scaling everything first).
        Only the validation rows, a ``validation_fraction`` of the data, are
        gathered and scaled once.  A lazy backend (dask) scales and splits its
        task graph instead, which holds no data.
        """
        n = int(Xd.shape[0])
        split_rows = self._split_rows(n) if split else None
        if placement.adapter.lazy:
            return self._scaled_lazily(placement, Xd, Yd, Wd, split_rows)
        prepare = self._prepare() if self.x_scaler_ or self.y_scaler_ else None
        if split_rows is None:
            return Data(Xd, Yd, W=Wd, prepare=prepare)
        train, val = split_rows
        # The validation rows are gathered (a copy this code owns), then scaled in place.
        X_val, Y_val = take_rows(placement, Xd, val), take_rows(placement, Yd, val)
        if self.x_scaler_ is not None:
            X_val = self.x_scaler_.transform_owned(X_val)
        if self.y_scaler_ is not None:
            Y_val = self.y_scaler_.transform_owned(Y_val)
        return Data(
            Xd,
            Yd,
            X_val,
            Y_val,
            Wd,
            None if Wd is None else take_rows(placement, Wd, val),
            rows=row_index(placement, train),
            prepare=prepare,
        )

    def _prepare(self) -> Prepare:
        """The standardisation of each gathered block: the scalers' arrays."""
        x, y = self.x_scaler_, self.y_scaler_
        return Prepare(
            None if x is None else x.mean,
            None if x is None else x.scale,
            None if y is None else y.mean,
            None if y is None else y.scale,
        )

    def _scaled_lazily(
        self,
        placement: Placement,
        Xd: Array,
        Yd: Array,
        Wd: Array | None,
        split_rows: tuple[np.ndarray, np.ndarray] | None,
    ) -> Data:
        """Lazy data scaled and split as task graphs (nothing is computed here)."""
        Xd, Yd = self._prepare()(Xd, Yd)
        if split_rows is None:
            return Data(Xd, Yd, W=Wd)
        train, val = split_rows

        def take(a: Array | None, rows: np.ndarray) -> Array | None:
            return None if a is None else take_rows(placement, a, rows)

        return Data(
            take_rows(placement, Xd, train),
            take_rows(placement, Yd, train),
            take_rows(placement, Xd, val),
            take_rows(placement, Yd, val),
            take(Wd, train),
            take(Wd, val),
        )

    def _split_rows(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """A seeded random validation split (the same rows on every backend)."""
        n_val = max(1, round(n * float(self.validation_fraction)))
        if n - n_val < 1:
            msg = (
                f"{arg_setting('validation_fraction', self.validation_fraction)} leaves no "
                f"training samples out of {n}; lower it or pass more data"
            )
            raise ValueError(msg)
        return seeded_split(n, n_val, [int(self.seed), 1])
