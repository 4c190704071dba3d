"""What several ``mlp-xp`` subcommands share: the usage error, common options, feature matching."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..backend import BACKEND_CHOICES, HOST_BACKEND, to_host
from ..data.tables import Dataset, load_data


class UsageError(ValueError):
    """Bad command-line usage: exit code 2."""


def description(doc: str | None) -> str | None:
    """A module docstring as ``--help`` text: the reStructuredText literal marks dropped."""
    return None if doc is None else doc.replace("``", "")


def add_placement_args(parser: argparse.ArgumentParser, default_backend: str | None) -> None:
    """``--backend`` and ``--device``, shared by the commands that compute.

    ``default_backend`` None means where a saved model was trained (predict, evaluate).
    """
    if default_backend is None:
        backend_default = f"where the model was trained if usable here, else {HOST_BACKEND}"
        device_default = "the device the model was trained on; with --backend, its default one"
    else:
        backend_default = "%(default)s, the best one usable here"
        device_default = "the backend's default device"
    parser.add_argument(
        "--backend",
        default=default_backend,
        metavar="NAME",
        help=f"one of {', '.join(BACKEND_CHOICES)} (default: {backend_default})",
    )
    parser.add_argument(
        "--device",
        default=None,
        help=(
            f"a device of that backend: cpu, cuda, cuda:1, device1 ... (default: {device_default})"
        ),
    )


def add_model_args(parser: argparse.ArgumentParser) -> None:
    """``MODEL`` and ``--data``, shared by the commands that use a saved model."""
    parser.add_argument("model", help="a model file written by mlp-xp train --out")
    parser.add_argument(
        "--data", required=True, help="bmi, xor, digits, or a CSV or .npz file (required)"
    )


def features_for(model: Any, data: Dataset) -> np.ndarray:
    """The columns of ``data`` the model was trained on, by name where names are known."""
    names = getattr(model, "feature_names_in_", None)
    X = data.X
    # Columns are matched by name where both sides have names; an .npz file has
    # none, so its columns are taken in order.
    if names and data.named and list(data.feature_names) != list(names):
        missing = [n for n in names if n not in data.feature_names]
        shown = str(missing[:8]) + (f" and {len(missing) - 8} more" if len(missing) > 8 else "")
        if not missing:
            X = X[:, [data.feature_names.index(n) for n in names]]
        else:
            msg = (
                f"{data.source} lacks the feature column(s) {shown} the model was trained "
                f"on (it has: {', '.join(data.feature_names[:8])}"
                f"{' ...' if len(data.feature_names) > 8 else ''})"
            )
            raise ValueError(msg)
    if X.shape[1] != model.n_features_in_:
        msg = (
            f"{data.source} has {X.shape[1]} feature columns but the model expects "
            f"{model.n_features_in_}"
        )
        raise ValueError(msg)
    return X


def writable_output(flag: str, path: str) -> None:
    """Refuse an output path before any work: a missing directory, a directory, no write access.

    Raises
    ------
    UsageError
        Naming the flag and the user's path.
    """
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if target.is_dir():
        raise UsageError(f"{flag} {path}: is a directory; give a file name")
    if not folder.is_dir():
        raise UsageError(f"{flag} {path}: the directory {str(folder)!r} does not exist")
    if not os.access(folder, os.W_OK) or (target.exists() and not os.access(target, os.W_OK)):
        raise UsageError(f"{flag} {path}: not writable")


def read_data(source: str, target: str | None, *, lazy: bool) -> Dataset:
    """A data set as ``mlp-xp train`` reads it: a file into memory, or a directory lazily.

    A directory's targets (one value per row) are read into memory, since labels
    are encoded and the task is inferred on the host; its features stay lazy when
    ``lazy`` (a backend that reads sources chunk by chunk), else they are read.
    """
    if not Path(str(source)).is_dir():
        return load_data(source, target=target)
    from ..cluster.sources import open_dataset

    found = open_dataset(source)
    y = to_host(found.y)
    X = found.X if lazy else to_host(found.X)
    names = [f"x{j}" for j in range(X.shape[1])]
    return Dataset(X, y, names, "y", None, found.source, named=False)
