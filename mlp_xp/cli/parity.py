"""``mlp-xp parity``: train one seeded model on every backend and compare it with float64 NumPy.

Exit codes: 0 when every run is within tolerance, 1 when any deviates beyond
it, 2 for bad usage (including a named backend that cannot run here).
"""

from __future__ import annotations

import argparse
import sys

from .. import parity
from ..backend import FLOAT_DTYPES


def _split(text: str) -> list[str]:
    """``"a, b,c"`` -> ``["a", "b", "c"]``."""
    return [part.strip() for part in text.split(",") if part.strip()]


def _layer_sizes(text: str) -> tuple[int, ...]:
    """``"2,8,1"`` -> ``(2, 8, 1)``, with an error that names the option."""
    try:
        return tuple(int(part) for part in _split(text))
    except ValueError:
        msg = f"--layers must be integers separated by commas, like 2,8,1; got {text!r}"
        raise ValueError(msg) from None


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


def run(args: argparse.Namespace) -> int:
    """Run the check, print the table, write the JSON and the plot; return the exit code."""
    if args.plot:
        parity.require_matplotlib()  # fail before the run, not after it
    config = parity.ParityConfig(
        layer_sizes=_layer_sizes(args.layers),
        activation=args.activation,
        optimizer=args.optimizer,
        learning_rate=args.learning_rate,
        steps=args.steps,
        batch_size=args.batch_size,
        n_samples=args.samples,
        seed=args.seed,
    )
    backends = None if args.backends is None else _split(args.backends)
    report = parity.check(config, backends=backends, dtypes=_split(args.dtype))
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
    defaults = parity.ParityConfig()
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
    parser.add_argument(
        "--layers",
        default=",".join(str(s) for s in defaults.layer_sizes),
        help="layer sizes, input to output (default: %(default)s, the lecture's BMI network)",
    )
    parser.add_argument(
        "--activation",
        default=defaults.activation,
        help="hidden activation (default: %(default)s)",
    )
    parser.add_argument(
        "--optimizer",
        default=defaults.optimizer,
        help="sgd, momentum, nesterov or adam (default: %(default)s)",
    )
    parser.add_argument(
        "--learning-rate",
        type=float,
        default=None,
        help=f"learning rate (default: {_rates()})",
    )
    parser.add_argument(
        "--steps", type=int, default=defaults.steps, help="mini-batch steps (default: %(default)s)"
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=defaults.batch_size,
        help="rows per step (default: %(default)s)",
    )
    parser.add_argument(
        "--samples",
        type=int,
        default=defaults.n_samples,
        help="training rows (default: %(default)s)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=defaults.seed,
        help="seed of the data, the initial weights and the batch order (default: %(default)s)",
    )
    parser.add_argument(
        "--json",
        metavar="FILE",
        help="also write the report as JSON to FILE (default: only the table)",
    )
    parser.add_argument(
        "--plot",
        metavar="FILE.png",
        help=(
            "draw each run's deviation over the steps, log scale, to this file (needs "
            "matplotlib; default: no plot)"
        ),
    )
    parser.set_defaults(func=run)
