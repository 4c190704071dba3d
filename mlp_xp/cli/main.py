"""mlp-xp: train, check and benchmark multilayer perceptrons on any array backend."""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import warnings
from collections.abc import Sequence
from typing import TextIO

from .._version import __version__
from ..backend import cache_compilations, default_cache_dir
from ..errors import PlacementWarning
from ..validation import argument_names
from .common import UsageError
from .flags import FLAGS
from .signals import exit_status, interrupted_by, signals_as_interrupts

__all__ = ["COMMANDS", "UsageError", "build_parser", "main"]

COMMANDS: tuple[str, ...] = (
    "train",
    "predict",
    "evaluate",
    "verify",
    "compare",
    "export",
    "parity",
    "bench",
    "info",
)
"""Subcommands, each a module of this package with a ``register(subparsers)``."""

RENAMED: dict[str, dict[str, str]] = {
    "parity": {
        "--learning-rate": "--lr, as mlp-xp train spells it",
        "--layers": (
            "--hidden with the hidden sizes only, as mlp-xp train spells it (--layers 2,8,1 "
            "is --hidden 8); the input and output sizes come from the data"
        ),
    },
}
"""Options a command spelled otherwise once, with what to give now: the error names them."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``mlp-xp``, with every subcommand of :data:`COMMANDS`."""
    parser = argparse.ArgumentParser(prog="mlp-xp", description=__doc__)
    parser.add_argument("--version", action="version", version=f"mlp_xp {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"{__package__}.{name}").register(sub)
    return parser


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """Each subcommand's parser, by name."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _given(argv: Sequence[str], command: str) -> frozenset[str]:
    """The options of ``command`` that ``argv`` sets explicitly, by their ``dest``.

    They are found by parsing ``argv`` again with every default suppressed, so
    that abbreviations, ``--opt=value`` and repeated options count as argparse
    reads them.  ``--resume`` compares these with the checkpoint's settings.
    """
    probe = build_parser()
    sub = _subcommands(probe)[command]
    dests = {action.dest for action in sub._actions}
    for action in sub._actions:
        action.default = argparse.SUPPRESS
    found, _ = probe.parse_known_args(argv)
    return frozenset(name for name in vars(found) if name in dests)


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


CLOSED_PIPE_STATUS = 128 + int(getattr(signal, "SIGPIPE", 13))
"""The exit status when the reader of the output went away (``mlp-xp info | head -n 1``):
141, as a shell reports a program that SIGPIPE ended."""


def _closed_pipe() -> int:
    """Exit quietly: the reader of the output is gone, so nothing more is written to it.

    As Python's documentation of SIGPIPE advises, a stream whose pipe is closed
    (standard output, or standard error with ``2>&1``) is pointed at the null
    device, so that the flush at exit does not fail once more ("Exception
    ignored ... BrokenPipeError").
    """
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
            continue
        except OSError:
            pass
        try:
            fd = stream.fileno()
        except (AttributeError, OSError, ValueError):  # not a file descriptor (a test's capture)
            continue
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fd)
        os.close(devnull)
    return CLOSED_PIPE_STATUS


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``mlp-xp``.

    Errors print one line, without a traceback: bad usage and bad input exit 2,
    anything else that goes wrong exits 1.  A closed pipe (``| head``) ends the
    command quietly with :data:`CLOSED_PIPE_STATUS`.
    """
    try:
        status = _main(argv)
        sys.stdout.flush()  # here, where a closed pipe is caught, rather than at exit
    except BrokenPipeError:
        return _closed_pipe()
    except SystemExit:  # argparse's --help, --version and usage errors print first
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            return _closed_pipe()
        raise
    return status


def _main(argv: Sequence[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    # `mlp-xp bench` hands its options to benchmarks/step.py, which parses them.
    args, extra = parser.parse_known_args(argv)
    if extra:
        if getattr(args, "command", None) != "bench":
            # The subcommand's parser: its usage line and its name in the message.
            renamed = RENAMED.get(args.command, {})
            given = [arg.split("=")[0] for arg in extra]
            hints = [f"; {old} is now {renamed[old]}" for old in given if old in renamed]
            unknown = f"unrecognized arguments: {' '.join(extra)}{''.join(hints[:1])}"
            _subcommands(parser)[args.command].error(unknown)
        args.rest = [*extra, *args.rest]
    if args.command != "bench":
        args.given = _given(argv, args.command)
        args.subparser = _subcommands(parser)[args.command]
    # This process's compilations (JAX's) are kept for the next mlp-xp run.
    cache_compilations(default_cache_dir())
    try:
        # Messages from any layer name the flags, not the Python arguments.
        with warnings.catch_warnings(), signals_as_interrupts(), argument_names(FLAGS):
            warnings.simplefilter("always", PlacementWarning)
            warnings.showwarning = _note
            return int(args.func(args))
    except KeyboardInterrupt as exc:
        print(f"mlp-xp: {interrupted_by(exc)}", file=sys.stderr)
        return exit_status(exc)
    except BrokenPipeError:
        raise  # main() ends quietly
    except MemoryError as exc:
        detail = f" ({exc})" if str(exc) else ""
        print(
            f"mlp-xp: error: out of memory{detail}; use less data, smaller --hidden "
            "layers or a smaller --batch-size",
            file=sys.stderr,
        )
        return 2
    except (TypeError, ValueError, OSError, ModuleNotFoundError) as exc:
        print(f"mlp-xp: error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # one line for the user; MLP_XP_DEBUG=1 shows the traceback
        if os.environ.get("MLP_XP_DEBUG"):
            raise
        if "OutOfMemory" in type(exc).__name__:  # a GPU library's own out-of-memory error
            print(f"mlp-xp: error: out of memory on the device ({exc})", file=sys.stderr)
            return 2
        print(f"mlp-xp: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
