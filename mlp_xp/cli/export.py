"""``mlp-xp export MODEL --onnx FILE.onnx``: the model as an ONNX graph, checked, then written.

The graph is mlp_xp's own forward pass recorded by ndonnx: raw features in,
the scaling inside, a regressor's predictions or a classifier's label and
probabilities out.  It is run on onnxruntime over --data (or a seeded sample in
the training range) and compared with the model's NumPy predictions by the
parity rule; beyond tolerance nothing is written and the exit code is 1.
Needs the onnx extra: pip install 'mlp_xp[onnx]'.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..backend import HOST_BACKEND
from ..export import check_writable, require_onnx, to_onnx
from .columns import add_by_position_arg, read_for_model
from .common import UsageError, add_table_args, description


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``export`` to the ``mlp-xp`` parser."""
    p = sub.add_parser(
        "export",
        help="export a saved model to ONNX, checked on onnxruntime first",
        description=description(__doc__),
    )
    p.add_argument("model", help="a model file written by mlp-xp train --out")
    p.add_argument(
        "--onnx",
        required=True,
        metavar="FILE.onnx",
        help="write the graph to this file, only if it passes the check (required)",
    )
    p.add_argument(
        "--data",
        default=None,
        help=(
            "check the graph on these rows: bmi, xor, digits, or a CSV or .npz file "
            "(default: a seeded sample of --rows rows in the training range)"
        ),
    )
    p.add_argument(
        "--rows",
        type=int,
        default=1000,
        help="rows of the seeded sample, without --data (default: %(default)s)",
    )
    add_table_args(p, recorded=True)
    add_by_position_arg(p)
    p.add_argument("--seed", type=int, default=0, help="seed of the sample (default: %(default)s)")
    p.set_defaults(func=run)


def _check_output(path: str, model: str) -> None:
    """Refuse ``--onnx`` before any work: not ``.onnx``, not writable, or the model itself."""
    if Path(path).suffix.lower() != ".onnx":
        raise UsageError(f"--onnx {path}: the file name must end in .onnx")
    if Path(path).resolve() == Path(model).resolve():
        raise UsageError(f"--onnx {path} is also MODEL; give another output file")
    try:
        check_writable(path)
    except OSError as exc:
        raise UsageError(f"--onnx: {exc}") from None


def run(args: argparse.Namespace) -> int:
    """Build, check and write the graph; exit 1 when the check fails."""
    _check_output(args.onnx, args.model)
    require_onnx()
    from ..estimators import load

    model = load(args.model, backend=HOST_BACKEND)
    X = None
    if args.data is not None:
        X, _ = read_for_model(model, args, need_target=False)
    report = to_onnx(
        model, args.onnx, data=X, rows=args.rows, seed=args.seed, data_source=args.data
    )
    print("\n".join(report.lines()))
    if not report.passed:
        print(
            f"mlp-xp: the graph deviates from the model beyond tolerance; {args.onnx} "
            "was not written",
            file=sys.stderr,
        )
        return 1
    return 0
