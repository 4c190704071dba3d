"""The regressor: the lecture's half squared error with an identity output (estimator layer)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
from sklearn.base import RegressorMixin

from ..backend import (
    Array,
    Placement,
    compiled_call,
    is_array,
    move,
    to_host,
)
from ..nn.plan import Plan, make_plan
from .base import _BaseMLP
from .inputs import check_finite_data, host_matrix, host_values, host_weights
from .persistence import persisted


@persisted
class MLPRegressor(RegressorMixin, _BaseMLP):
    """A multilayer perceptron for regression, trained on the lecture's half squared error.

    Parameters
    ----------
    hidden_layer_sizes : sequence of int, default (100,)
        Units of each hidden layer; the lecture's BMI network is ``(8,)``.
    activation : {"relu", "sigmoid", "tanh", "identity"}, default "relu"
    optimizer : {"sgd", "momentum", "nesterov", "adam"}, default "adam"
    learning_rate : float, default 1e-3
        The initial learning rate (the constant one under ``schedule="constant"``).
    schedule : {"constant", "invscaling", "adaptive", "cosine"}, default "constant"
        How the learning rate changes from epoch to epoch; scikit-learn's three
        and a cosine decay to 0 over ``epochs`` (:mod:`mlp_xp.training.schedules`).
    power_t : float, default 0.5
        The exponent of ``"invscaling"``.
    batch_size : int, default 200
        Capped quietly at the number of samples, as scikit-learn's ``"auto"`` is.
    epochs : int, default 200
        The most passes over the data.
    shuffle : {True, False, "rows", "batches"}, default True
        Reorder the training data every epoch, from the host generator.
        ``"rows"`` gathers the rows in a new order; ``"batches"`` keeps them in
        place and visits the contiguous batches of ``batch_size`` rows in a new
        order, which is what a dask array larger than memory needs.  True
        means ``"batches"`` for dask arrays and ``"rows"`` for every other backend.
    seed : int, default 0
        Seeds initialisation, the validation split and shuffling.
    alpha : float, default 1e-4
        L2 strength, as in scikit-learn (divided by the batch size).
    early_stopping : bool, default False
        Hold out ``validation_fraction`` of the data, stop when the validation loss
        has not improved by ``tol`` for ``patience`` epochs, and restore the best
        weights.  Without it the same rule watches the training loss.
    validation_fraction : float, default 0.1
    patience : int, default 10
    tol : float, default 1e-4
    init : {"glorot_normal", "glorot_uniform", "he_normal"}, default "glorot_normal"
    scale : bool, default True
        Standardise X and y with their training mean and standard deviation; the
        statistics are stored in the model, and predictions are in y's units.
    dtype : {"float32", "float64"} or None
        None trains in X's float dtype, whatever its container (array of any
        library, DataFrame, list); integers and booleans become float64, as in
        scikit-learn.  Where the backend lacks that dtype (JAX's float64
        without x64 mode) it trains in float32, with a ``PrecisionWarning``.
    backend, device : str or None
        None trains where X lives; "auto" picks a usable GPU, else NumPy.

    Attributes
    ----------
    params_ : tuple of Layer
        The weights, W of shape (out, in), on the training device.
    history_ : dict
        ``"loss"`` and ``"val_loss"`` per epoch.
    n_epochs_ : int
        Also ``n_iter_``, scikit-learn's name.
    stop_reason_ : str
        Why training stopped: "converged", "early_stopping", "callback",
        "diverged", "interrupted" or "max_epochs" (:mod:`mlp_xp.estimators.epochs`).
    feature_names_in_ : ndarray of str
        The column names of a DataFrame X; ``predict`` matches columns by name.
    loss_ : float
        The last epoch's training loss.
    n_features_in_, n_outputs_ : int
    backend_, device_, dtype_ : str
        Where the model was trained.
    """

    _estimator_type: ClassVar[str] = "regressor"

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    @classmethod
    def plan_for(cls, hyperparameters: Mapping[str, Any], classes: Any = None) -> Plan:
        """The plan of a regressor with these hyperparameters (``classes`` is unused)."""
        return make_plan(hyperparameters["activation"], "squared_error", "identity")

    def _scales_targets(self) -> bool:
        return True

    def _encode_targets(self, y: Any, placement: Placement, dtype: str, first: bool) -> Array:
        if y is None:
            msg = "MLPRegressor requires y to be passed, but the target y is None"
            raise ValueError(msg)
        if isinstance(y, np.ndarray) or not is_array(y):
            y = _numeric_targets(y)
        if y.ndim not in (1, 2):
            msg = f"y must be 1-D or 2-D, got shape {tuple(y.shape)}"
            raise ValueError(msg)
        self._y_1d = y.ndim == 1 if first else getattr(self, "_y_1d", y.ndim == 1)
        Y = move(y, placement, dtype)
        if Y.ndim == 1:
            Y = placement.xp.reshape(Y, (-1, 1))
        check_finite_data(placement, "y", Y)
        if first and Y.shape[0] > 1:
            _check_not_constant(placement, Y)
        if not first and Y.shape[1] != self.n_outputs_:
            msg = f"y has {Y.shape[1]} outputs but this model was trained with {self.n_outputs_}"
            raise ValueError(msg)
        return Y

    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None) -> MLPRegressor:
        """One epoch on ``X`` and ``y``, starting from the current weights (or a new model)."""
        self._partial_fit(X, y, sample_weight=sample_weight)
        return self

    def predict(self, X: Any) -> Array:
        """Predicted targets, in the namespace and on the device of ``X``.

        Returns
        -------
        array, shape (n_samples,) or (n_samples, n_outputs)
            1-D when the model was trained on a 1-D y.
        """
        network, out, where_in = self._network_output(X)
        return self._to_input_placement(network.targets(out), where_in)

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """R^2 (weighted by ``sample_weight``), averaged uniformly over outputs as in scikit-learn.

        Computed on the host in float64, whatever the backend.
        """
        truth = host_values(y).astype(np.float64)
        pred = to_host(self.predict(X)).astype(np.float64).reshape(len(truth), -1)
        truth = truth.reshape(pred.shape)
        w = host_weights(sample_weight, len(truth))
        w = np.ones(len(truth)) if w is None else w
        mean = np.sum(truth * w[:, None], axis=0) / np.sum(w)
        ss_res = np.sum(w[:, None] * (truth - pred) ** 2, axis=0)
        ss_tot = np.sum(w[:, None] * (truth - mean) ** 2, axis=0)
        # scikit-learn's r2_score: a constant target scores 1 when predicted exactly, else 0.
        exact = np.where(ss_res == 0, 1.0, 0.0)
        r2 = np.where(ss_tot > 0, 1 - ss_res / np.where(ss_tot > 0, ss_tot, 1), exact)
        return float(np.mean(r2))


def _numeric_targets(y: Any) -> np.ndarray:
    """Host targets as numbers; text (a classifier's labels) is refused with the fix."""
    try:
        values = host_matrix(y, "y")
    except TypeError:
        values = np.asarray(y, dtype=object)
    if values.dtype.kind not in "biuf":
        msg = (
            f"y has dtype {values.dtype} (e.g. {values.reshape(-1)[:3].tolist()}); regression "
            "targets must be numbers: use MLPClassifier for class labels"
        )
        raise TypeError(msg)
    return values


def _spread(placement: Placement, Y: Array) -> Array:
    """The widest range of a target column: 0 when every target is the same."""
    xp = placement.xp
    return xp.max(xp.max(Y, axis=0) - xp.min(Y, axis=0))


def _check_not_constant(placement: Placement, Y: Array) -> None:
    """A regression target that never varies is refused: there is nothing to learn."""
    # One compiled call on JAX, rather than a compilation per operation.
    if float(to_host(compiled_call(placement, _spread, Y))) == 0.0:
        value = float(to_host(Y[0, 0]))
        msg = (
            f"y is constant (every target is {value:g}): a regressor has nothing to "
            "learn from it; check the target column"
        )
        raise ValueError(msg)
