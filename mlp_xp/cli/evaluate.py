"""``mlp-xp evaluate MODEL --data FILE``: the model's metrics on labelled data.

A MODEL ending in ``.onnx`` is a graph from ``mlp-xp export``, run on onnxruntime.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from ..backend import to_host
from ..data.tables import load_data
from ..estimators import MLPRegressor
from .common import (
    add_model_args,
    add_placement_args,
    description,
    features_for,
    load_model_or_graph,
    model_columns,
    same_labels,
    table_options,
    unseen_labels,
)


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``evaluate`` to the ``mlp-xp`` parser."""
    p = sub.add_parser(
        "evaluate", help="score a saved model on labelled data", description=description(__doc__)
    )
    add_model_args(p)
    add_placement_args(p, None)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the metrics: R^2, MSE and MAE, or accuracy and log loss."""
    model = load_model_or_graph(args)
    data = load_data(
        args.data,
        target=getattr(model, "target_name_", None),
        features=model_columns(model, args.data),
        **table_options(args, getattr(model, "data_info_", None)),
    )
    X = features_for(model, data)
    y = data.y
    assert y is not None  # load_data(need_target=True) guarantees it
    if hasattr(model, "classes_"):
        print(_classification(model, X, np.asarray(y)))
    else:
        pred = np.asarray(to_host(model.predict(X)), dtype=np.float64).reshape(len(y), -1)
        truth = np.asarray(y, dtype=np.float64).reshape(pred.shape)
        mse = float(np.mean((pred - truth) ** 2))
        mae = float(np.mean(np.abs(pred - truth)))
        r2 = MLPRegressor.score(model, X, y)  # an ONNX graph's too: it needs only predict
        print(f"samples {len(y)} | R^2 {r2:.6f} | MSE {mse:.6g} | MAE {mae:.6g}")
    return 0


def _classification(model: Any, X: np.ndarray, y: np.ndarray) -> str:
    """Accuracy and log loss; rows whose labels the model never saw are counted and named.

    Those rows count as wrong in the accuracy and are left out of the log loss,
    which has no probability for them.
    """
    proba = np.asarray(to_host(model.predict_proba(X)))
    predicted = np.asarray(to_host(model.predict(X)))
    accuracy = float(np.mean(same_labels(predicted, y)))
    known, shown = unseen_labels(y, model.classes_)
    text = f"samples {len(y)} | accuracy {accuracy:.5f}"
    if known.any():
        index = np.searchsorted(model.classes_, y[known])
        eps = np.finfo(proba.dtype).eps
        log_loss = float(-np.mean(np.log(np.clip(proba[known, index], eps, 1.0))))
        text += f" | log loss {log_loss:.5f}"
    else:
        text += " | log loss n/a (no row has a label the model knows)"
    if not known.all():
        text += (
            f" | {int((~known).sum())} rows have labels the model never saw in training: {shown}"
        )
    return text
