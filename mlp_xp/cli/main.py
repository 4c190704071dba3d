"""mlp-xp: train, check and benchmark multilayer perceptrons on any array backend."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import warnings
from collections.abc import Sequence
from typing import TextIO

from .._version import __version__
from ..errors import PlacementWarning
from .common import UsageError

__all__ = ["COMMANDS", "UsageError", "build_parser", "main"]

COMMANDS: tuple[str, ...] = (
    "train",
    "predict",
    "evaluate",
    "verify",
    "compare",
    "parity",
    "bench",
    "info",
)
"""Subcommands, each a module of this package with a ``register(subparsers)``."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``mlp-xp``, with every subcommand of :data:`COMMANDS`."""
    parser = argparse.ArgumentParser(prog="mlp-xp", description=__doc__)
    parser.add_argument("--version", action="version", version=f"mlp_xp {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"{__package__}.{name}").register(sub)
    return parser


def _note(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """Show a warning as one line on stderr, without a source line."""
    print(f"mlp-xp: note: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``mlp-xp``.

    Errors print one line, without a traceback: bad usage and bad input exit 2,
    anything else that goes wrong exits 1.
    """
    parser = build_parser()
    # `mlp-xp bench` hands its options to benchmarks/step.py, which parses them.
    args, extra = parser.parse_known_args(argv)
    if extra:
        if getattr(args, "command", None) != "bench":
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        args.rest = [*extra, *args.rest]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always", PlacementWarning)
            warnings.showwarning = _note
            return int(args.func(args))
    except KeyboardInterrupt:
        print("mlp-xp: interrupted", file=sys.stderr)
        return 130
    except (TypeError, ValueError, OSError, ModuleNotFoundError) as exc:
        print(f"mlp-xp: error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # one line for the user; MLP_XP_DEBUG=1 shows the traceback
        if os.environ.get("MLP_XP_DEBUG"):
            raise
        print(f"mlp-xp: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
