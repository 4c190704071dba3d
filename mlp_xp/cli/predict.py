"""``mlp-xp predict MODEL --data FILE``: predictions as CSV, to a file or stdout."""

from __future__ import annotations

import argparse
import csv
import io
import sys
from typing import Any

import numpy as np

from ..backend import to_host
from ..data.tables import Dataset, load_data
from ..estimators import load
from ..files import atomic_write
from .train import add_placement_args


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``predict`` to the ``mlp-xp`` parser."""
    p = sub.add_parser("predict", help="predict with a saved model", description=__doc__)
    p.add_argument("model", help="a model file written by mlp-xp train --out")
    p.add_argument("--data", required=True, help="bmi, xor, digits, or a CSV or .npz file")
    p.add_argument("--out", default=None, help="write the predictions to this CSV file")
    add_placement_args(p, None)
    p.set_defaults(func=run)


def features_for(model: Any, data: Dataset) -> np.ndarray:
    """The columns of ``data`` the model was trained on, by name where names are known."""
    names = getattr(model, "feature_names_in_", None)
    X = data.X
    # Columns are matched by name where both sides have names; an .npz file has
    # none, so its columns are taken in order.
    if names and data.named and list(data.feature_names) != list(names):
        missing = [n for n in names if n not in data.feature_names]
        if not missing:
            X = X[:, [data.feature_names.index(n) for n in names]]
        else:
            msg = (
                f"{data.source} lacks the feature column(s) {missing} the model was trained "
                f"on (it has: {', '.join(data.feature_names)})"
            )
            raise ValueError(msg)
    if X.shape[1] != model.n_features_in_:
        msg = (
            f"{data.source} has {X.shape[1]} feature columns but the model expects "
            f"{model.n_features_in_}"
        )
        raise ValueError(msg)
    return X


def run(args: argparse.Namespace) -> int:
    """Write one row per sample: the prediction (and class probabilities)."""
    model = load(args.model, backend=args.backend, device=args.device)
    target = getattr(model, "target_name_", None)
    data = load_data(args.data, target=target, need_target=False)
    X = features_for(model, data)
    predictions = to_host(model.predict(X))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    column = f"predicted_{target}" if target else "prediction"
    if hasattr(model, "classes_"):
        proba = to_host(model.predict_proba(X))
        writer.writerow([column, *(f"p_{c}" for c in model.classes_)])
        for label, row in zip(predictions, proba):
            writer.writerow([label, *(f"{p:.6g}" for p in row)])
    else:
        flat = predictions.reshape(len(X), -1)
        header = (
            [column] if flat.shape[1] == 1 else [f"{column}_{k}" for k in range(flat.shape[1])]
        )
        writer.writerow(header)
        for row in flat:
            writer.writerow([f"{v:.9g}" for v in row])
    if args.out:
        atomic_write(args.out, buffer.getvalue().encode())
        print(f"wrote {len(X)} predictions to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(buffer.getvalue())
    return 0
