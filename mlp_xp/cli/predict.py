"""``mlp-xp predict MODEL --data FILE``: predictions as CSV, to a file or stdout."""

from __future__ import annotations

import argparse
import csv
import io
import sys

from ..backend import to_host
from ..data.tables import load_data
from ..estimators import load
from ..files import atomic_write
from .common import add_model_args, add_placement_args, description, features_for


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``predict`` to the ``mlp-xp`` parser."""
    p = sub.add_parser(
        "predict", help="predict with a saved model", description=description(__doc__)
    )
    add_model_args(p)
    p.add_argument(
        "--out",
        default=None,
        help="write the predictions to this CSV file (default: print them to stdout)",
    )
    add_placement_args(p, None)
    p.set_defaults(func=run)


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
