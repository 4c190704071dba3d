"""``mlp-xp info``: the backends usable here, with devices and versions, and why not."""

from __future__ import annotations

import argparse

from .._version import __version__
from ..backend import adapter, available_backends
from .common import description


def run(args: argparse.Namespace) -> int:
    """Print every backend, whether it is usable here, and why not."""
    print(f"mlp_xp {__version__}")
    for info in available_backends().values():
        if info.available:
            devices = ", ".join(info.devices)
            modes = adapter(info.name).numerics().modes
            extra = f"; {modes}" if modes else ""
            print(f"  {info.name:<17} usable         {info.version:<14} devices: {devices}{extra}")
        else:
            state = "unusable" if info.installed else "not installed"
            print(f"  {info.name:<17} {state:<14} {info.reason}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``info`` to the ``mlp-xp`` parser."""
    parser = sub.add_parser(
        "info",
        help="list the backends usable here, and why others are not",
        description=description(__doc__),
    )
    parser.set_defaults(func=run)
