"""The estimators' hyperparameters: storage and checks (estimator layer).

As in scikit-learn, ``__init__`` only stores its arguments; every check runs
once, in :meth:`Hyperparameters._check_params`, when ``fit`` starts.
``get_params``, ``set_params``, ``clone`` and the repr are scikit-learn's own,
from :class:`sklearn.base.BaseEstimator`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.base import BaseEstimator

from ..backend import FLOAT_DTYPES, Placement, dtype_name
from ..nn.activations import HIDDEN_ACTIVATIONS
from ..nn.init import INITS
from ..nn.optimizers import OPTIMIZERS, Optimizer
from ..training import SCHEDULES, SHUFFLES
from ..validation import (
    arg_name,
    check_name,
    check_nonnegative_float,
    check_nonnegative_int,
    check_positive_float,
    check_positive_int,
)
from .memory import parse_bytes


class Hyperparameters(BaseEstimator):
    """The constructor parameters shared by both estimators, and their checks."""

    def __init__(
        self,
        hidden_layer_sizes: Sequence[int] = (100,),
        activation: str = "relu",
        *,
        optimizer: str = "adam",
        learning_rate: float = 1e-3,
        schedule: str = "constant",
        power_t: float = 0.5,
        batch_size: int = 200,
        epochs: int = 200,
        shuffle: bool | str = True,
        seed: int = 0,
        alpha: float = 1e-4,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        patience: int = 10,
        tol: float = 1e-4,
        init: str = "glorot_normal",
        scale: bool = True,
        dtype: str | None = None,
        backend: str | None = None,
        device: str | None = None,
        max_memory: int | str | None = None,
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.schedule = schedule
        self.power_t = power_t
        self.batch_size = batch_size
        self.epochs = epochs
        self.shuffle = shuffle
        self.seed = seed
        self.alpha = alpha
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.tol = tol
        self.init = init
        self.scale = scale
        self.dtype = dtype
        self.backend = backend
        self.device = device
        self.max_memory = max_memory

    def _check_params(self) -> tuple[tuple[int, ...], Optimizer]:
        """Validate every hyperparameter once, before any work."""
        hidden = self.hidden_layer_sizes
        if isinstance(hidden, (int, np.integer)) and not isinstance(hidden, bool):
            hidden = (int(hidden),)
        if isinstance(hidden, (str, bytes)) or not isinstance(hidden, Sequence):
            msg = (
                f"{arg_name('hidden_layer_sizes')} must be a sequence of ints like (100,), "
                f"got {hidden!r}"
            )
            raise TypeError(msg)
        sizes = tuple(
            check_positive_int(f"hidden_layer_sizes[{i}]", h) for i, h in enumerate(hidden)
        )
        check_name("activation", self.activation, HIDDEN_ACTIVATIONS)
        check_name("optimizer", self.optimizer, OPTIMIZERS)
        check_name("init", self.init, INITS)
        if isinstance(self.learning_rate, str):
            msg = (
                f"learning_rate is the initial rate, a float, got {self.learning_rate!r}; "
                f"a schedule is set with schedule= (one of {', '.join(SCHEDULES)}), "
                f"e.g. learning_rate=1e-3, schedule={self.learning_rate!r}"
            )
            raise TypeError(msg)
        lr = check_positive_float("learning_rate", self.learning_rate)
        check_name("schedule", self.schedule, SCHEDULES)
        parse_bytes("max_memory", self.max_memory)
        check_nonnegative_float("power_t", self.power_t)
        check_positive_int("batch_size", self.batch_size)
        check_positive_int("epochs", self.epochs)
        check_positive_int("patience", self.patience)
        check_nonnegative_int("seed", self.seed)
        check_nonnegative_float("alpha", self.alpha)
        check_nonnegative_float("tol", self.tol)
        fraction = check_positive_float("validation_fraction", self.validation_fraction)
        if fraction >= 1.0:
            msg = (
                f"{arg_name('validation_fraction')} must be in (0, 1), "
                f"got {self.validation_fraction!r}"
            )
            raise ValueError(msg)
        if self.dtype is not None:
            check_name("dtype", dtype_name(self.dtype), FLOAT_DTYPES)
        if not isinstance(self.shuffle, (bool, np.bool_)) and self.shuffle not in SHUFFLES:
            valid = ", ".join(repr(v) for v in (True, False, *SHUFFLES))
            msg = f"shuffle must be one of {valid}; got {self.shuffle!r}"
            raise ValueError(msg)
        return sizes, OPTIMIZERS[self.optimizer](lr)

    def _shuffle_mode(self, placement: Placement) -> str | None:
        """ "rows", "batches" or None: how each epoch reorders the training data.

        ``shuffle=True`` picks what suits the backend: eager backends gather the
        rows in a new order; lazy ones (dask) visit the contiguous batches in a
        new order, since a row permutation would make every batch gather from
        every chunk.
        """
        if isinstance(self.shuffle, (bool, np.bool_)):
            if not self.shuffle:
                return None
            return "batches" if placement.adapter.lazy else "rows"
        return str(self.shuffle)
