"""``mlp-xp predict MODEL --data FILE``: predictions as CSV, to a file or stdout.

A MODEL ending in ``.onnx`` is a graph from ``mlp-xp export``, run on onnxruntime.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from typing import Any

from ..backend import to_host
from ..files import atomic_write
from .columns import add_by_position_arg, read_for_model
from .common import (
    add_model_args,
    add_placement_args,
    description,
    load_model_or_graph,
)
from .paths import CSV_SUFFIXES, check_outputs, refuse_overwriting_inputs


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``predict`` to the ``mlp-xp`` parser."""
    p = sub.add_parser(
        "predict", help="predict with a saved model", description=description(__doc__)
    )
    add_model_args(p)
    p.add_argument(
        "--out",
        default=None,
        help="write the predictions to this .csv file (default: print them to stdout)",
    )
    p.add_argument(
        "--keep",
        nargs="+",
        default=[],
        metavar="COL",
        help="CSV columns of --data to copy into the predictions, first, such as ids "
        "(default: none)",
    )
    add_by_position_arg(p)
    add_placement_args(p, None)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Write one row per sample: the kept columns, the prediction (and class probabilities)."""
    check_outputs([("--out", args.out, CSV_SUFFIXES)])
    refuse_overwriting_inputs(
        [("--out", args.out)], [("MODEL", args.model), ("--data", args.data)]
    )
    model = load_model_or_graph(args)
    target = model.data_record().target_name
    X, data = read_for_model(model, args, need_target=False, keep=args.keep)
    header, rows = _predictions(model, X, target)
    kept = data.kept or {}
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*kept, *header])
    for i, row in enumerate(rows):
        writer.writerow([*(values[i] for values in kept.values()), *row])
    if args.out:
        atomic_write(args.out, buffer.getvalue().encode())
        print(f"wrote {len(X)} predictions to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(buffer.getvalue())
    return 0


def _predictions(model: Any, X: Any, target: str | None) -> tuple[list[str], list[list[Any]]]:
    """The header and the rows of the predictions: the label (and probabilities), or values."""
    predictions = to_host(model.predict(X))
    column = f"predicted_{target}" if target else "prediction"
    if hasattr(model, "classes_"):
        proba = to_host(model.predict_proba(X))
        header = [column, *(f"p_{c}" for c in model.classes_)]
        return header, [
            [label, *(f"{p:.6g}" for p in row)] for label, row in zip(predictions, proba)
        ]
    flat = predictions.reshape(len(X), -1)
    header = [column] if flat.shape[1] == 1 else [f"{column}_{k}" for k in range(flat.shape[1])]
    return header, [[f"{v:.9g}" for v in row] for row in flat]
