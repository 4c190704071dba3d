"""How far one fitted model is from another: weights, losses, predictions (verify layer).

Weights are compared normwise, as the parity suite does, and element by
element: one changed weight among thousands cannot hide in a norm, so each
layer's largest single difference is measured against the layer's largest
weight too.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ..backend import to_host


@dataclass
class ArrayDeviation:
    """One array of one layer: its normwise and its largest element deviation."""

    layer: int
    name: str
    """``"W"`` or ``"b"``."""
    norm: float
    """||a - r|| / ||r||."""
    element: float
    """max |a - r| / max |r_layer|: the largest single difference, against the largest
    weight or bias of its layer (a bias alone may be close to 0)."""
    index: list[int]
    """Where the largest single difference is."""
    value: float
    reference: float


@dataclass
class Deviation:
    """Everything measured between a model and its reference."""

    weights: float
    """Normwise over all parameters: ||a - r|| / ||r||."""
    arrays: list[ArrayDeviation]
    losses: list[float]
    """Per epoch: |sqrt(loss_a) - sqrt(loss_r)| / sqrt(max loss_r)."""
    predictions: dict[str, Any] = field(default_factory=dict)
    scalers: float = 0.0
    """The largest change of a scaling statistic, in the reference's standard deviations."""
    classes_equal: bool = True
    """Whether both models have the same classes, in the same order."""

    @property
    def worst(self) -> ArrayDeviation:
        """The array whose largest element deviates most."""
        return max(self.arrays, key=lambda a: a.element)

    @property
    def elements(self) -> float:
        """The largest element deviation of any layer."""
        return self.worst.element

    def first_epoch_beyond(self, limit: float) -> int | None:
        """The first epoch (from 1) whose loss deviation exceeds ``limit``, or None."""
        return next((i + 1 for i, d in enumerate(self.losses) if not d <= limit), None)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["elements"] = self.elements
        return data


def _host64(a: Any) -> np.ndarray:
    return to_host(a).astype(np.float64)


def _relative(diff: float, scale: float) -> float:
    if scale == 0.0:
        return 0.0 if diff == 0.0 else math.inf
    return diff / scale


def weight_deviation(params: Any, reference: Any) -> tuple[float, list[ArrayDeviation]]:
    """Normwise over everything, and per layer and array."""
    arrays: list[ArrayDeviation] = []
    diff_sq = ref_sq = 0.0
    for i, (layer, ref_layer) in enumerate(zip(params, reference)):
        scale = max(float(np.max(np.abs(_host64(r)), initial=0.0)) for r in ref_layer)
        for name, a, r in (("W", layer.W, ref_layer.W), ("b", layer.b, ref_layer.b)):
            x, ref = _host64(a), _host64(r)
            delta = np.abs(x - ref)
            diff_sq += float(np.sum(delta**2))
            ref_sq += float(np.sum(ref**2))
            where = np.unravel_index(int(np.argmax(delta)), delta.shape) if delta.size else ()
            arrays.append(
                ArrayDeviation(
                    layer=i,
                    name=name,
                    norm=_relative(float(np.linalg.norm(x - ref)), float(np.linalg.norm(ref))),
                    element=_relative(float(delta[where]) if delta.size else 0.0, scale),
                    index=[int(k) for k in where],
                    value=float(x[where]) if delta.size else 0.0,
                    reference=float(ref[where]) if delta.size else 0.0,
                )
            )
    return _relative(math.sqrt(diff_sq), math.sqrt(ref_sq)), arrays


def loss_deviation(history: list[float], reference: list[float]) -> list[float]:
    """Per epoch, ``|sqrt(L) - sqrt(L_ref)| / sqrt(max L_ref)``, as the parity suite does.

    A relative error ``e`` of the outputs changes ``sqrt(L)``, the RMS residual,
    by at most ``e`` times the RMS output, so the tolerance of the weights holds
    for it; the parity suite divides by the loss of predicting 0, for which the
    reference's largest epoch loss stands in here.  A loss near its minimum is
    small and its own relative rounding large, so it is never divided by itself.
    """
    scale = math.sqrt(max((max(float(r), 0.0) for r in reference), default=0.0))
    return [
        _relative(abs(math.sqrt(max(float(a), 0.0)) - math.sqrt(max(float(r), 0.0))), scale)
        for a, r in zip(history, reference)
    ]


def prediction_agreement(model: Any, reference: Any, X: Any, y: Any) -> dict[str, Any]:
    """Both models' predictions on ``X``: their differences, and the metric on each side."""
    found: dict[str, Any] = {
        "metric": "accuracy" if hasattr(model, "classes_") else "R^2",
        "model": float(model.score(X, y)),
        "reference": float(reference.score(X, y)),
    }
    if hasattr(model, "classes_"):
        a = np.asarray(to_host(model.predict_proba(X)), dtype=np.float64)
        r = np.asarray(to_host(reference.predict_proba(X)), dtype=np.float64)
        labels_a = np.asarray(_host_any(model.predict(X)))
        labels_r = np.asarray(_host_any(reference.predict(X)))
        differ = int(np.sum(labels_a != labels_r))
        found.update(labels_differ=differ, labels_differ_fraction=differ / max(1, len(labels_a)))
    else:
        a = _host64(model.predict(X))
        r = _host64(reference.predict(X))
    delta = np.abs(a - r)
    found["max_abs"] = float(np.max(delta)) if delta.size else 0.0
    scale = float(np.max(np.abs(r))) if r.size else 0.0
    found["max_rel"] = _relative(found["max_abs"], scale)
    return found


def _host_any(labels: Any) -> Any:
    """Labels as host values, whatever array they come in (strings come as NumPy)."""
    try:
        return to_host(labels)
    except TypeError:
        return labels


def scaler_deviation(model: Any, reference: Any) -> float:
    """The largest change of a scaler's mean or scale, in units of the reference's scale.

    A scaler that one model has and the other lacks counts as infinitely far.
    """
    worst = 0.0
    ours, theirs = model.fitted_model().network, reference.fitted_model().network
    for a, r in ((ours.x_scaler, theirs.x_scaler), (ours.y_scaler, theirs.y_scaler)):
        if a is None or r is None:
            if (a is None) != (r is None):
                return math.inf
            continue
        scale = np.abs(_host64(r.scale))
        for got, want in ((a.mean, r.mean), (a.scale, r.scale)):
            delta = np.abs(_host64(got) - _host64(want)) / np.where(scale > 0, scale, 1.0)
            worst = max(worst, float(np.max(delta, initial=0.0)))
    return worst


def _same_classes(model: Any, reference: Any) -> bool:
    a, r = model.fitted_model().network.classes, reference.fitted_model().network.classes
    if a is None or r is None:
        return a is None and r is None
    return bool(len(a) == len(r) and np.all(np.asarray(a) == np.asarray(r)))


def measure(model: Any, reference: Any, X: Any, y: Any) -> Deviation:
    """Weights, per-epoch losses, predictions, scalers and classes against ``reference``."""
    ours, theirs = model.fitted_model(), reference.fitted_model()
    norm, arrays = weight_deviation(ours.network.params, theirs.network.params)
    losses = loss_deviation(ours.training.history["loss"], theirs.training.history["loss"])
    return Deviation(
        norm,
        arrays,
        losses,
        prediction_agreement(model, reference, X, y),
        scaler_deviation(model, reference),
        _same_classes(model, reference),
    )
