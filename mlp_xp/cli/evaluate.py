"""``mlp-xp evaluate MODEL --data FILE``: the model's metrics on labelled data.

A MODEL ending in ``.onnx`` is a graph from ``mlp-xp export``, run on onnxruntime.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from ..backend import to_host
from ..data.splits import recorded_rows
from ..data.tables import same_data
from .class_scores import class_scores, report_lines
from .columns import add_by_position_arg, read_for_model
from .common import (
    UsageError,
    add_model_args,
    add_placement_args,
    description,
    load_model_or_graph,
    recorded_dtype,
    same_labels,
    unseen_labels,
)


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``evaluate`` to the ``mlp-xp`` parser."""
    p = sub.add_parser(
        "evaluate", help="score a saved model on labelled data", description=description(__doc__)
    )
    add_model_args(p)
    add_by_position_arg(p)
    p.add_argument(
        "--held-out",
        action="store_true",
        help="score only the rows mlp-xp train held out of this --data (the split its model "
        "file records, drawn again), as the train summary did (default: every row)",
    )
    add_placement_args(p, None)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the metrics: R^2, MSE and MAE, or accuracy and log loss."""
    model = load_model_or_graph(args)
    # The held-out rows are found by the training rows' fingerprint, in their dtype.
    dtype = recorded_dtype(model) if args.held_out else "float64"
    X, data = read_for_model(model, args, dtype=dtype)
    y = data.y
    assert y is not None  # load_data(need_target=True) guarantees it
    if args.held_out:
        X, y = _held_out(args, model, X, y)
    if hasattr(model, "classes_"):
        print(_classification(model, X, np.asarray(y)))
    else:
        pred = np.asarray(to_host(model.predict(X)), dtype=np.float64).reshape(len(y), -1)
        truth = np.asarray(y, dtype=np.float64).reshape(pred.shape)
        mse = float(np.mean((pred - truth) ** 2))
        mae = float(np.mean(np.abs(pred - truth)))
        r2 = _r2(pred, truth)
        print(f"samples {len(y)} | R^2 {r2:.6f} | MSE {mse:.6g} | MAE {mae:.6g}")
    return 0


def _r2(pred: np.ndarray, truth: np.ndarray) -> float:
    """R², each output's averaged as scikit-learn's ``r2_score`` does (a constant output: 1 or 0).

    Computed here from the predictions, so that an ONNX graph, which has only
    ``predict``, is scored as a model file is.
    """
    residual = np.sum((truth - pred) ** 2, axis=0)
    total = np.sum((truth - truth.mean(axis=0)) ** 2, axis=0)
    constant = total == 0.0
    scores = np.where(constant, np.where(residual == 0.0, 1.0, 0.0), 0.0)
    scores[~constant] = 1.0 - residual[~constant] / total[~constant]
    return float(np.mean(scores))


def _held_out(args: argparse.Namespace, model: Any, X: Any, y: Any) -> tuple[Any, Any]:
    """``X`` and ``y``'s rows that the model's training held out, found as it recorded them.

    Refused unless the model records a split with held-out rows, and the rows
    it leaves for training are the ones the model was trained on.
    """
    info = model.data_record().info or {}
    if "test_fraction" not in info or "seed" not in info:
        msg = (
            f"--held-out: {args.model} records no held-out split (it was not written by "
            "mlp-xp train); drop --held-out to score every row"
        )
        raise UsageError(msg)
    if float(info["test_fraction"]) == 0.0:
        msg = (
            f"--held-out: {args.model} was trained with --test-fraction 0, so no rows were "
            "held out; drop --held-out to score every row"
        )
        raise UsageError(msg)
    train_rows, test_rows = recorded_rows(info, X, y)
    if not same_data(info.get("fingerprint"), X[train_rows]):
        msg = (
            f"--held-out: --data {args.data} is not the data {args.model} was trained on "
            f"({info.get('source')}), so its held-out rows are unknown; pass that data, or "
            "drop --held-out to score every row"
        )
        raise UsageError(msg)
    return X[test_rows], y[test_rows]


def _classification(model: Any, X: np.ndarray, y: np.ndarray) -> str:
    """Accuracy and log loss; rows whose labels the model never saw are counted and named.

    Those rows count as wrong in the accuracy and are left out of the log loss,
    which has no probability for them.  Balanced accuracy, each class's precision
    and recall, and the confusion matrix follow on lines of their own.
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
    return "\n".join([text, *report_lines(class_scores(y, predicted, model.classes_))])
