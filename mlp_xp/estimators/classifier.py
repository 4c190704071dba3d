"""The classifier: sigmoid or softmax outputs with their cross-entropies (estimator layer)."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from ..backend import Array, Placement, from_host, move, placement_of, to_host
from ..nn.plan import Plan, make_plan
from .base import _BaseMLP, host_values
from .persistence import persisted


@persisted
class MLPClassifier(_BaseMLP):
    """A multilayer perceptron classifier.

    Two classes use one sigmoid output with binary cross-entropy; more use a
    softmax output with cross-entropy.  Labels may be integers or strings;
    ``classes_`` holds them sorted.  Parameters are those of :class:`MLPRegressor`
    (``scale`` standardises X only).
    """

    _estimator_type: ClassVar[str] = "classifier"

    def _plan(self) -> Plan:
        if len(self.classes_) == 2:
            return make_plan(self.activation, "binary_cross_entropy")
        return make_plan(self.activation, "cross_entropy")

    def _set_classes(self, classes: Any) -> None:
        values = np.unique(host_values(classes))
        if values.size < 2:
            msg = f"classes must hold at least two labels, got {values.tolist()}"
            raise ValueError(msg)
        self.classes_ = values

    def _encode_targets(self, y: Any, placement: Placement, dtype: str, first: bool) -> Array:
        labels = host_values(y)
        if labels.ndim != 1:
            msg = f"y must be 1-D class labels, got shape {labels.shape}"
            raise ValueError(msg)
        if labels.dtype.kind == "f" and not np.all(np.isfinite(labels)):
            msg = "y contains NaN or infinite labels; remove those rows"
            raise ValueError(msg)
        if not hasattr(self, "classes_"):
            self._set_classes(labels)
        unknown = np.setdiff1d(np.unique(labels), self.classes_)
        if unknown.size:
            msg = (
                f"y has labels {unknown.tolist()[:10]} that are not among the classes "
                f"{self.classes_.tolist()}; pass classes= to the first partial_fit"
            )
            raise ValueError(msg)
        index = np.searchsorted(self.classes_, labels)
        if len(self.classes_) == 2:
            onehot = index[:, None].astype(np.float64)
        else:
            onehot = np.eye(len(self.classes_))[index]
        return from_host(onehot, placement, dtype)

    def partial_fit(self, X: Any, y: Any, classes: Any = None) -> MLPClassifier:
        """One epoch on ``X`` and ``y``; the first call needs every class in ``classes``."""
        if not hasattr(self, "params_") and classes is None:
            msg = "the first call to partial_fit needs classes=, the list of all labels"
            raise ValueError(msg)
        self._partial_fit(X, y, classes)
        return self

    def predict_proba(self, X: Any) -> Array:
        """Class probabilities, shape (n_samples, n_classes), in X's namespace and device."""
        out, where_in = self._network_output(X)
        if len(self.classes_) == 2:
            xp = placement_of(out).xp
            out = xp.concat([1.0 - out, out], axis=1)
        return self._to_input_placement(out, where_in)

    def predict(self, X: Any) -> Any:
        """Predicted labels; numeric labels come back in X's namespace, strings as NumPy."""
        out, where_in = self._network_output(X)
        xp = placement_of(out).xp
        if len(self.classes_) == 2:
            index = xp.astype(out[:, 0] >= 0.5, xp.int64)
        else:
            index = xp.argmax(out, axis=1)
        labels = self.classes_[to_host(index)]
        if labels.dtype.kind in "biuf":
            return move(labels, where_in, None)
        return labels

    def score(self, X: Any, y: Any) -> float:
        """Mean accuracy."""
        pred = np.asarray(host_values(self.predict(X)))
        return float(np.mean(pred == host_values(y)))
