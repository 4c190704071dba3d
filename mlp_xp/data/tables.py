"""Data sources for the command line: built-in data sets, CSV files and ``.npz`` files.

Every loader returns host NumPy arrays and reports bad input with the row and
column at fault.  Features must be numbers; a classification target may be text.
A CSV file may start with a UTF-8 byte-order mark, be separated by commas,
semicolons or tabs (``delimiter``), be in any ``encoding``, and come from
standard input (``source="-"``).
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import math
import sys
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any, NamedTuple

import numpy as np

from ..backend import is_lazy
from ..seeds import seeded_split
from .builtin import BMI_FEATURES, DATASETS, load_digits, make_bmi, make_xor
from .fingerprint import fingerprint_array

TASKS: tuple[str, ...] = ("auto", "regression", "classification")
STDIN = "-"
"""The ``source`` that reads a CSV (or ``.npz``) file from standard input."""
DELIMITERS: dict[str, str] = {",": ",", ";": ";", "tab": "\t"}
"""The delimiters a CSV file may use, by the name the command line takes."""
MAX_CLASSES = 20
"""``task="auto"``: a target of integers with at most this many distinct values is classes."""


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
    kept: dict[str, list[str]] | None = None
    """Columns read as text, by name, that are carried along (``keep=``); None if none."""


def _text_encoding(encoding: str | None) -> str:
    """The codec to read with: UTF-8 drops a leading byte-order mark; others as named."""
    if encoding is None:
        return "utf-8-sig"
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        msg = f"unknown encoding {encoding!r}; try utf-8, latin-1 or cp1252"
        raise ValueError(msg) from None
    return "utf-8-sig" if name == "utf-8" else encoding


def load_data(
    source: str,
    *,
    target: str | None = None,
    need_target: bool = True,
    delimiter: str = ",",
    encoding: str | None = None,
    features: Sequence[str] | None = None,
    keep: Sequence[str] = (),
) -> Dataset:
    """Load a built-in data set by name, a ``.npz`` file, or a CSV file with a header.

    Parameters
    ----------
    source : str
        ``"bmi"``, ``"xor"``, ``"digits"``, a path, or ``"-"`` for standard input.
    target : str, optional
        The CSV column to predict; default the last column.  With
        ``need_target=False`` a CSV may lack it, and only feature columns are read.
    delimiter, encoding : str
        How a CSV file is written: ``","``, ``";"`` or ``"\\t"``, and its text
        encoding (default UTF-8, with or without a byte-order mark).
    features : sequence of str, optional
        The CSV columns to read as features, in this order (a model's
        ``feature_names_in_``); default every column but the target.
    keep : sequence of str
        CSV columns to carry along as text in ``Dataset.kept`` (ids, for example).
    """
    how = _Reading(target, need_target, delimiter, encoding, features, tuple(keep))
    if source == STDIN:
        return _stdin(how)
    if source in DATASETS:
        _no_columns_to_keep(source, keep)
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
        _no_columns_to_keep(source, keep)
        with path.open("rb") as handle:
            return _npz(handle, str(path), need_target)
    with path.open(newline="", encoding=_text_encoding(encoding)) as handle:
        return _csv(handle, source, how)


class _Reading(NamedTuple):
    """What :func:`load_data` was asked to read, handed to the CSV reader."""

    target: str | None
    need_target: bool
    delimiter: str
    encoding: str | None
    features: Sequence[str] | None
    keep: tuple[str, ...]


def _stdin(how: _Reading) -> Dataset:
    """A CSV (or .npz) file read from standard input."""
    source = "<stdin>"
    stream = sys.stdin.buffer if sys.stdin is not None else None
    raw = b"" if stream is None else stream.read()
    if not raw:
        msg = "standard input (--data -) is empty; expected a header line and rows of numbers"
        raise ValueError(msg)
    if raw[:2] == b"PK":
        _no_columns_to_keep(source, how.keep)
        return _npz(io.BytesIO(raw), source, how.need_target)
    try:
        text = raw.decode(_text_encoding(how.encoding))
    except UnicodeDecodeError as exc:
        raise ValueError(_undecodable(source, exc, how.encoding)) from None
    with io.StringIO(text, newline="") as handle:
        return _csv(handle, source, how)


def _no_columns_to_keep(source: str, keep: Sequence[str]) -> None:
    if keep:
        msg = f"--keep {' '.join(keep)}: {source} has no named columns; --keep needs a CSV file"
        raise ValueError(msg)


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


def _npz(handle: IO[bytes], source: str, need_target: bool) -> Dataset:
    try:
        # The caller opens the file: np.load leaks its handle when the zip is damaged.
        with np.load(handle, allow_pickle=False) as archive:
            files = list(archive.files)
            if "X" not in files:
                msg = f"{source!r} has no array named 'X' (it holds: {', '.join(files)})"
                raise ValueError(msg)
            X = np.asarray(archive["X"])
            y = np.asarray(archive["y"]) if "y" in files else None
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        msg = f"{source!r} is not a readable .npz file ({exc})"
        raise ValueError(msg) from None
    if need_target and y is None:
        msg = f"{source!r} has no array named 'y' with the targets"
        raise ValueError(msg)
    check_features(X, source)
    X = X.astype(np.float64)
    _check_finite_features(X, source, [f"X[:, {j}]" for j in range(X.shape[1])])
    if y is not None and len(y) != len(X):
        msg = f"{source!r}: X has {len(X)} rows but y has {len(y)}"
        raise ValueError(msg)
    names = [f"x{j}" for j in range(X.shape[1])]
    return Dataset(X, y, names, "y", None, source, named=False)


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


def _undecodable(source: str, exc: UnicodeDecodeError, encoding: str | None) -> str:
    """Why a file's bytes are not text in the encoding asked for, and what to pass."""
    named = encoding or "UTF-8"
    return (
        f"{source} is not {named} text (it holds the byte 0x{exc.object[exc.start]:02x}, "
        f"which is not {named}); pass its encoding, e.g. --encoding latin-1 or cp1252"
    )


def _delimiter_hint(text: str, delimiter: str) -> str:
    """A hint when ``text`` splits into more fields at another delimiter than at ``delimiter``."""
    for name, other in DELIMITERS.items():
        if other != delimiter and other in text:
            fields = next(csv.reader([text], delimiter=other))
            if len(fields) > 1:
                shown = name if name == "tab" else f"'{name}'"
                sep = "tab" if name == "tab" else "semicolon" if name == ";" else "comma"
                return f"; it looks {sep}-separated: pass --delimiter {shown}"
    return ""


def lacks_columns(source: str, missing: list[str], have: list[str]) -> str:
    """The message for a table without some of the feature columns a model was trained on."""
    shown = str(missing[:8]) + (f" and {len(missing) - 8} more" if len(missing) > 8 else "")
    return (
        f"{source} lacks the feature column(s) {shown} the model was trained "
        f"on (it has: {', '.join(have[:8])}{' ...' if len(have) > 8 else ''})"
    )


def _read_table(
    handle: IO[str], source: str, delimiter: str, encoding: str | None
) -> tuple[list[str], list[list[str]]]:
    """The header and the non-blank rows of a CSV file, each row as long as the header."""
    reader = csv.reader(handle, delimiter=delimiter)
    try:
        header = next(reader)
        rows = list(reader)
    except StopIteration:
        msg = f"data file {source!r} is empty; expected a header line and rows of numbers"
        raise ValueError(msg) from None
    except UnicodeDecodeError as exc:
        raise ValueError(_undecodable(source, exc, encoding)) from None
    except csv.Error as exc:
        msg = f"{source!r} is not a readable CSV file ({exc})"
        raise ValueError(msg) from None
    header = [h.strip() for h in header]
    if len(header) == 1:
        hint = _delimiter_hint(header[0], delimiter)
        if hint:
            msg = f"{source}: the header line is one column, {header[0]!r}{hint}"
            raise ValueError(msg)
    if any(h == "" for h in header):
        msg = f"{source}: the header line has an empty column name: {header}"
        raise ValueError(msg)
    twice = sorted({h for h in header if header.count(h) > 1})
    if twice:
        msg = (
            f"{source}: the header names the column(s) {', '.join(map(repr, twice))} more "
            "than once; give every column its own name"
        )
        raise ValueError(msg)
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
    return header, rows


def _csv(handle: IO[str], source: str, how: _Reading) -> Dataset:
    header, rows = _read_table(handle, source, how.delimiter, how.encoding)
    target, need_target, features, keep = how.target, how.need_target, how.features, how.keep
    if target is None:
        target_col = len(header) - 1 if need_target else None
    elif target in header:
        target_col = header.index(target)
    elif need_target:
        columns = ", ".join(header)
        msg = f"target column {target!r} is not in {source}; its columns are: {columns}"
        raise ValueError(msg)
    else:
        target_col = None
    if need_target and len(header) < 2:
        msg = f"{source} has only the column {header[0]!r}; it needs features and a target"
        raise ValueError(msg)
    for name in keep:
        if name not in header:
            msg = (
                f"--keep {name}: {source} has no such column; its columns are: {', '.join(header)}"
            )
            raise ValueError(msg)
    if features is None:
        feature_cols = [j for j in range(len(header)) if j != target_col]
    else:
        missing = [n for n in features if n not in header]
        if missing:
            raise ValueError(lacks_columns(source, missing, header))
        feature_cols = [header.index(n) for n in features]
    X = np.empty((len(rows), len(feature_cols)))
    for i, row in enumerate(rows):
        for k, j in enumerate(feature_cols):
            X[i, k] = _number(row[j], source, i, header[j])
    names = [header[j] for j in feature_cols]
    y = None
    if target_col is not None:
        y = _target_column([row[target_col] for row in rows], source, header[target_col])
    kept = {n: [row[header.index(n)].strip() for row in rows] for n in keep} if keep else None
    target_name = None if target_col is None else header[target_col]
    return Dataset(X, y, names, target_name, None, source, kept=kept)


def _number(cell: str, source: str, row: int, column: str) -> float:
    text = cell.strip()
    if text == "":
        msg = f"{source}: row {row + 1}, column {column!r} is empty; fill or drop that row"
        raise ValueError(msg)
    try:
        value = float(text)
    except ValueError:
        hint = ""
        if "," in text:
            try:
                float(text.replace(",", "."))
            except ValueError:
                pass
            else:
                hint = f" (decimal commas are not read: write {text.replace(',', '.')})"
        msg = (
            f"{source}: row {row + 1}, column {column!r} holds {text!r}, "
            f"which is not a number{hint}"
        )
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


def choose_task(data: Dataset, task: str = "auto") -> tuple[str, str]:
    """Regression or classification, and why: as asked, as the data set says, or from the target.

    With ``task="auto"`` a target is taken as class labels when it is text, or
    when every value is an integer and there are at most :data:`MAX_CLASSES`
    distinct values; otherwise it is a regression target.  The reason is empty
    when ``task`` was given.
    """
    if task != "auto":
        if task == "regression" and data.y is not None and data.y.dtype.kind not in "biuf":
            msg = f"task 'regression' needs a numeric target, but {data.target_name!r} holds text"
            raise ValueError(msg)
        return task, ""
    if data.task is not None:
        return data.task, f"{data.source} is a {data.task} data set"
    y = data.y
    column = f"the target {data.target_name!r}" if data.target_name else "the target"
    if y is None:
        return "regression", "no target"
    if y.dtype.kind not in "biuf":
        return "classification", f"inferred: {column} holds text labels"
    if y.ndim != 1:
        return "regression", f"inferred: {column} has {y.shape[1]} columns"
    if not np.all(y == np.round(y)):
        return "regression", f"inferred: {column} holds non-integer numbers"
    count = int(np.unique(y).size)
    if count <= MAX_CLASSES:
        why = (
            f"inferred: {column} holds {count} distinct integers (at most {MAX_CLASSES} are "
            "taken as classes; --task regression fits them as numbers)"
        )
        return "classification", why
    return (
        "regression",
        f"inferred: {column} holds {count} distinct integers, more than {MAX_CLASSES}",
    )


def infer_task(data: Dataset, task: str = "auto") -> str:
    """Regression or classification: as asked, as the data set says, or from the target.

    A target is taken as class labels when it is text, or when every value is an
    integer and there are at most 20 distinct values (see :func:`choose_task`).
    """
    return choose_task(data, task)[0]


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
