"""A parity problem from the user's own data: targets encoded, data standardised (parity layer).

The targets are encoded as the estimators encode them (:class:`mlp_xp.MLPRegressor`
and :class:`mlp_xp.MLPClassifier`), and X (with the targets of a squared error)
is standardised on the host in float64 as they do, so that a check runs what
``fit`` would run on the same data, from identical numbers on every backend.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from ..backend import HOST_BACKEND, is_array, to_host
from ..data.tables import TASKS
from ..nn.init import init_params
from ..nn.losses import LOSSES
from ..validation import arg_setting, check_name
from .problems import ParityConfig, Problem, sample_weights, standardise

CLASSIFICATION_LOSSES: tuple[str, ...] = ("binary_cross_entropy", "cross_entropy")
"""The losses that train on class labels."""


def host_data(data: Any) -> tuple[np.ndarray, np.ndarray]:
    """``data = (X, y)`` as host NumPy arrays: X float64 of shape (n, n_features), finite."""
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        msg = f"data must be a pair (X, y), got {type(data).__name__}"
        raise TypeError(msg)
    X, y = (to_host(a) if is_array(a) else np.asarray(a) for a in data)
    if X.ndim != 2:
        msg = f"X must be 2-D (n_samples, n_features), got shape {X.shape}"
        raise ValueError(msg)
    if X.dtype.kind not in "biuf":
        msg = f"X has dtype {X.dtype}; features must be numbers"
        raise TypeError(msg)
    X = X.astype(np.float64)
    if not np.all(np.isfinite(X)):
        msg = "X holds NaN or infinite values; features must be finite numbers"
        raise ValueError(msg)
    if y.ndim not in (1, 2) or len(y) != len(X):
        msg = f"y must have one value (or row) per row of X ({len(X)}), got shape {y.shape}"
        raise ValueError(msg)
    return X, y


def for_data(config: ParityConfig, X: np.ndarray) -> ParityConfig:
    """``config`` for data ``X``: every row when ``n_samples`` is None, a default ``source``."""
    rows = X.shape[0] if config.n_samples is None else config.n_samples
    return dataclasses.replace(config, n_samples=rows, source=config.source or "user data")


def loss_for_task(y: Any, task: str) -> str:
    """The loss the estimators train ``y`` with for ``task``, "regression" or "classification".

    Regression: squared error.  Classification: binary cross-entropy for two
    classes, cross-entropy (softmax) for more.
    """
    check_name("task", task, [t for t in TASKS if t != "auto"])
    if task == "regression":
        return "squared_error"
    labels = _labels(np.asarray(y), arg_setting("task", "classification"))
    return "binary_cross_entropy" if np.unique(labels).size == 2 else "cross_entropy"


def encode_targets(y: Any, loss: str) -> np.ndarray:
    """``y`` as the network's float64 targets for ``loss``, shape (n_samples, n_outputs).

    * ``squared_error``: the numbers as they are, one column per output.
    * ``binary_cross_entropy``: two classes as one 0/1 column, 1 for the larger
      label (sorted, as ``MLPClassifier.classes_``).
    * ``cross_entropy``: one-hot rows over the sorted labels, one column a class.

    Raises
    ------
    ValueError
        For text or NaN targets of a squared error, and for targets of a
        cross-entropy that are not labels (non-integer numbers, 2-D) or hold
        fewer than two classes (binary: other than two).
    """
    check_name("loss", loss, LOSSES)
    y = np.asarray(y)
    if loss == "squared_error":
        if y.dtype.kind not in "biuf":
            msg = (
                f"{arg_setting('loss', 'squared_error')} needs a numeric target, but it holds "
                f"{y.dtype.kind!r} "
                "values (text labels?); use a cross-entropy for class labels"
            )
            raise ValueError(msg)
        Y = y.astype(np.float64).reshape(len(y), -1)
        if not np.all(np.isfinite(Y)):
            msg = "the target holds NaN or infinite values; remove those rows"
            raise ValueError(msg)
        return Y
    labels = _labels(y, arg_setting("loss", loss))
    classes, index = np.unique(labels, return_inverse=True)
    if classes.size < 2 or (loss == "binary_cross_entropy" and classes.size != 2):
        need = "exactly 2" if loss == "binary_cross_entropy" else "at least 2"
        hint = f"; use {arg_setting('loss', 'cross_entropy')} for more" if classes.size > 2 else ""
        asked = arg_setting("loss", loss)
        msg = f"{asked} needs {need} classes, the target has {classes.size}{hint}"
        raise ValueError(msg)
    if loss == "binary_cross_entropy":
        return index[:, None].astype(np.float64)
    return np.eye(classes.size)[index]


def _labels(y: np.ndarray, what: str) -> np.ndarray:
    """``y`` as 1-D class labels (text, booleans, integer-valued numbers), as ``what`` needs."""
    if y.ndim != 1:
        msg = f"{what} needs 1-D class labels, got targets of shape {y.shape}"
        raise ValueError(msg)
    if y.dtype.kind == "f":
        bad = y[~(np.isfinite(y) & (y == np.round(y)))]
        if bad.size:
            msg = (
                f"{what} needs class labels, but the target holds non-integer "
                f"numbers such as {bad[0]:g}; use {arg_setting('loss', 'squared_error')} for a "
                "continuous target"
            )
            raise ValueError(msg)
    return y


def problem_from_data(X: Any, y: Any, config: ParityConfig) -> Problem:
    """The user's data and the initial weights of ``config``, on the host in float64.

    Parameters
    ----------
    X : array, shape (n_samples, n_features)
        Features, any backend's array or nested lists; read to the host.
    y : array, shape (n_samples,) or (n_samples, n_outputs)
        Numbers for a squared error, class labels (text, integers) for a
        cross-entropy; see :func:`encode_targets`.
    config : ParityConfig
        The run.  Its first ``n_samples`` rows are used (None: all), its
        ``loss`` encodes the targets, and ``layer_sizes`` must run from X's
        features to the encoded targets' columns.  With ``scale``, X (and the
        targets of a squared error) are standardised over those rows.

    Returns
    -------
    Problem
        ``X`` and ``Y`` of shapes (n_samples, layer_sizes[0]) and
        (n_samples, layer_sizes[-1]), and the initial weights.
    """
    X, y = host_data((X, y))
    config = for_data(config, X).validated()
    n = int(config.n_samples or 0)
    if n > X.shape[0]:
        msg = f"n_samples={n} is more than the {X.shape[0]} rows of {config.source}"
        raise ValueError(msg)
    X, Y = X[:n], encode_targets(y[:n], config.loss)
    sizes = config.layer_sizes
    if (sizes[0], sizes[-1]) != (X.shape[1], Y.shape[1]):
        hidden = "".join(f"{s}, " for s in sizes[1:-1])
        msg = (
            f"layer_sizes {sizes} do not fit the data: X has {X.shape[1]} features and "
            f"{config.loss} takes {Y.shape[1]} output(s); use layer_sizes="
            f"({X.shape[1]}, {hidden}{Y.shape[1]})"
        )
        raise ValueError(msg)
    if config.scale:
        X = standardise(X)
        if config.loss not in CLASSIFICATION_LOSSES:
            Y = standardise(Y)
    params = init_params(sizes, seed=config.seed, dtype="float64", backend=HOST_BACKEND)
    return Problem(X, Y, params, sample_weights(config, X.shape[0]))
