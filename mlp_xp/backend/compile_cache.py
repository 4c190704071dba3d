"""A persistent cache of compilations, asked for by the command line (backend layer).

``mlp-xp`` is a process of its own, so its compilations can outlive it: the
command line asks for a cache directory with :func:`cache_compilations` before
any library is imported, and an adapter whose library compiles (JAX) applies it
when it first imports that library.  A Python session that imports mlp_xp
never gets one: mlp_xp does not change a user's JAX settings.  A cache the user
configured themselves (``JAX_COMPILATION_CACHE_DIR``, or JAX's config) is left
as it is.

The directory is ``$MLP_XP_COMPILATION_CACHE``, or ``$XDG_CACHE_HOME/mlp_xp/
compilations`` (``~/.cache/...``); ``MLP_XP_COMPILATION_CACHE=off`` turns it off.
"""

from __future__ import annotations

import os
from pathlib import Path

_REQUEST: dict[str, str | None] = {"dir": None}


def default_cache_dir() -> str | None:
    """The command line's cache directory, or None when ``MLP_XP_COMPILATION_CACHE=off``."""
    chosen = os.environ.get("MLP_XP_COMPILATION_CACHE", "")
    if chosen.lower() in ("off", "0", "no", "false"):
        return None
    if chosen:
        return chosen
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return str(Path(base) / "mlp_xp" / "compilations")


def cache_compilations(directory: str | None) -> None:
    """Ask adapters that compile to keep their compilations in ``directory`` (None: don't)."""
    if directory is not None:
        try:
            Path(directory).mkdir(parents=True, exist_ok=True)
        except OSError:
            directory = None  # an unwritable cache only costs the compilations
    _REQUEST["dir"] = directory


def requested_cache_dir() -> str | None:
    """The directory the command line asked for, or None."""
    return _REQUEST["dir"]
