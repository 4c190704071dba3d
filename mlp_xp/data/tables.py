"""Data sources for the command line: built-in data sets, CSV files and ``.npz`` files.

Every loader returns host NumPy arrays and reports bad input with the row and
column at fault.  Features must be numbers; a classification target may be text.
"""

from __future__ import annotations

import csv
import hashlib
import math
import zipfile
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from ..backend import is_lazy
from ..seeds import seeded_split
from .builtin import BMI_FEATURES, DATASETS, load_digits, make_bmi, make_xor
from .fingerprint import fingerprint_array

TASKS: tuple[str, ...] = ("auto", "regression", "classification")


class Dataset(NamedTuple):
    """Features, targets and names, on the host."""

    X: np.ndarray
    """shape (n_samples, n_features), float64."""
    y: np.ndarray | None
    """shape (n_samples,) or (n_samples, n_outputs); numbers or labels; None if absent."""
    feature_names: list[str]
    target_name: str | None
    task: str | None
    """"regression" or "classification" for built-in data sets, else None (to infer)."""
    source: str
    named: bool = True
    """Whether the feature names come from the data (False for .npz files)."""


def load_data(source: str, *, target: str | None = None, need_target: bool = True) -> Dataset:
    """Load a built-in data set by name, a ``.npz`` file, or a CSV file with a header.

    Parameters
    ----------
    source : str
        ``"bmi"``, ``"xor"``, ``"digits"``, or a path.
    target : str, optional
        The CSV column to predict; default the last column.  With
        ``need_target=False`` a CSV may lack it, and only feature columns are read.
    """
    if source in DATASETS:
        return _builtin(source)
    path = Path(source)
    if not path.exists():
        msg = (
            f"data file {source!r} does not exist; give a CSV or .npz path, "
            f"or a built-in data set: {', '.join(DATASETS)}"
        )
        raise FileNotFoundError(msg)
    if path.is_dir():
        msg = f"data path {source!r} is a directory; give a CSV or .npz file"
        raise ValueError(msg)
    if path.stat().st_size == 0:
        msg = f"data file {source!r} is empty; expected a header line and rows of numbers"
        raise ValueError(msg)
    if path.suffix == ".npz":
        return _npz(path, need_target)
    return _csv(path, target, need_target)


def _builtin(name: str) -> Dataset:
    if name == "bmi":
        X, y = make_bmi(5000, seed=0)
        return Dataset(X, y, list(BMI_FEATURES), "bmi", "regression", name)
    if name == "xor":
        X, y = make_xor(64, noise=0.05, seed=0)
        return Dataset(X, y, ["x0", "x1"], "xor", "classification", name)
    X, y = load_digits()
    return Dataset(
        X, y, [f"pixel_{i}" for i in range(X.shape[1])], "digit", "classification", name
    )


def _npz(path: Path, need_target: bool) -> Dataset:
    try:
        # Open the file ourselves: np.load leaks its handle when the zip is damaged.
        with path.open("rb") as handle, np.load(handle, allow_pickle=False) as archive:
            files = list(archive.files)
            if "X" not in files:
                msg = f"{str(path)!r} has no array named 'X' (it holds: {', '.join(files)})"
                raise ValueError(msg)
            X = np.asarray(archive["X"])
            y = np.asarray(archive["y"]) if "y" in files else None
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        msg = f"{str(path)!r} is not a readable .npz file ({exc})"
        raise ValueError(msg) from None
    if need_target and y is None:
        msg = f"{str(path)!r} has no array named 'y' with the targets"
        raise ValueError(msg)
    check_features(X, str(path))
    X = X.astype(np.float64)
    _check_finite_features(X, str(path), [f"X[:, {j}]" for j in range(X.shape[1])])
    if y is not None and len(y) != len(X):
        msg = f"{str(path)!r}: X has {len(X)} rows but y has {len(y)}"
        raise ValueError(msg)
    names = [f"x{j}" for j in range(X.shape[1])]
    return Dataset(X, y, names, "y", None, str(path), named=False)


def check_features(X: Any, source: str) -> None:
    """X from a file must be a 2-D array of numbers (host or lazy, only its metadata is read)."""
    if X.ndim != 2:
        msg = f"X in {source!r} must be 2-D (n_samples, n_features), got shape {X.shape}"
        raise ValueError(msg)
    if X.dtype.kind not in "biuf":
        msg = f"X in {source!r} has dtype {X.dtype}; features must be numbers"
        raise TypeError(msg)


def _check_finite_features(X: np.ndarray, source: str, names: list[str]) -> None:
    bad = np.argwhere(~np.isfinite(X))
    if bad.size:
        row, col = (int(v) for v in bad[0])
        msg = (
            f"{source}: row {row + 1}, column {names[col]!r} holds {X[row, col]}; "
            f"features must be finite numbers ({len(bad)} such cells in all)"
        )
        raise ValueError(msg)


def _csv(path: Path, target: str | None, need_target: bool) -> Dataset:
    source = str(path)
    with path.open(newline="") as handle:
        reader = csv.reader(handle)
        try:
            header = next(reader)
        except StopIteration:
            msg = f"data file {source!r} is empty; expected a header line and rows of numbers"
            raise ValueError(msg) from None
        except (csv.Error, UnicodeDecodeError) as exc:
            msg = f"{source!r} is not a readable CSV file ({exc})"
            raise ValueError(msg) from None
        header = [h.strip() for h in header]
        if len(header) < 1 or any(h == "" for h in header):
            msg = f"{source}: the header line has an empty column name: {header}"
            raise ValueError(msg)
        try:
            rows = list(reader)
        except (csv.Error, UnicodeDecodeError) as exc:
            msg = f"{source!r} is not a readable CSV file ({exc})"
            raise ValueError(msg) from None
    rows = [r for r in rows if any(cell.strip() for cell in r)]  # skip blank lines
    if not rows:
        msg = f"data file {source!r} has a header but no rows of data"
        raise ValueError(msg)
    for i, row in enumerate(rows):
        if len(row) != len(header):
            msg = (
                f"{source}: row {i + 1} has {len(row)} fields but the header has "
                f"{len(header)}; every row needs one value per column"
            )
            raise ValueError(msg)
    if target is None:
        target_col = len(header) - 1 if need_target else None
    elif target in header:
        target_col = header.index(target)
    else:
        if need_target:
            columns = ", ".join(header)
            msg = f"target column {target!r} is not in {source}; its columns are: {columns}"
            raise ValueError(msg)
        target_col = None
    if need_target and len(header) < 2:
        msg = f"{source} has only the column {header[0]!r}; it needs features and a target"
        raise ValueError(msg)
    feature_cols = [j for j in range(len(header)) if j != target_col]
    X = np.empty((len(rows), len(feature_cols)))
    for i, row in enumerate(rows):
        for k, j in enumerate(feature_cols):
            X[i, k] = _number(row[j], source, i, header[j])
    names = [header[j] for j in feature_cols]
    y = None
    if target_col is not None:
        y = _target_column([row[target_col] for row in rows], source, header[target_col])
    return Dataset(X, y, names, None if target_col is None else header[target_col], None, source)


def _number(cell: str, source: str, row: int, column: str) -> float:
    text = cell.strip()
    if text == "":
        msg = f"{source}: row {row + 1}, column {column!r} is empty; fill or drop that row"
        raise ValueError(msg)
    try:
        value = float(text)
    except ValueError:
        msg = f"{source}: row {row + 1}, column {column!r} holds {text!r}, which is not a number"
        raise ValueError(msg) from None
    if not math.isfinite(value):
        msg = (
            f"{source}: row {row + 1}, column {column!r} holds {text!r}; "
            "values must be finite numbers"
        )
        raise ValueError(msg)
    return value


def _target_column(cells: list[str], source: str, column: str) -> np.ndarray:
    """Numbers when every cell is one, else text labels."""
    values = [c.strip() for c in cells]
    for i, text in enumerate(values):
        if text == "":
            msg = f"{source}: row {i + 1}, column {column!r} (the target) is empty"
            raise ValueError(msg)
    try:
        numbers = np.array([float(v) for v in values])
    except ValueError:
        return np.array(values)
    bad = np.flatnonzero(~np.isfinite(numbers))
    if bad.size:
        i = int(bad[0])
        msg = f"{source}: row {i + 1}, column {column!r} (the target) holds {values[i]!r}"
        raise ValueError(msg)
    return numbers


def infer_task(data: Dataset, task: str = "auto") -> str:
    """Regression or classification: as asked, as the data set says, or from the target.

    A target is taken as class labels when it is text, or when every value is an
    integer and there are at most 20 distinct values.
    """
    if task != "auto":
        if task == "regression" and data.y is not None and data.y.dtype.kind not in "biuf":
            msg = f"task 'regression' needs a numeric target, but {data.target_name!r} holds text"
            raise ValueError(msg)
        return task
    if data.task is not None:
        return data.task
    y = data.y
    if y is None:
        return "regression"
    if y.dtype.kind not in "biuf":
        return "classification"
    if y.ndim == 1 and np.all(y == np.round(y)) and np.unique(y).size <= 20:
        return "classification"
    return "regression"


def split(n_samples: int, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded train/test row indices (the same on every backend)."""
    if not 0.0 <= test_fraction < 1.0:
        msg = f"--test-fraction must be in [0, 1), got {test_fraction}"
        raise ValueError(msg)
    n_test = round(n_samples * test_fraction)
    if n_samples - n_test < 1:
        msg = f"--test-fraction {test_fraction} leaves no training rows out of {n_samples}"
        raise ValueError(msg)
    return seeded_split(n_samples, n_test, [seed, 3])


def same_data(stored: Any, X: Any, found: dict[str, Any] | None = None) -> bool:
    """Whether ``X`` is the data that a fingerprint stored by ``mlp-xp train`` describes.

    ``stored`` is a :func:`fingerprint`, or the string that files written before
    it held: 16 hex digits of the sha256 of a float64 copy (a lazy array's token
    for lazy data).  None (no fingerprint stored) matches any data.  ``found`` is
    X's fingerprint when the caller has it already.
    """
    if stored is None:
        return True
    if found is None:
        found = fingerprint_array(X)
    if isinstance(stored, dict):
        return bool(stored.get("sha256") == found["sha256"])
    if stored == found["sha256"]:  # the token of lazy data, stored as is
        return True
    return not is_lazy(X) and stored == _float64_sha16(X)


def _float64_sha16(X: Any) -> str:
    """The fingerprint of files written before: a short hash of a float64 copy of X."""
    return hashlib.sha256(np.ascontiguousarray(X, dtype=np.float64).tobytes()).hexdigest()[:16]
