"""The export check: the graph on onnxruntime against the model's own predictions (export layer).

The graph and ``predict`` compute the same operations in the same dtype, in
different libraries: they may differ by rounding, and only by rounding.  Each
may stray from exact arithmetic by the parity rule's tolerance of one
evaluation, ``tolerance(dtype, steps=0, depth, width)``
(:func:`mlp_xp.parity.tolerance.tolerance`, from ``finfo(dtype).eps``), so the
two may differ by the sum of theirs, as ``mlp_xp.compare`` sums two runs'.
The deviation is measured as ``mlp_xp.verify`` measures predictions:
probabilities by their largest absolute difference (they are their own
scale), a regressor's predictions relative to the largest prediction.

A label may differ only where the model's probabilities are within rounding
of a tie (the top two within twice the tolerance); any other differing label
fails the check, as does a deviation beyond tolerance.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ..backend import is_array, to_host
from ..parity.tolerance import tolerance
from ..seeds import host_rng
from .encoding import encoding_of, feeds, one_hot_sample
from .onnx import fitted_of, is_classifier
from .runtime import run_session, session

SPREAD = 3.0
"""The seeded sample spans the training mean plus or minus this many standard deviations."""


@dataclass
class GraphCheck:
    """How far the graph's outputs are from the model's own, and whether that is rounding."""

    passed: bool
    deviation: float
    """The largest deviation, as :attr:`measure` says."""
    tolerance: float
    measure: str
    """What :attr:`deviation` is, in words."""
    rows: int
    labels_differ: int = 0
    """Rows whose labels differ (classifiers)."""
    labels_near_tie: int = 0
    """Of those, the rows whose probabilities are within rounding of a tie."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def limit(model: Any) -> float:
    """The parity rule's limit for the graph against ``predict``: two evaluations' tolerance."""
    network = fitted_of(model).network
    sizes = network.layer_sizes
    one = tolerance(str(network.dtype), steps=0, depth=len(sizes) - 1, width=max(sizes))
    return 2.0 * one


def _host(values: Any) -> np.ndarray:
    """Predictions of any backend (or NumPy labels) as a host array."""
    return to_host(values) if is_array(values) else np.asarray(values)


def _training_range(model: Any) -> tuple[np.ndarray, np.ndarray, str]:
    """Each feature's centre and spread, and where they come from."""
    fitted = fitted_of(model)
    n = int(fitted.network.n_features_in)
    scaler = fitted.network.x_scaler
    if scaler is not None:
        mean = to_host(scaler.mean).astype(np.float64)
        std = to_host(scaler.scale).astype(np.float64)
        return mean, std, "the input scaler's mean"
    recorded = (fitted.provenance.data or {}).get("X") or {}
    sums, sumsq = recorded.get("column_sums"), recorded.get("column_sumsq")
    shape = recorded.get("shape") or [0]
    if sums is not None and sumsq is not None and len(sums) == n and shape[0]:
        mean = np.asarray(sums, dtype=np.float64) / shape[0]
        var = np.asarray(sumsq, dtype=np.float64) / shape[0] - mean**2
        std = np.sqrt(np.maximum(var, 0.0))
        return mean, np.where(std > 0, std, 1.0), "the recorded training mean"
    return np.zeros(n), np.ones(n), "0 (no training statistics are recorded)"


def sample_rows(model: Any, rows: int, seed: int) -> tuple[np.ndarray, str]:
    """``rows`` seeded rows, uniform in the training mean +- 3 std, and how they were drawn.

    A one-hot encoded column (``--categorical``) takes a category drawn per row.
    """
    mean, std, centre = _training_range(model)
    rng = host_rng(seed)
    X = mean + std * rng.uniform(-SPREAD, SPREAD, size=(rows, mean.shape[0]))
    how = f"{rows} seeded rows (seed {seed}) in {centre} +- {SPREAD:g} standard deviations"
    fitted = fitted_of(model)
    encoding = encoding_of(fitted.data.info)
    return one_hot_sample(encoding, X.astype(str(fitted.network.dtype)), rng), how


def _relative(diff: float, scale: float) -> float:
    if scale == 0.0:
        return 0.0 if diff == 0.0 else math.inf
    return diff / scale


def _margin(proba: np.ndarray) -> np.ndarray:
    """Each row's top probability minus its second: how far the row is from a tie."""
    top = np.sort(proba, axis=1)
    return top[:, -1] - top[:, -2]


def compare(model: Any, found: dict[str, np.ndarray], X: np.ndarray) -> GraphCheck:
    """The graph's outputs ``found`` for ``X`` against ``model``'s predictions on ``X``."""
    allowed = limit(model)
    if not is_classifier(model):
        want = _host(model.predict(X)).astype(np.float64)
        got = np.asarray(found["predictions"], dtype=np.float64).reshape(want.shape)
        scale = float(np.max(np.abs(want))) if want.size else 0.0
        worst = float(np.max(np.abs(got - want))) if want.size else 0.0
        deviation = _relative(worst, scale)
        measure = "largest prediction deviation, relative to the largest prediction"
        return GraphCheck(deviation <= allowed, deviation, allowed, measure, len(X))
    want_p = _host(model.predict_proba(X)).astype(np.float64)
    got_p = np.asarray(found["probabilities"], dtype=np.float64).reshape(want_p.shape)
    deviation = float(np.max(np.abs(got_p - want_p))) if want_p.size else 0.0
    differ = np.asarray(found["label"]) != np.asarray(_host(model.predict(X)))
    near_tie = differ & (_margin(want_p) <= 2.0 * allowed)
    n_differ, n_tie = int(np.sum(differ)), int(np.sum(near_tie))
    passed = deviation <= allowed and n_differ == n_tie
    measure = "largest probability deviation"
    return GraphCheck(passed, deviation, allowed, measure, len(X), n_differ, n_tie)


def as_rows(model: Any, X: Any) -> np.ndarray:
    """``X`` as host rows in the model's dtype, refused unless 2-D with the model's features."""
    network = fitted_of(model).network
    rows = np.asarray(_host(X), dtype=str(network.dtype))
    n = int(network.n_features_in)
    if rows.ndim != 2 or rows.shape[0] < 1 or rows.shape[1] != n:
        msg = f"data has shape {tuple(rows.shape)}, but the model takes (n_samples >= 1, {n})"
        raise ValueError(msg)
    return rows


def check_graph(model: Any, graph: bytes, X: Any) -> GraphCheck:
    """Run the serialized ``graph`` on onnxruntime over the rows ``X`` and compare.

    Parameters
    ----------
    model : MLPRegressor or MLPClassifier
        The fitted model the graph claims to be.
    graph : bytes
        A serialized ONNX model, as :func:`mlp_xp.export.onnx.build_onnx` makes.
    X : array, shape (n_samples, n_features)
        The rows to run, host data or an array of any backend.

    Returns
    -------
    GraphCheck
        ``passed`` when the deviation is within the parity rule's tolerance and
        every differing label is a near tie.
    """
    rows = as_rows(model, X)
    encoding = encoding_of(fitted_of(model).data.info)
    found = run_session(session(graph), feeds(encoding, rows))
    return compare(model, found, rows)
