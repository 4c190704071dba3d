"""The fitted model's schema: network, training state, data record, provenance (estimator layer).

A fitted estimator is described by one frozen :class:`FittedModel`, which
``predict``, ``save``/``load``, the ONNX export and ``verify`` all use:

* :class:`Network`: the weights, the plan (activations and loss), the scalers,
  the classes and the output shape; it computes the network's output and the
  prediction's post-processing (inverse scaling, the 0.5 threshold, the two
  columns of a binary classifier's probabilities), written here once;
* :class:`TrainingState`: what resumes training (optimizer state, shuffle
  position, schedule, early stopping's best weights) and what it has done so
  far (epochs, history, loss);
* :class:`DataRecord`: the feature names, the target's name and what the
  command line records about the data it read;
* :class:`Provenance`: how the model was trained, segment by segment
  (:mod:`mlp_xp.estimators.provenance`).

Each class carries a ``VERSION``, raised when its fields change meaning.  The
mutable ``_state`` dict the epoch loop updates is made by
:meth:`TrainingState.as_state` and read back by :meth:`TrainingState.from_state`:
its keys are written here and nowhere else in the estimator package.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

import numpy as np

from ..backend import Array, Placement, compiled_call
from ..nn.backprop import forward_output
from ..nn.layers import Params
from ..nn.plan import Plan
from .scaling import Scaler

SPLITS: tuple[str, ...] = ("random", "stratified")
"""How early stopping's validation rows are drawn."""


@dataclass(frozen=True)
class Network:
    """The network a fitted model predicts with, and its post-processing."""

    VERSION: ClassVar[int] = 1

    params: Params
    plan: Plan
    n_features_in: int
    n_outputs: int
    backend: str
    device: str
    dtype: str
    x_scaler: Scaler | None = None
    y_scaler: Scaler | None = None
    classes: np.ndarray | None = None
    """The sorted class labels of a classifier; None for a regressor."""
    y_1d: bool = True
    """A regressor trained on a 1-D y predicts a 1-D array."""

    @property
    def is_classifier(self) -> bool:
        return self.classes is not None

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        """``(n_features, *hidden, n_outputs)`` from the weights, W of shape (out, in)."""
        return (int(self.params[0].W.shape[1]), *(int(layer.W.shape[0]) for layer in self.params))

    def forward(self, xp: Any, X: Array) -> Array:
        """The network's output for raw features ``X``: scaled by ``x_scaler``, then forward."""
        return _output_in(xp, self.params, X, _stats(self.x_scaler), self.plan)

    def output(self, placement: Placement, X: Array) -> Array:
        """:meth:`forward` as one compiled call on ``placement`` (one JAX compilation)."""
        return compiled_call(
            placement, _output, self.params, X, _stats(self.x_scaler), plan=self.plan
        )

    # Post-processing of the network's output ``out`` (n_rows, n_outputs): written once.

    def targets(self, out: Array) -> Array:
        """A regressor's predictions: in y's units, 1-D when it was trained on a 1-D y."""
        if self.y_scaler is not None:
            out = self.y_scaler.inverse(out)
        if self.n_outputs == 1 and self.y_1d:
            out = out[:, 0]
        return out

    def probabilities(self, xp: Any, out: Array) -> Array:
        """A classifier's class probabilities, one column per class in ``classes`` order."""
        if self.n_outputs == 1:
            # One sigmoid output is P(classes[1]).
            return xp.concat([1.0 - out, out], axis=1)
        return out

    def label_index(self, xp: Any, out: Array) -> Array:
        """The index in ``classes`` of each row's predicted class (int64)."""
        if self.n_outputs == 1:
            return xp.astype(out[:, 0] >= 0.5, xp.int64)
        return xp.argmax(out, axis=1)


@dataclass(frozen=True)
class TrainingState:
    """What resumes training, and what training has done so far."""

    VERSION: ClassVar[int] = 1

    opt: Any
    """The optimizer's state (a tree of arrays and numbers)."""
    rng: Mapping[str, Any] | None
    """The shuffle position: a generator state and the draws since then."""
    lr: float
    """The schedule's current learning rate (the adaptive schedule lowers it)."""
    seen: int = 0
    """The training rows seen so far (the invscaling schedule's clock)."""
    best: Params | None = None
    """Early stopping's best weights so far."""
    best_loss: float = math.inf
    bad_epochs: int = 0
    split: str = "random"
    """How early stopping's validation rows are drawn (one of :data:`SPLITS`)."""
    n_epochs: int = 0
    best_epoch: int | None = None
    history: Mapping[str, list[Any]] = field(
        default_factory=lambda: {"loss": [], "val_loss": [], "learning_rate": []}
    )
    loss: float | None = None
    stop_reason: str | None = None

    RESUME: ClassVar[tuple[str, ...]] = (
        "opt",
        "rng",
        "best",
        "best_loss",
        "bad_epochs",
        "lr",
        "seen",
        "split",
    )
    """The fields the epoch loop updates, the keys of :meth:`as_state`'s dict."""

    def as_state(self) -> dict[str, Any]:
        """The mutable dict the epoch loop trains with (``_state``)."""
        return {name: getattr(self, name) for name in self.RESUME}

    @classmethod
    def from_state(
        cls, state: Mapping[str, Any], learning_rate: float, **progress: Any
    ) -> TrainingState:
        """The state in an epoch loop's dict (defaults for keys it lacks), and ``progress``."""
        known = {f.name for f in fields(cls)}
        given = {name: state[name] for name in cls.RESUME if name in state}
        given.setdefault("opt", None)
        given.setdefault("rng", None)
        given["lr"] = float(given.get("lr") or learning_rate)
        given["split"] = given.get("split") or "random"
        return cls(**given, **{k: v for k, v in progress.items() if k in known})


@dataclass(frozen=True)
class DataRecord:
    """What the model knows of its data beyond the arrays: names, and how a file was read."""

    VERSION: ClassVar[int] = 1

    feature_names: tuple[str, ...] | None = None
    target_name: str | None = None
    info: dict[str, Any] | None = None
    """What ``mlp-xp train`` records: ``source``, ``task``, ``fingerprint``,
    ``test_fraction``, ``seed``, ``split``, ``delimiter``, ``encoding``,
    ``no_header`` and, for a file's columns, ``columns`` and ``categories``."""

    @classmethod
    def of(
        cls, feature_names: Any, target_name: str | None, info: Mapping[str, Any] | None
    ) -> DataRecord:
        """A record from any sequence of names (an array, a list) and any mapping."""
        return cls(
            None if feature_names is None else tuple(str(n) for n in feature_names),
            None if target_name is None else str(target_name),
            None if info is None else dict(info),
        )

    def get(self, key: str, default: Any = None) -> Any:
        """One entry of :attr:`info`, or ``default``."""
        return (self.info or {}).get(key, default)


@dataclass(frozen=True)
class Provenance:
    """How the model was trained (see :mod:`mlp_xp.estimators.provenance` for the layout)."""

    VERSION: ClassVar[int] = 1

    record: Mapping[str, Any] | None = None

    @property
    def data(self) -> Mapping[str, Any] | None:
        """The fingerprints of the first segment's X and y."""
        return None if self.record is None else self.record.get("data")

    @property
    def segments(self) -> list[Mapping[str, Any]]:
        return [] if self.record is None else list(self.record.get("segments") or [])

    def as_dict(self) -> dict[str, Any] | None:
        """The plain JSON record (a copy of the top level)."""
        return None if self.record is None else dict(self.record)


@dataclass(frozen=True)
class FittedModel:
    """A fitted estimator, whole: ``model.fitted_model()`` gives it, ``from_fitted`` takes it."""

    VERSION: ClassVar[int] = 1

    estimator: str
    """The estimator's class name (``MLPRegressor`` or ``MLPClassifier``)."""
    hyperparameters: Mapping[str, Any]
    """``get_params()`` at the time."""
    network: Network
    training: TrainingState
    data: DataRecord = DataRecord()
    provenance: Provenance = Provenance()
    class_weight: Mapping[Any, float] | None = None
    """The classifier's resolved class weights (``class_weight_``)."""


def _stats(scaler: Scaler | None) -> tuple[Array, Array] | None:
    return None if scaler is None else (scaler.mean, scaler.scale)


def _output_in(
    xp: Any, params: Params, X: Array, stats: tuple[Array, Array] | None, plan: Plan
) -> Array:
    """The network's output for ``X``, standardised first by ``stats`` (mean, scale) if given."""
    if stats is not None:
        X = Scaler(*stats).transform(X)
    return forward_output(xp, params, X, plan)[1]


def _output(
    placement: Placement,
    params: Params,
    X: Array,
    stats: tuple[Array, Array] | None,
    *,
    plan: Plan,
) -> Array:
    """:func:`_output_in` in the ``fn(placement, ...)`` form ``compiled_call`` takes."""
    return _output_in(placement.xp, params, X, stats, plan)
