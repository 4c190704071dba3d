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
from ..data.splits import class_counts
from ..seeds import seeded_split, seeded_stratified_split
from ..training import Data, Prepare
from ..validation import arg_setting
from .scaling import Scaler
from .schema import SPLITS


class TrainingData:
    """Builds the :class:`mlp_xp.training.Data` an epoch loop trains on."""

    x_scaler_: Scaler | None
    y_scaler_: Scaler | None
    validation_fraction: float
    seed: int
    _validation_split: str = "random"
    """How a new model draws early stopping's validation rows ("random" or
    "stratified"); a model keeps its method in ``_state["split"]``, and its file
    records it, so that a resume and a replay draw the same rows."""

    def set_validation_split(self, method: str) -> None:
        """How early stopping draws its validation rows from now on: "random" or "stratified".

        A replay sets the method a recorded segment used (models trained before it
        was recorded drew them at random).
        """
        if method not in SPLITS:
            msg = f"the validation split must be one of {', '.join(SPLITS)}, got {method!r}"
            raise ValueError(msg)
        self._validation_split = method

    @property
    def validation_split_method(self) -> str:
        """How early stopping draws validation rows: as the model records, else as it would."""
        state = getattr(self, "_state", None) or {}
        return str(state.get("split") or self._validation_split)

    def _scaled(
        self,
        placement: Placement,
        Xd: Array,
        Yd: Array,
        Wd: Array | None,
        *,
        split: bool,
        labels: np.ndarray | None = None,
    ) -> Data:
        """The epoch loop's data: standardised as it is gathered, split by row indices.

        No scaled or split copy of the data is made: the training rows are an
        index array, and each gathered block is standardised on its way to the
        step (elementwise, so the numbers are those of scaling everything first).
        Only the validation rows, a ``validation_fraction`` of the data, are
        gathered and scaled once.  A lazy backend (dask) scales and splits its
        task graph instead, which holds no data.  ``labels`` (class labels on
        the host) stratify the validation split.
        """
        n = int(Xd.shape[0])
        split_rows = self._split_rows(n, labels) if split else None
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

    def _split_rows(self, n: int, labels: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """A seeded validation split (the same rows on every backend), stratified by ``labels``.

        As scikit-learn's ``MLPClassifier``, a stratified split refuses classes
        of a single sample; it also refuses to leave fewer training samples
        than classes.
        """
        n_val = max(1, round(n * float(self.validation_fraction)))
        if n - n_val < 1:
            msg = (
                f"{arg_setting('validation_fraction', self.validation_fraction)} leaves no "
                f"training samples out of {n}; lower it or pass more data"
            )
            raise ValueError(msg)
        if labels is None:
            return seeded_split(n, n_val, [int(self.seed), 1])
        classes, strata, counts = class_counts(labels)
        single = classes[counts < 2]
        if single.size:
            msg = (
                "The least populated classes in y have only 1 member, which is too few. "
                "The minimum number of groups for any class cannot be less than 2. Classes "
                f"with too few members are: {single.tolist()[:10]}; early stopping's "
                "validation split is stratified, so add samples of them, or set "
                "early_stopping=False"
            )
            raise ValueError(msg)
        if n - n_val < classes.size:
            msg = (
                f"validation_fraction={self.validation_fraction} leaves {n - n_val} training "
                f"samples for the {classes.size} classes; early stopping's validation split "
                "is stratified and keeps a sample of each class for training, so lower "
                "validation_fraction or pass more data"
            )
            raise ValueError(msg)
        return seeded_stratified_split(strata, n_val, [int(self.seed), 1])
