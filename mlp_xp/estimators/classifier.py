"""The classifier: sigmoid or softmax outputs with their cross-entropies (estimator layer)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.exceptions import DataConversionWarning
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import type_of_target

from ..backend import Array, Placement, from_host, move, placement_of, to_host
from ..errors import warn_at_caller
from ..nn.plan import Plan, make_plan
from .base import _BaseMLP
from .inputs import host_values, host_weights
from .persistence import persisted


@persisted
class MLPClassifier(ClassifierMixin, _BaseMLP):
    """A multilayer perceptron classifier.

    Two classes use one sigmoid output with binary cross-entropy; more use a
    softmax output with cross-entropy.  Labels may be integers or strings;
    ``classes_`` holds them sorted.  Parameters are those of :class:`MLPRegressor`
    (``scale`` standardises X only).  With ``early_stopping`` the validation
    rows are drawn class by class (stratified), as scikit-learn's are, so a class
    of a single sample is refused.  And:

    class_weight : None, "balanced" or dict, default None
        Multiplies each sample's weight by its class's: a dict maps labels to
        weights (labels it omits weigh 1); ``"balanced"`` is scikit-learn's
        ``n_samples / (n_classes * count(class))``, with counts weighted by
        ``sample_weight``.  The weights of the first ``fit`` are kept in
        ``class_weight_`` and used by every resume.
    """

    _estimator_type: ClassVar[str] = "classifier"
    # Early stopping's validation rows are drawn class by class, as scikit-learn's are.
    _validation_split = "stratified"

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
        class_weight: dict[Any, float] | str | None = None,
    ) -> None:
        super().__init__(
            hidden_layer_sizes,
            activation,
            optimizer=optimizer,
            learning_rate=learning_rate,
            schedule=schedule,
            power_t=power_t,
            batch_size=batch_size,
            epochs=epochs,
            shuffle=shuffle,
            seed=seed,
            alpha=alpha,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            patience=patience,
            tol=tol,
            init=init,
            scale=scale,
            dtype=dtype,
            backend=backend,
            device=device,
            max_memory=max_memory,
        )
        self.class_weight = class_weight

    @classmethod
    def plan_for(cls, hyperparameters: Mapping[str, Any], classes: Any) -> Plan:
        """The plan of a classifier with these hyperparameters and classes."""
        loss = "binary_cross_entropy" if len(classes) == 2 else "cross_entropy"
        return make_plan(hyperparameters["activation"], loss)

    def _set_classes(self, classes: Any) -> None:
        values = np.unique(_labels(classes))
        if values.size < 2:
            msg = (
                f"y has only one class ({values.tolist()}); a classifier needs samples "
                "of at least two classes"
            )
            raise ValueError(msg)
        self.classes_ = values

    def _encode_targets(self, y: Any, placement: Placement, dtype: str, first: bool) -> Array:
        labels = _labels(y)
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

    def _split_labels(self, y: Any) -> np.ndarray | None:
        return _labels(y)

    def _output_width(self, y: Any) -> int:
        classes = len(getattr(self, "classes_", np.unique(_labels(y))))
        return 1 if classes <= 2 else classes

    def _row_class_weights(self, y: Any) -> np.ndarray | None:
        """Each row's class weight; the first fit resolves ``class_weight_``."""
        if not hasattr(self, "class_weight_"):
            if self.class_weight is None:
                return None
            self.class_weight_ = self._resolve_class_weight(_labels(y))
        weights = np.asarray([self.class_weight_[c] for c in self.classes_.tolist()])
        return weights[np.searchsorted(self.classes_, _labels(y))]

    def _resolve_class_weight(self, labels: np.ndarray) -> dict[Any, float]:
        """``class_weight`` as a weight for every class, by scikit-learn's rule."""
        given = self.class_weight
        if isinstance(given, str) and given != "balanced":
            msg = f"class_weight must be None, 'balanced' or a dict of weights, got {given!r}"
            raise ValueError(msg)
        if isinstance(given, dict):
            unknown = [k for k in given if k not in set(self.classes_.tolist())]
            if unknown:
                msg = (
                    f"class_weight names labels {unknown} that are not among the classes "
                    f"{self.classes_.tolist()}"
                )
                raise ValueError(msg)
        elif not isinstance(given, str):
            msg = f"class_weight must be None, 'balanced' or a dict, got {type(given).__name__}"
            raise TypeError(msg)
        sw = getattr(self, "_fit_sample_weight", None)
        weights = compute_class_weight(given, classes=self.classes_, y=labels, sample_weight=sw)
        return {c: float(w) for c, w in zip(self.classes_.tolist(), weights)}

    def fit(
        self,
        X: Any,
        y: Any,
        sample_weight: Any = None,
        *,
        callbacks: Any = None,
        resume: bool = False,
    ) -> MLPClassifier:
        """Train on ``X`` and labels ``y``; see :meth:`MLPRegressor.fit`."""
        labels = _labels(y)  # once, so that a column vector warns once
        # "balanced" counts the classes weighted by the samples' own weights.
        if isinstance(self.class_weight, str):
            self._fit_sample_weight = host_weights(sample_weight, len(labels))
        try:
            super().fit(X, labels, sample_weight, callbacks=callbacks, resume=resume)
        finally:
            self.__dict__.pop("_fit_sample_weight", None)
        return self

    def partial_fit(
        self, X: Any, y: Any, classes: Any = None, sample_weight: Any = None
    ) -> MLPClassifier:
        """One epoch on ``X`` and ``y``; the first call needs every class in ``classes``."""
        if not hasattr(self, "params_") and classes is None:
            msg = "the first call to partial_fit needs classes=, the list of all labels"
            raise ValueError(msg)
        if self.class_weight == "balanced" and not hasattr(self, "class_weight_"):
            msg = (
                "class_weight='balanced' needs the whole of y, which partial_fit never "
                "sees; pass class_weight as a dict of weights"
            )
            raise ValueError(msg)
        self._partial_fit(X, _labels(y), classes, sample_weight)
        return self

    def predict_proba(self, X: Any) -> Array:
        """Class probabilities, shape (n_samples, n_classes), in X's namespace and device."""
        network, out, where_in = self._network_output(X)
        proba = network.probabilities(placement_of(out).xp, out)
        return self._to_input_placement(proba, where_in)

    def predict(self, X: Any) -> Any:
        """Predicted labels; numeric labels come back in X's namespace, strings as NumPy."""
        network, out, where_in = self._network_output(X)
        index = network.label_index(placement_of(out).xp, out)
        labels = self.classes_[to_host(index)]
        if labels.dtype.kind in "biuf":
            return move(labels, where_in, None)
        return labels

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Mean accuracy, weighted by ``sample_weight``."""
        truth = _labels(y)
        right = np.asarray(host_values(self.predict(X))) == truth
        w = host_weights(sample_weight, len(truth))
        return float(np.mean(right) if w is None else np.sum(w * right) / np.sum(w))


def _labels(y: Any) -> np.ndarray:
    """Class labels on the host, 1-D, checked to be labels and not a continuous target.

    A column vector is accepted with scikit-learn's DataConversionWarning; object
    arrays become the NumPy dtype of their values (numbers stay numbers).
    """
    if y is None:
        msg = "MLPClassifier requires y to be passed, but the target y is None"
        raise ValueError(msg)
    labels = host_values(y)
    if labels.ndim == 2 and labels.shape[1] == 1:
        msg = (
            "A column-vector y was passed when a 1d array was expected. Please change "
            "the shape of y to (n_samples, ), for example using ravel()."
        )
        warn_at_caller(msg, DataConversionWarning)
        labels = labels[:, 0]
    if labels.ndim != 1:
        msg = f"y must be 1-D class labels, got shape {labels.shape}"
        raise ValueError(msg)
    if labels.dtype == object:
        labels = np.asarray(labels.tolist())
    if labels.dtype.kind == "f" and not np.all(np.isfinite(labels)):
        msg = "y contains NaN or infinite labels; remove those rows"
        raise ValueError(msg)
    kind = type_of_target(labels)
    if kind in ("continuous", "continuous-multioutput"):
        msg = (
            f"Unknown label type: {kind}. MLPClassifier needs class labels, and y holds "
            "non-integer numbers; use MLPRegressor for a continuous target"
        )
        raise ValueError(msg)
    return labels
