"""``mlp-xp parity``: train one seeded model on every backend and compare it with float64 NumPy.

The model trains on the built-in problem (the lecture's BMI data), or on
the user's own data with ``--data`` (as ``mlp-xp train --data`` reads it).
Exit codes: 0 when every run is within tolerance, 1 when any deviates beyond
it, 2 for bad usage (including a named backend that cannot run here).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .. import parity
from ..backend import FLOAT_DTYPES
from ..data.builtin import DATASETS
from ..data.tables import TASKS, Dataset, infer_task, load_data
from ..nn.activations import HIDDEN_ACTIVATIONS
from ..nn.losses import LOSSES
from ..plotting import PLOT_FORMATS
from ..validation import check_positive_int
from .common import UsageError, add_table_args, table_options
from .paths import JSON_SUFFIXES, check_outputs, refuse_overwriting_inputs


def _split(text: str) -> list[str]:
    """``"a, b,c"`` -> ``["a", "b", "c"]``."""
    return [part.strip() for part in text.split(",") if part.strip()]


def _rates() -> str:
    """The optimizers' default learning rates, for --help: "0.05 for sgd and momentum, ..."."""
    by_rate: dict[float, list[str]] = {}
    for name, rate in parity.DEFAULT_LEARNING_RATES.items():
        by_rate.setdefault(rate, []).append(name)
    parts = []
    for rate, names in by_rate.items():
        listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
        parts.append(f"{rate:g} for {listed}")
    return ", ".join(parts)


def _builtin_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The layer sizes and rows of a built-in problem: its inputs, --hidden, its outputs."""
    given = [
        flag
        for flag, value in (
            ("--target", args.target),
            ("--task", None if args.task == "auto" else args.task),
            ("--delimiter", args.delimiter),
            ("--encoding", args.encoding),
        )
        if value is not None
    ]
    if given:
        raise UsageError(f"{given[0]} is about the data of --data FILE; give --data too")
    defaults = parity.ParityConfig()
    sizes = defaults.layer_sizes
    if args.hidden is not None:
        sizes = (sizes[0], *args.hidden, sizes[-1])
    batch = defaults.batch_size if args.batch_size is None else args.batch_size
    return {"layer_sizes": sizes, "n_samples": args.samples, "batch_size": batch}


def _loss(args: argparse.Namespace, data: Dataset, y: Any) -> str:
    """--loss, or the loss of --task (auto: as ``mlp-xp train`` infers it from the target)."""
    if args.loss is None:
        return parity.loss_for_task(y, infer_task(data, args.task))
    task = "regression" if args.loss == "squared_error" else "classification"
    if args.task not in ("auto", task):
        msg = f"--loss {args.loss} is a {task} loss, but --task {args.task} was given"
        raise UsageError(msg)
    return str(args.loss)


def _source(data: Dataset) -> str:
    """The data's name for the report: a built-in set, a file and its target column."""
    if data.source in DATASETS or not data.named:
        return data.source
    return f"{data.source}, target {data.target_name!r}"


def _data_settings(args: argparse.Namespace) -> tuple[dict[str, Any], tuple[Any, Any]]:
    """The settings that --data fixes (sizes, loss, rows, source), and its (X, y)."""
    data = load_data(args.data, target=args.target, **table_options(args))
    X, y = data.X, data.y
    if y is None:  # load_data refuses data without targets; this is for the type checker
        raise UsageError(f"--data {args.data}: no target column")
    rows = len(X) if args.samples is None else check_positive_int("--samples", args.samples)
    if rows > len(X):
        raise UsageError(f"--samples {rows} is more than the {len(X)} rows of {data.source}")
    loss = _loss(args, data, y[:rows])
    n_out = parity.encode_targets(y[:rows], loss).shape[1]
    hidden = parity.ParityConfig().layer_sizes[1:-1] if args.hidden is None else args.hidden
    default_batch = min(parity.ParityConfig().batch_size, rows)
    settings = {
        "layer_sizes": (X.shape[1], *hidden, n_out),
        "loss": loss,
        "n_samples": rows,
        "batch_size": default_batch if args.batch_size is None else args.batch_size,
        "source": _source(data),
    }
    return settings, (X, y)


def run(args: argparse.Namespace) -> int:
    """Run the check, print the table, write the JSON and the plot; return the exit code."""
    # Every output is checked before the run, not after it.
    check_outputs([("--json", args.json, JSON_SUFFIXES), ("--plot", args.plot, PLOT_FORMATS)])
    refuse_overwriting_inputs(
        [("--json", args.json), ("--plot", args.plot)], [("--data", args.data)]
    )
    data = None
    if args.data is None:
        settings = _builtin_settings(args)
        if args.loss is not None:
            settings["loss"] = args.loss
    else:
        settings, data = _data_settings(args)
    config = parity.ParityConfig(
        activation=args.activation,
        optimizer=args.optimizer,
        learning_rate=args.lr,
        steps=args.steps,
        seed=args.seed,
        alpha=args.alpha,
        scale=not args.no_scale,
        **settings,
    )
    backends = None if args.backends is None else _split(args.backends)
    report = parity.check(config, data=data, backends=backends, dtypes=_split(args.dtype))
    print(report.format())
    if args.json:
        report.write_json(args.json)
        print(f"wrote {args.json}")
    if args.plot and report.rows:
        report.plot(args.plot)
        print(f"wrote {args.plot}")
    if not report.rows:
        print("mlp-xp: error: none of the requested backends could run here", file=sys.stderr)
        return 2
    return 0 if report.passed else 1


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``parity`` to the ``mlp-xp`` parser."""
    parser = sub.add_parser(
        "parity",
        help="train one seeded model on every backend and compare it with float64 NumPy",
        description=(
            "Train one seeded model on every available backend, device and dtype with "
            "identical initial weights and batches, and compare every step with the same "
            "run in float64 NumPy. Exit 0: all within tolerance; 1: a deviation beyond "
            "tolerance; 2: bad usage."
        ),
    )
    parser.add_argument(
        "--backends",
        metavar="LIST",
        help=(
            "comma-separated BACKEND[:DEVICE], e.g. numpy,torch:cuda,cupy:cuda:0,"
            "array_api_strict:device1 (default: every one usable here; "
            f"{','.join(parity.DEFAULT_BACKENDS)})"
        ),
    )
    parser.add_argument(
        "--dtype",
        default=",".join(FLOAT_DTYPES),
        metavar="LIST",
        help="comma-separated dtypes (default: %(default)s)",
    )
    _add_data_args(parser)
    _add_network_args(parser)
    _add_training_args(parser)
    parser.add_argument(
        "--json",
        metavar="FILE",
        help="also write the report as JSON to FILE (default: only the table)",
    )
    parser.add_argument(
        "--plot",
        metavar="FILE",
        help=(
            "draw each run's deviation over the steps, log scale, to this .png, .pdf or "
            ".svg file (needs matplotlib; default: no plot)"
        ),
    )
    parser.set_defaults(func=run)


def _add_data_args(parser: argparse.ArgumentParser) -> None:
    """--data, --target, --task, --samples and --no-scale."""
    parser.add_argument(
        "--data",
        metavar="FILE",
        help=(
            f"train on your own data: {', '.join(DATASETS)}, a CSV (with header) or .npz "
            "file, as mlp-xp train reads it; the input and output sizes come from the data "
            "(default: the lecture's BMI data, 2 inputs and 1 output)"
        ),
    )
    parser.add_argument(
        "--target", metavar="COL", help="the CSV column to predict (default: the last)"
    )
    add_table_args(parser)
    parser.add_argument(
        "--task",
        default="auto",
        choices=TASKS,
        help=(
            "with --data: regression (squared error), or classification (binary "
            "cross-entropy for 2 classes, cross-entropy for more); auto takes text labels, "
            "or at most 20 distinct integers, as classes (default: %(default)s)"
        ),
    )
    parser.add_argument(
        "--samples",
        type=int,
        default=None,
        metavar="N",
        help=(
            "training rows: the first N rows of --data (default: all of them; "
            f"{parity.DEFAULT_SAMPLES} for the built-in problems)"
        ),
    )
    parser.add_argument(
        "--no-scale",
        action="store_true",
        help=(
            "train on the data as they are (default: standardise X, and y for squared "
            "error, on the host in float64, as the estimators do)"
        ),
    )


def _add_network_args(parser: argparse.ArgumentParser) -> None:
    """--hidden, --activation and --loss."""
    defaults = parity.ParityConfig()
    hidden = " ".join(str(s) for s in defaults.layer_sizes[1:-1])
    parser.add_argument(
        "--hidden",
        type=int,
        nargs="+",
        default=None,
        metavar="N",
        help=f"hidden layer sizes, e.g. --hidden 8 8 (default: {hidden}, the lecture's network)",
    )
    parser.add_argument(
        "--activation",
        default=defaults.activation,
        help=(f"hidden activation: one of {', '.join(HIDDEN_ACTIVATIONS)} (default: %(default)s)"),
    )
    parser.add_argument(
        "--loss",
        default=None,
        metavar="NAME",
        help=(
            f"one of {', '.join(LOSSES)}, with its matched output (identity, sigmoid, "
            "softmax); the cross-entropies need --data with class labels (default: from "
            "--task; squared_error without --data)"
        ),
    )


def _add_training_args(parser: argparse.ArgumentParser) -> None:
    """--optimizer, --lr, --alpha, --steps, --batch-size and --seed."""
    defaults = parity.ParityConfig()
    parser.add_argument(
        "--optimizer",
        default=defaults.optimizer,
        help="sgd, momentum, nesterov or adam (default: %(default)s)",
    )
    parser.add_argument(
        "--lr", type=float, default=None, help=f"learning rate (default: {_rates()})"
    )
    parser.add_argument(
        "--alpha",
        type=float,
        default=defaults.alpha,
        help="L2 penalty strength, as the estimators' alpha (default: %(default)s, none)",
    )
    parser.add_argument(
        "--steps", type=int, default=defaults.steps, help="mini-batch steps (default: %(default)s)"
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help=(
            f"rows per step (default: {defaults.batch_size}, or every row of --data "
            "when it has fewer)"
        ),
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=defaults.seed,
        help="seed of the data, the initial weights and the batch order (default: %(default)s)",
    )
