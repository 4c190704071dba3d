"""Where ``mlp-xp`` writes: outputs checked before any work, never over an input (command line).

Every output path is checked before a command reads or trains anything: its
directory exists and is writable, it is not a directory, and its suffix is one
that is written (a figure in the format its suffix names).  An output that is
also an input of the same command is refused, with one exception: ``train
--resume F --out F`` continues a run into its own checkpoint.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterable
from pathlib import Path

from ..data.builtin import DATASETS
from ..data.tables import STDIN
from ..plotting import PLOT_FORMATS, require_matplotlib
from .common import UsageError, writable_output

MODEL_SUFFIXES: tuple[str, ...] = (".safetensors", ".npz")
CSV_SUFFIXES: tuple[str, ...] = (".csv",)
JSON_SUFFIXES: tuple[str, ...] = (".json",)
MARKDOWN_SUFFIXES: tuple[str, ...] = (".md",)

Named = tuple[str, str | None]
"""An option and the path it names (None: not given)."""


def check_output(flag: str, path: str, suffixes: tuple[str, ...]) -> None:
    """Refuse an output path that cannot be written, before any work.

    Raises
    ------
    UsageError
        Naming the flag and the user's path: a missing directory, a directory,
        no write access, or a suffix that is not one of ``suffixes``.
    """
    target = Path(path)
    if target.is_dir():
        raise UsageError(f"{flag} {path}: is a directory; give a file name")
    # Model containers are chosen by the exact suffix (files.write_container).
    suffix = target.suffix if suffixes == MODEL_SUFFIXES else target.suffix.lower()
    if suffix not in suffixes:
        shown = ", ".join(suffixes)
        raise UsageError(f"{flag} {path}: the file name must end in {shown}")
    writable_output(flag, path)
    if suffixes == PLOT_FORMATS:
        require_matplotlib()
    if target.suffix == ".safetensors" and importlib.util.find_spec("safetensors") is None:
        msg = (
            f"{flag} {path}: writing .safetensors needs the safetensors package: "
            "pip install safetensors (or 'mlp_xp[cli]'); or give a .npz path instead"
        )
        raise UsageError(msg)


def check_outputs(outputs: Iterable[tuple[str, str | None, tuple[str, ...]]]) -> None:
    """:func:`check_output` for every output given, and no two of them the same file."""
    seen: list[Named] = []
    for flag, path, suffixes in outputs:
        if path is None:
            continue
        check_output(flag, path, suffixes)
        for other_flag, other in seen:
            if same_file(path, other):
                raise UsageError(f"{flag} {path} is also {other_flag}; give each its own file")
        seen.append((flag, path))


def is_file_input(path: str | None) -> bool:
    """Whether an input names a file (not standard input, not a built-in data set)."""
    return (
        path is not None and path != STDIN and not (path in DATASETS and not Path(path).exists())
    )


def same_file(a: str | None, b: str | None) -> bool:
    """Whether two paths name one file (through links and ``..`` too), existing or not."""
    if a is None or b is None:
        return False
    pa, pb = Path(a), Path(b)
    if pa.exists() and pb.exists():
        return os.path.samefile(pa, pb)
    return pa.resolve() == pb.resolve()


def refuse_overwriting_inputs(outputs: Iterable[Named], inputs: Iterable[Named]) -> None:
    """Refuse an output that is also an input of the same command.

    Raises
    ------
    UsageError
        Naming both options and the path.
    """
    sources = [(flag, path) for flag, path in inputs if is_file_input(path)]
    for flag, path in outputs:
        for in_flag, source in sources:
            if path is not None and same_file(path, source):
                msg = (
                    f"{flag} {path} is also {in_flag}: writing it would destroy that input; "
                    "give another output file"
                )
                raise UsageError(msg)


def beside(path: str, tag: str) -> str:
    """``m.npz`` -> ``m.TAG.npz``: a file next to ``path``, in the same container."""
    target = Path(path)
    suffix = target.suffix if target.suffix in MODEL_SUFFIXES else ".npz"
    stem = target.name[: -len(target.suffix)] if target.suffix else target.name
    return str(target.with_name(f"{stem}.{tag}{suffix}"))


def default_checkpoint() -> str:
    """Where a run without --out or --checkpoint saves its checkpoint: here."""
    suffix = ".safetensors" if importlib.util.find_spec("safetensors") else ".npz"
    return f"mlp-xp-checkpoint{suffix}"
