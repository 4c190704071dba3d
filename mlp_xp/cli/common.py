"""What several ``mlp-xp`` subcommands share: the usage error, options, models and columns."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..backend import (
    BACKEND_CHOICES,
    FLOAT_DTYPES,
    HOST_BACKEND,
    BackendUnavailableError,
    backend_info,
    resolve,
    to_host,
)
from ..data.builtin import DATASETS
from ..data.tables import DELIMITERS, STDIN, Dataset, load_data
from ..files import read_metadata


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
    """``MODEL``, ``--data`` and how to read it, shared by the commands that use a saved model."""
    parser.add_argument("model", help="a model file written by mlp-xp train --out")
    parser.add_argument(
        "--data",
        required=True,
        help="bmi, xor, digits, a CSV or .npz file, or - for standard input (required)",
    )
    add_table_args(parser, recorded=True)


def add_table_args(parser: argparse.ArgumentParser, *, recorded: bool = False) -> None:
    """``--delimiter``, ``--encoding`` and ``--no-header``: how a CSV file is written.

    ``recorded``: a model file records how its data was read (``--header``
    then overrides a recorded ``--no-header``).
    """
    parser.add_argument(
        "--delimiter",
        default=None,
        metavar="SEP",
        help=f"the CSV field separator: {', '.join(repr(d) for d in DELIMITERS)} "
        "(default: ',', or as recorded in the model file)",
    )
    parser.add_argument(
        "--encoding",
        default=None,
        help="the CSV file's text encoding, e.g. latin-1 (default: UTF-8, with or without "
        "a byte-order mark)",
    )
    no_header = (
        "the CSV file has no header line: every line is data, its columns named c0, c1, ..."
    )
    if not recorded:
        no_header += " and the target the last one unless --target names another"
        parser.add_argument(
            "--no-header", action="store_true", help=f"{no_header} (default: a header line)"
        )
        return
    header = parser.add_mutually_exclusive_group()
    header.add_argument(
        "--no-header",
        dest="no_header",
        action="store_const",
        const=True,
        default=None,
        help=f"{no_header} (default: a header line, or as recorded in the model file)",
    )
    header.add_argument(
        "--header",
        dest="no_header",
        action="store_const",
        const=False,
        help="the CSV file has a header line, though the model was trained with --no-header "
        "(default: as recorded in the model file)",
    )


def is_table(source: str) -> bool:
    """Whether ``--data`` is a CSV file or standard input (not a built-in set, .npz or folder)."""
    if source == STDIN:
        return True
    path = Path(source)
    if source in DATASETS and not path.exists():
        return False
    return not path.is_dir() and path.suffix != ".npz"


def table_options(
    args: argparse.Namespace, recorded: dict[str, Any] | None = None
) -> dict[str, Any]:
    """``delimiter``, ``encoding`` and ``no_header`` for :func:`load_data`: as given, else
    as recorded (``no_header`` only where the data is a CSV file).

    Raises
    ------
    UsageError
        For ``--delimiter``, ``--encoding`` or ``--no-header`` with data that is not a CSV file.
    """
    recorded = recorded or {}
    delimiter, encoding = getattr(args, "delimiter", None), getattr(args, "encoding", None)
    no_header = getattr(args, "no_header", None)
    for flag, value in (
        ("--delimiter", delimiter),
        ("--encoding", encoding),
        ("--no-header", no_header or None),
    ):
        if value is not None and not is_table(args.data):
            raise UsageError(f"{flag} applies to CSV files only, not to --data {args.data}")
    if no_header is None:
        no_header = bool(recorded.get("no_header")) and is_table(args.data)
    name = delimiter if delimiter is not None else recorded.get("delimiter", ",")
    if name in ("\t", "\\t"):
        name = "tab"
    if name not in DELIMITERS:
        shown = ", ".join(repr(d) for d in DELIMITERS)
        raise UsageError(f"--delimiter {name!r}: use one of {shown}")
    if encoding is None:
        encoding = recorded.get("encoding")
    return {"delimiter": DELIMITERS[name], "encoding": encoding, "no_header": bool(no_header)}


def load_model(path: str, backend: str | None, device: str | None) -> Any:
    """A saved model, on ``--backend`` and ``--device`` when given, else where it was trained.

    ``--device`` alone means the model's own backend on that device (NumPy when
    that backend is not usable here).  A backend or device that cannot be used
    here is refused naming the flag, before the file is read.
    """
    from ..estimators import load  # scikit-learn's, imported when a command needs it

    if backend is not None:
        resolve(backend, device)  # refuses an unusable backend, naming what is missing
        try:
            return load(path, backend=backend, device=device)
        except BackendUnavailableError as exc:  # the model's dtype, e.g. float64 on JAX
            raise UsageError(
                f"--backend {backend}: {exc}; or leave out --backend to load it where it can run"
            ) from None
    if device is None:
        return load(path)
    try:
        trained = str(read_metadata(Path(path))["trained_on"]["backend"])
    except Exception:  # a damaged file: load() says what is wrong with it
        return load(path)
    name = trained if backend_info(trained).available else HOST_BACKEND
    try:
        resolve(name, device)
    except ValueError:
        devices = ", ".join(backend_info(name).devices)
        raise UsageError(
            f"--device {device} does not apply to this model on {name}, whose devices here "
            f"are: {devices}; give --backend too to run it on another backend"
        ) from None
    return load(path, backend=name, device=device)


def load_model_or_graph(args: argparse.Namespace) -> Any:
    """``MODEL`` of predict and evaluate: a model file, or an ``.onnx`` graph from export.

    A graph runs on onnxruntime on the CPU, so ``--backend`` and ``--device``
    are refused for it, naming why.
    """
    if not str(args.model).lower().endswith(".onnx"):
        return load_model(args.model, args.backend, args.device)
    for flag, value in (("--backend", args.backend), ("--device", args.device)):
        if value is not None:
            raise UsageError(f"{flag} does not apply to an ONNX model: it runs on onnxruntime")
    from ..export import load_onnx

    return load_onnx(args.model)


def same_labels(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Elementwise equality of two label arrays; text never equals a number."""
    if (a.dtype.kind in "biuf") != (b.dtype.kind in "biuf"):
        return np.zeros(np.broadcast_shapes(a.shape, b.shape), dtype=bool)
    return np.asarray(a == b)


def unseen_labels(y: np.ndarray, classes: np.ndarray) -> tuple[np.ndarray, str]:
    """Which rows of ``y`` hold labels that are not in ``classes``, and those labels named."""
    y = np.asarray(y)
    known = np.zeros(len(y), dtype=bool)
    for label in classes:
        known |= same_labels(y, np.asarray(label))
    unseen = np.unique(y[~known])
    shown = ", ".join(_label(v) for v in unseen[:8]) + (" ..." if len(unseen) > 8 else "")
    return known, shown


def _label(value: Any) -> str:
    """A label as a user wrote it: 7 for 7.0, text as is."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def writable_output(flag: str, path: str) -> None:
    """Refuse an output path before any work: a missing directory, a directory, no write access.

    :func:`mlp_xp.cli.paths.check_output` checks its suffix too.

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
        missing = "is a file, not a directory" if folder.exists() else "does not exist"
        raise UsageError(f"{flag} {path}: the directory {str(folder)!r} {missing}")
    if not os.access(folder, os.W_OK | os.X_OK) or (
        target.exists() and not os.access(target, os.W_OK)
    ):
        raise UsageError(f"{flag} {path}: not writable")


def read_data(
    source: str,
    target: str | None,
    *,
    lazy: bool,
    table: dict[str, Any] | None = None,
    features: Sequence[str] | None = None,
    dtype: str = "float64",
    **reading: Any,
) -> Dataset:
    """A data set as ``mlp-xp train`` reads it: a file into memory, or a directory lazily.

    A directory's targets (one value per row) are read into memory, since labels
    are encoded and the task is inferred on the host; its features stay lazy when
    ``lazy`` (a backend that reads sources chunk by chunk), else they are read.
    ``table`` holds the CSV's ``delimiter``, ``encoding`` and ``no_header``; a file's
    features are read in ``dtype``, and ``reading`` holds the rest of
    :func:`mlp_xp.data.load_data`'s options (``need_target``, ``drop``, ...).
    """
    if source == STDIN or not Path(str(source)).is_dir():
        return load_data(
            source, target=target, features=features, dtype=dtype, **(table or {}), **reading
        )
    for name in ("drop", "categorical", "keep"):
        if reading.get(name):
            flag = "--" + name
            msg = f"{flag} applies to CSV files only; {source} has no columns to choose by name"
            raise ValueError(msg)
    from ..cluster.sources import open_dataset

    found = open_dataset(source)
    y = to_host(found.y)
    X = found.X if lazy else to_host(found.X)
    names = [f"x{j}" for j in range(X.shape[1])]
    return Dataset(X, y, names, "y", None, found.source, named=False)


def recorded_dtype(model: Any) -> str:
    """The dtype of the features a model's training recorded (float64 when none is)."""
    from ..export.runtime import OnnxModel

    # A graph records how its columns are read, not its provenance.
    data = None if isinstance(model, OnnxModel) else model.fitted_model().provenance.data
    found = ((data or {}).get("X") or {}).get("dtype")
    if found is None:
        fingerprint = model.data_record().get("fingerprint")
        found = fingerprint.get("dtype") if isinstance(fingerprint, dict) else None
    return str(found) if found in FLOAT_DTYPES else "float64"
