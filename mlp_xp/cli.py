"""The ``mlp-xp`` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import __version__
from ._backend import available_backends


def _info(args: argparse.Namespace) -> int:
    """Print every backend, whether it is usable here, and why not."""
    print(f"mlp_xp {__version__}")
    for info in available_backends().values():
        if info.available:
            devices = ", ".join(info.devices)
            print(f"  {info.name:<17} usable       {info.version:<14} devices: {devices}")
        else:
            state = "unusable" if info.installed else "not installed"
            print(f"  {info.name:<17} {state:<12} {info.reason}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``mlp-xp``."""
    parser = argparse.ArgumentParser(prog="mlp-xp", description=__doc__)
    parser.add_argument("--version", action="version", version=f"mlp_xp {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    info = sub.add_parser("info", help="list the backends usable here, and why others are not")
    info.set_defaults(func=_info)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``mlp-xp``; errors print one line and return a non-zero exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except (TypeError, ValueError, OSError) as exc:
        print(f"mlp-xp: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
