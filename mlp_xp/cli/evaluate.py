"""``mlp-xp evaluate MODEL --data FILE``: the model's metrics on labelled data."""

from __future__ import annotations

import argparse

import numpy as np

from ..backend import to_host
from ..data.tables import load_data
from ..estimators import load
from .common import add_model_args, add_placement_args, description, features_for


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
    model = load(args.model, backend=args.backend, device=args.device)
    data = load_data(args.data, target=getattr(model, "target_name_", None))
    X = features_for(model, data)
    y = data.y
    assert y is not None  # load_data(need_target=True) guarantees it
    if hasattr(model, "classes_"):
        proba = to_host(model.predict_proba(X))
        known = np.isin(y, model.classes_)
        index = np.searchsorted(model.classes_, y[known])
        eps = np.finfo(proba.dtype).eps
        log_loss = float(-np.mean(np.log(np.clip(proba[known, index], eps, 1.0))))
        accuracy = model.score(X, y)
        print(
            f"samples {len(y)} | accuracy {accuracy:.5f} | log loss {log_loss:.5f}"
            + ("" if known.all() else f" | {int((~known).sum())} rows with unknown labels")
        )
    else:
        pred = np.asarray(to_host(model.predict(X)), dtype=np.float64).reshape(len(y), -1)
        truth = np.asarray(y, dtype=np.float64).reshape(pred.shape)
        mse = float(np.mean((pred - truth) ** 2))
        mae = float(np.mean(np.abs(pred - truth)))
        print(f"samples {len(y)} | R^2 {model.score(X, y):.6f} | MSE {mse:.6g} | MAE {mae:.6g}")
    return 0
