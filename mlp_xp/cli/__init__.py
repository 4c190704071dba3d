"""The command line, ``mlp-xp``: the entry point and one module per subcommand."""

from .main import COMMANDS, UsageError, build_parser, main

__all__ = ["COMMANDS", "UsageError", "build_parser", "main"]
