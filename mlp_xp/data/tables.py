"""Data sources for the command line: built-in data sets, CSV files and ``.npz`` files.

Every loader returns host NumPy arrays and reports bad input with the row and
column at fault.  Features must be numbers; a classification target may be text.
A CSV file may start with a UTF-8 byte-order mark, be separated by commas,
semicolons or tabs (``delimiter``), be in any ``encoding``, and come from
standard input (``source="-"``).  Features are read in the dtype asked for
(``dtype=``, float64 by default), a CSV file a block of rows at a time
(``data/csv_table.py``), so that a loaded table holds one copy of its numbers.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import sys
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any, NamedTuple

import numpy as np

from ..backend import FLOAT_DTYPES, is_lazy
from ..blocks import row_blocks
from ..validation import arg_setting
from .builtin import BMI_FEATURES, DATASETS, load_digits, make_bmi, make_xor
from .csv_header import DELIMITERS
from .csv_table import MissingColumnsError, Reading, lacks_columns, read_csv
from .fingerprint import fingerprint_array
from .splits import split

__all__ = [
    "DELIMITERS",
    "MAX_CLASSES",
    "STDIN",
    "TASKS",
    "Dataset",
    "MissingColumnsError",
    "check_features",
    "choose_task",
    "infer_task",
    "lacks_columns",
    "load_data",
    "partition",
    "same_data",
    "split",
]

TASKS: tuple[str, ...] = ("auto", "regression", "classification")
STDIN = "-"
"""The ``source`` that reads a CSV (or ``.npz``) file from standard input."""
MAX_CLASSES = 20
"""``task="auto"``: a target of integers with at most this many distinct values is classes."""
BLOCK_BYTES = 8 * 2**20
"""About how many bytes of rows are checked, moved or hashed at a time."""


class Dataset(NamedTuple):
    """Features, targets and names, on the host."""

    X: np.ndarray
    """shape (n_samples, n_features); float64, or the ``dtype`` a file was read in."""
    y: np.ndarray | None
    """shape (n_samples,) or (n_samples, n_outputs); numbers or labels; None if absent."""
    feature_names: list[str]
    target_name: str | None
    task: str | None
    """"regression" or "classification" for built-in data sets, else None (to infer)."""
    source: str
    named: bool = True
    """Whether the feature names come from the data (False for .npz files and CSV files
    read with ``no_header``, whose columns are named by position)."""
    kept: dict[str, list[str]] | None = None
    """Columns read as text, by name, that are carried along (``keep=``); None if none."""
    owned: bool = False
    """Whether X and y were made for this caller alone (read from a file), so that
    :func:`partition` may reorder them in place."""
    columns: list[str] | None = None
    """A CSV file's columns the features come from, in order; None for other data."""
    categories: dict[str, list[str]] | None = None
    """The one-hot encoded columns' categories, by column (``categorical=``); None if none."""


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
    dtype: str = "float64",
    no_header: bool = False,
    drop: Sequence[str] = (),
    categorical: Mapping[str | int, Sequence[str] | None] | None = None,
    choosing: bool = False,
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
    dtype : {"float64", "float32"}
        The dtype a file's features are held in: a CSV's numbers are parsed into
        it, an ``.npz`` file's X is cast to it (kept as it is when already so).
        Built-in data sets are float64 whatever it is.
    no_header : bool
        A CSV file has no header line: every line is data, the columns are named
        ``c0, c1, ...`` and the target is the last one unless named.
    drop : sequence of str
        CSV columns that are not features (with ``features`` None).
    categorical : mapping, optional
        CSV feature columns to one-hot encode, by name, or by position among the
        features (an int), each with the categories to encode (None: those found,
        sorted).  ``Dataset.feature_names`` names the encoded columns
        ``column=category``; ``Dataset.categories`` holds the categories.
    choosing : bool
        The features are being chosen (``mlp-xp train``): columns that look like
        dates or IDs are refused (see :mod:`mlp_xp.data.columns`).
    """
    if dtype not in FLOAT_DTYPES:
        msg = f"dtype must be one of {', '.join(FLOAT_DTYPES)}, got {dtype!r}"
        raise ValueError(msg)
    how = Reading(
        target,
        need_target,
        delimiter,
        encoding,
        features,
        tuple(keep),
        dtype,
        no_header,
        tuple(drop),
        categorical,
        choosing,
    )
    if source == STDIN:
        return _stdin(how)
    if source in DATASETS:
        _no_columns_to_keep(source, keep)
        _no_columns_to_choose(source, how)
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
        _no_columns_to_choose(source, how)
        with path.open("rb") as handle:
            return _npz(handle, str(path), need_target, dtype)
    with path.open(newline="", encoding=_text_encoding(encoding)) as handle:
        return _csv(handle, source, how, _line_count(path))


def _line_count(path: Path) -> int:
    """How many lines ``path`` has (its newline bytes, plus one): about its rows."""
    count = 1
    with path.open("rb") as raw:
        while chunk := raw.read(2**20):
            count += chunk.count(b"\n")
    return count


def _stdin(how: Reading) -> Dataset:
    """A CSV (or .npz) file read from standard input."""
    source = "<stdin>"
    stream = sys.stdin.buffer if sys.stdin is not None else None
    raw = b"" if stream is None else stream.read()
    if not raw:
        msg = "standard input (--data -) is empty; expected a header line and rows of numbers"
        raise ValueError(msg)
    if raw[:2] == b"PK":
        _no_columns_to_keep(source, how.keep)
        _no_columns_to_choose(source, how)
        return _npz(io.BytesIO(raw), source, how.need_target, how.dtype)
    # Decoded as it is read: no second copy of the text.
    encoding = _text_encoding(how.encoding)
    with io.TextIOWrapper(io.BytesIO(raw), encoding=encoding, newline="") as handle:
        return _csv(handle, source, how, raw.count(b"\n") + 1)


def _no_columns_to_keep(source: str, keep: Sequence[str]) -> None:
    if keep:
        msg = f"--keep {' '.join(keep)}: {source} has no named columns; --keep needs a CSV file"
        raise ValueError(msg)


def _no_columns_to_choose(source: str, how: Reading) -> None:
    """``drop``, ``categorical`` and ``no_header`` need a CSV file."""
    for flag, given in (
        ("--drop", how.drop),
        ("--categorical", how.categorical),
        ("--no-header", how.no_header),
    ):
        if given:
            msg = f"{flag} applies to CSV files only; {source} has no columns to choose by name"
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


def _npz(handle: IO[bytes], source: str, need_target: bool, dtype: str) -> Dataset:
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
    names = [f"x{j}" for j in range(X.shape[1])]
    _check_finite_features(X, source, [f"X[:, {j}]" for j in range(X.shape[1])])
    if y is not None and len(y) != len(X):
        msg = f"{source!r}: X has {len(X)} rows but y has {len(y)}"
        raise ValueError(msg)
    X = _in_dtype(X, dtype, source)
    return Dataset(X, y, names, "y", None, source, named=False, owned=True)


def check_features(X: Any, source: str) -> None:
    """X from a file must be a 2-D array of numbers (host or lazy, only its metadata is read)."""
    if X.ndim != 2:
        msg = f"X in {source!r} must be 2-D (n_samples, n_features), got shape {X.shape}"
        raise ValueError(msg)
    if X.dtype.kind not in "biuf":
        msg = f"X in {source!r} has dtype {X.dtype}; features must be numbers"
        raise TypeError(msg)


def _in_dtype(X: np.ndarray, dtype: str, source: str) -> np.ndarray:
    """X as ``dtype``: itself when it is so already, else cast (integers through float64)."""
    if X.dtype == np.dtype(dtype):
        return X
    stored = X.astype(np.float64) if X.dtype.kind != "f" else X
    with np.errstate(over="ignore"):
        cast = stored.astype(dtype, copy=False)
    first, _ = _not_finite(cast)
    if first is not None:
        row, col = first
        msg = (
            f"{source}: row {row + 1}, column 'X[:, {col}]' holds {stored[row, col]}, "
            f"beyond the range of {dtype}; pass --dtype float64"
        )
        raise ValueError(msg)
    return cast


def _not_finite(X: np.ndarray) -> tuple[tuple[int, int] | None, int]:
    """The first cell of X that is not finite (row, column; None if none), and how many are not.

    Checked a block of rows at a time, so that no mask the size of X is made.
    """
    first, count = None, 0
    for start, stop in row_blocks(len(X), X.itemsize * X.shape[1], BLOCK_BYTES):
        bad = np.argwhere(~np.isfinite(X[start:stop]))
        if bad.size:
            count += len(bad)
            if first is None:
                first = (start + int(bad[0][0]), int(bad[0][1]))
    return first, count


def _check_finite_features(X: np.ndarray, source: str, names: list[str]) -> None:
    first, count = _not_finite(X)
    if first is not None:
        row, col = first
        msg = (
            f"{source}: row {row + 1}, column {names[col]!r} holds {X[row, col]}; "
            f"features must be finite numbers ({count} such cells in all)"
        )
        raise ValueError(msg)


def _csv(handle: IO[str], source: str, how: Reading, rows_hint: int) -> Dataset:
    X, y, names, target_name, kept, columns, categories = read_csv(handle, source, how, rows_hint)
    return Dataset(
        X,
        y,
        names,
        target_name,
        None,
        source,
        named=not how.no_header,
        kept=kept,
        owned=True,
        columns=columns,
        categories=categories or None,
    )


def choose_task(data: Dataset, task: str = "auto") -> tuple[str, str]:
    """Regression or classification, and why: as asked, as the data set says, or from the target.

    With ``task="auto"`` a target is taken as class labels when it is text, or
    when every value is an integer and there are at most :data:`MAX_CLASSES`
    distinct values; otherwise it is a regression target.  The reason is empty
    when ``task`` was given.
    """
    if task != "auto":
        _check_task(data, task)
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


def _check_task(data: Dataset, task: str) -> None:
    """A task that was asked for must suit the target: numbers to regress, labels to classify."""
    y = data.y
    if y is None:
        return
    column = repr(data.target_name) if data.target_name else "the target"
    if task == "regression" and y.dtype.kind not in "biuf":
        msg = f"{arg_setting('task', task)} needs a numeric target, but {column} holds text"
        raise ValueError(msg)
    if task == "classification" and y.dtype.kind == "f":
        bad = y[~(np.isfinite(y) & (y == np.round(y)))]
        if bad.size:
            msg = (
                f"{arg_setting('task', task)} needs class labels, but {column} holds "
                f"non-integer numbers such as {bad.flat[0]:g}; use "
                f"{arg_setting('task', 'regression')} for a continuous target"
            )
            raise ValueError(msg)


def infer_task(data: Dataset, task: str = "auto") -> str:
    """Regression or classification: as asked, as the data set says, or from the target.

    A target is taken as class labels when it is text, or when every value is an
    integer and there are at most 20 distinct values (see :func:`choose_task`).
    """
    return choose_task(data, task)[0]


def partition(
    data: Dataset, train_rows: np.ndarray, test_rows: np.ndarray
) -> tuple[Any, Any, Any, Any]:
    """``X[train_rows], y[train_rows], X[test_rows], y[test_rows]`` of ``data``.

    When ``data.owned`` (read from a file for this caller), X and y are reordered
    in place instead, the training rows first, in order, then the test rows, and
    the four are views of them: only the test rows are copied, and only for a
    moment.  Otherwise (built-in or lazy data) they are new arrays.  The rows are
    those of :func:`split`: sorted, and together each row once.
    """
    X, y = data.X, data.y
    in_place = (
        data.owned
        and isinstance(X, np.ndarray)
        and isinstance(y, np.ndarray)
        and X.flags.writeable
        and y.flags.writeable
        and len(train_rows) + len(test_rows) == len(X)
        and bool(np.all(np.diff(train_rows) > 0))
    )
    if not in_place:
        return X[train_rows], _rows(y, train_rows), X[test_rows], _rows(y, test_rows)
    assert isinstance(y, np.ndarray)
    X_train, X_test = _partition_rows(X, train_rows, test_rows)
    y_train, y_test = _partition_rows(y, train_rows, test_rows)
    return X_train, y_train, X_test, y_test


def _rows(a: np.ndarray | None, rows: np.ndarray) -> np.ndarray | None:
    return None if a is None else a[rows]


def _partition_rows(
    a: np.ndarray, train_rows: np.ndarray, test_rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Move ``a[train_rows]`` to the front of ``a`` and ``a[test_rows]`` after it, in place."""
    held = a[test_rows]
    n = len(train_rows)
    for start, stop in row_blocks(n, a[:1].nbytes, BLOCK_BYTES):
        block = train_rows[start:stop]
        # The rows are sorted, so block[0] >= start: every row read here is still where
        # it was, and a block is gathered whole before it is written.
        a[start : start + len(block)] = a[block]
    a[n:] = held
    return a[:n], a[n:]


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
    """The fingerprint of files written before: a short hash of X as float64, in C order.

    Hashed a block of rows at a time, so that no float64 copy of all of X is made.
    """
    X = np.asarray(X)
    if X.ndim == 0:
        return hashlib.sha256(X.astype(np.float64).tobytes()).hexdigest()[:16]
    digest = hashlib.sha256()
    for start, stop in row_blocks(len(X), 8 * max(1, X[:1].size), BLOCK_BYTES):
        digest.update(np.ascontiguousarray(X[start:stop], dtype=np.float64).tobytes())
    return digest.hexdigest()[:16]
