"""``mlp-xp bench``: run ``benchmarks/step.py`` from the source checkout."""

from __future__ import annotations

import argparse
import runpy
import sys
from pathlib import Path

from .common import description

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "step.py"


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``bench`` to the ``mlp-xp`` parser."""
    p = sub.add_parser(
        "bench",
        help="benchmark the step against the lecture, PyTorch and the matmul floor",
        description=description(__doc__),
        add_help=False,
    )
    p.add_argument(
        "rest",
        nargs=argparse.REMAINDER,
        help="options of benchmarks/step.py (try: mlp-xp bench --help)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Hand the remaining arguments to benchmarks/step.py's main()."""
    if not SCRIPT.is_file():
        msg = (
            f"mlp-xp bench runs {SCRIPT}, which is only in a source checkout of mlp_xp; "
            "clone the repository and pip install -e it"
        )
        raise FileNotFoundError(msg)
    main = runpy.run_path(str(SCRIPT), run_name="mlp_xp_bench")["main"]
    # The script's parser takes its name from sys.argv[0]: "mlp-xp bench", so that
    # its --help usage line and its errors name the subcommand.
    argv = sys.argv
    sys.argv = ["mlp-xp bench", *argv[1:]]
    try:
        return int(main(list(args.rest)))
    finally:
        sys.argv = argv
