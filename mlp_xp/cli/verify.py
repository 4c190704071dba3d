"""``mlp-xp verify MODEL --data FILE``: replay the model's training on NumPy and compare.

The data is read as ``mlp-xp train`` read it, with the held-out split the model
file records, and checked against the training data's fingerprint first.  Exit
status: 0 within tolerance, 1 not, 2 bad usage or other data.
"""

from __future__ import annotations

import argparse
import warnings
from typing import Any

from ..backend import FLOAT_DTYPES, HOST_BACKEND, adapter
from ..data.splits import recorded_rows
from ..parity.targets import parse_backend
from ..plotting import PLOT_FORMATS
from .columns import add_by_position_arg, read_for_model
from .common import (
    UsageError,
    add_table_args,
    description,
    is_table,
    recorded_dtype,
)
from .paths import JSON_SUFFIXES, MARKDOWN_SUFFIXES, check_outputs, refuse_overwriting_inputs


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``verify`` to the ``mlp-xp`` parser."""
    p = sub.add_parser(
        "verify",
        help="replay a model's training on a reference backend and say whether it agrees",
        description=description(__doc__),
    )
    p.add_argument("model", help="a model file written by mlp-xp train --out, or by model.save")
    p.add_argument(
        "--data",
        required=True,
        help="the data it was trained on: bmi, xor, digits, a CSV or .npz, or - for "
        "standard input (required)",
    )
    p.add_argument(
        "--target", default=None, help="the CSV column to predict (default: as recorded, or last)"
    )
    add_table_args(p, recorded=True)
    add_by_position_arg(p)
    p.add_argument(
        "--against",
        default=None,
        metavar="BACKEND[:DEVICE]",
        help=f"the reference backend to replay on (default: {HOST_BACKEND}; dask for lazy data)",
    )
    p.add_argument(
        "--dtype",
        default=None,
        choices=FLOAT_DTYPES,
        help="the replay dtype that decides (default: the model's own; float64 is shown beside)",
    )
    p.add_argument("--json", default=None, help="write the report as JSON here (default: none)")
    p.add_argument(
        "--plot",
        default=None,
        help="draw the deviations to this .png, .pdf or .svg file (default: none)",
    )
    p.add_argument(
        "--report", default=None, help="write a Markdown verification report (default: none)"
    )
    p.set_defaults(func=run)


def training_rows(model: Any, args: argparse.Namespace) -> tuple[Any, Any]:
    """X and y as ``mlp-xp train`` gave them to ``fit``: the recorded split, columns by name.

    A file's features are read in the dtype the model recorded them in.
    """
    info = model.data_record().info or {}
    if args.target is not None and not is_table(args.data):
        raise UsageError(f"--target applies to CSV files only; --data {args.data} has its own")
    X, data = read_for_model(
        model,
        args,
        target=args.target,
        lazy=adapter(model.fitted_model().network.backend).lazy,
        dtype=recorded_dtype(model),
    )
    y = data.y
    if "test_fraction" in info and "seed" in info:
        rows, _ = recorded_rows(info, X, y)
        X, y = X[rows], y[rows]  # type: ignore[index]
    return X, y


def _refuse_onnx(path: str) -> None:
    """An ``.onnx`` graph has nothing to replay: say so, and which file has.

    Raises
    ------
    UsageError
        Naming the model file it was exported from as the one to verify.
    """
    if not str(path).lower().endswith(".onnx"):
        return
    msg = (
        f"{path} is an ONNX graph, and ONNX files carry no training record to replay; "
        "verify the model file you exported it from (its .safetensors or .npz)"
    )
    raise UsageError(msg)


def run(args: argparse.Namespace) -> int:
    """Verify, print the verdict, write what was asked for; 0 pass, 1 fail."""
    outputs = [
        ("--json", args.json, JSON_SUFFIXES),
        ("--plot", args.plot, PLOT_FORMATS),
        ("--report", args.report, MARKDOWN_SUFFIXES),
    ]
    check_outputs(outputs)
    refuse_overwriting_inputs(
        [(flag, path) for flag, path, _ in outputs],
        [("MODEL", args.model), ("--data", args.data)],
    )
    backend, device = (None, None) if args.against is None else parse_backend(args.against)
    _refuse_onnx(args.model)
    from sklearn.exceptions import ConvergenceWarning

    from ..estimators import load
    from ..verify import verify

    model = load(args.model)
    X, y = training_rows(model, args)
    with warnings.catch_warnings():
        # The replay runs the recorded epochs, no more: that they ran out is no news.
        warnings.simplefilter("ignore", ConvergenceWarning)
        report = verify(model, X, y, against=backend, device=device, dtype=args.dtype)
    print(report.format())
    if args.json is not None:
        from ..files import atomic_write

        atomic_write(args.json, report.to_json().encode())
    if args.plot is not None:
        report.plot(args.plot)
    if args.report is not None:
        report.write_markdown(args.report)
    return 0 if report.passed else 1
