"""``mlp-xp compare MODEL_A MODEL_B --data FILE``: two models of one recipe, without a replay.

For example one trained on a GPU and one on a laptop.  The tolerance is the sum
of the two runs' tolerances.  Exit status: 0 within tolerance, 1 not, 2 bad
usage, other data, or models of different recipes.
"""

from __future__ import annotations

import argparse
import warnings

from ..files import atomic_write
from .columns import add_by_position_arg
from .common import add_table_args, description
from .paths import JSON_SUFFIXES, check_outputs, refuse_overwriting_inputs
from .verify import training_rows


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``compare`` to the ``mlp-xp`` parser."""
    p = sub.add_parser(
        "compare",
        help="compare two models of one recipe and data, trained in two places",
        description=description(__doc__),
    )
    p.add_argument("model_a", metavar="MODEL_A", help="a model file")
    p.add_argument("model_b", metavar="MODEL_B", help="a model file of the same recipe")
    p.add_argument(
        "--data",
        required=True,
        help="the data both were trained on: bmi, xor, digits, a CSV or .npz, or - for "
        "standard input (required)",
    )
    p.add_argument(
        "--target", default=None, help="the CSV column to predict (default: as recorded, or last)"
    )
    add_table_args(p, recorded=True)
    add_by_position_arg(p)
    p.add_argument("--json", default=None, help="write the report as JSON here (default: none)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Compare, print the verdict; 0 pass, 1 fail."""
    from sklearn.exceptions import ConvergenceWarning

    from ..estimators import load
    from ..verify import compare

    check_outputs([("--json", args.json, JSON_SUFFIXES)])
    refuse_overwriting_inputs(
        [("--json", args.json)],
        [("MODEL_A", args.model_a), ("MODEL_B", args.model_b), ("--data", args.data)],
    )
    a, b = load(args.model_a), load(args.model_b)
    X, y = training_rows(a, args)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # as in verify
        report = compare(a, b, X, y)
    print(report.format())
    if args.json is not None:
        atomic_write(args.json, report.to_json().encode())
    return 0 if report.passed else 1
