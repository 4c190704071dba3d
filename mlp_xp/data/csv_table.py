"""A CSV table read into float arrays a block of rows at a time (data layer).

Only one block of rows is ever held as text: each is parsed into the feature
array (allocated once, in the dtype asked for) and the target column before the
next is read, so a table of a million rows needs little more than its numbers.
A target that turns out to hold text labels is read again, as text, in a second
pass over the file.  Bad input is reported with the row and column at fault.

A file without a header line is read with ``no_header``, its columns named
``c0, c1, ...``; a header line of numbers alone is refused, naming that option.
Text columns asked for as ``categorical`` are held as codes into their
categories and one-hot encoded at the end, and while ``mlp-xp train`` chooses
its columns (``choosing``) dates and IDs are refused (``data/columns.py``).
"""

from __future__ import annotations

import csv
import itertools
import math
from collections.abc import Iterator, Mapping, Sequence
from typing import IO, NamedTuple

import numpy as np

from .columns import Codes, Counting, Survey, one_hot, one_hot_names
from .csv_header import check_header, not_a_header

BLOCK_ROWS = 4096
"""Rows held as text at a time."""


class Reading(NamedTuple):
    """What ``load_data`` was asked to read, handed to the CSV reader."""

    target: str | None
    need_target: bool
    delimiter: str
    encoding: str | None
    features: Sequence[str] | None
    keep: tuple[str, ...]
    dtype: str = "float64"
    no_header: bool = False
    """The file has no header line: its columns are named c0, c1, ..."""
    drop: tuple[str, ...] = ()
    """Columns left out of the features (with ``features`` None)."""
    categorical: Mapping[str | int, Sequence[str] | None] | None = None
    """Feature columns to one-hot encode, by name or by position among the features, each
    with the categories a model knows (None: those found, sorted)."""
    choosing: bool = False
    """``mlp-xp train`` chooses the features: dates and IDs are refused, and refusals name
    --drop, --categorical and --features."""


class Table(NamedTuple):
    """A CSV table's columns: features as numbers, the target, the columns kept as text."""

    X: np.ndarray
    y: np.ndarray | None
    names: list[str]
    """The names of X's columns: a one-hot column is named ``column=category``."""
    target_name: str | None
    kept: dict[str, list[str]] | None
    columns: list[str]
    """The file's columns the features come from, in order."""
    categories: dict[str, list[str]]
    """The one-hot encoded columns' categories, by column, each sorted as trained."""


class MissingColumnsError(ValueError):
    """A table lacks feature columns a model was trained on (see :func:`lacks_columns`)."""


def undecodable(source: str, exc: UnicodeDecodeError, encoding: str | None) -> str:
    """Why a file's bytes are not text in the encoding asked for, and what to pass."""
    named = encoding or "UTF-8"
    return (
        f"{source} is not {named} text (it holds the byte 0x{exc.object[exc.start]:02x}, "
        f"which is not {named}); pass its encoding, e.g. --encoding latin-1 or cp1252"
    )


def lacks_columns(source: str, missing: list[str], have: list[str]) -> str:
    """The message for a table without some of the feature columns a model was trained on."""
    shown = str(missing[:8]) + (f" and {len(missing) - 8} more" if len(missing) > 8 else "")
    return (
        f"{source} lacks the feature column(s) {shown} the model was trained "
        f"on (it has: {', '.join(have[:8])}{' ...' if len(have) > 8 else ''})"
    )


class _Rows:
    """The non-blank rows of a CSV file after its header, each as long as the header."""

    def __init__(self, handle: IO[str], source: str, how: Reading) -> None:
        self.handle, self.source, self.how = handle, source, how
        self.reader = csv.reader(handle, delimiter=how.delimiter)
        first = self.first = self._next_or_empty()
        self.pending = [first] if how.no_header else []
        """The first line, when it is a row of data."""
        self.header = (
            [f"c{j}" for j in range(len(first))] if how.no_header else [h.strip() for h in first]
        )
        self.count = 0
        """The rows handed out so far."""

    def _next_or_empty(self) -> list[str]:
        with self._readable():
            try:
                return next(self.reader)
            except StopIteration:
                msg = (
                    f"data file {self.source!r} is empty; "
                    "expected a header line and rows of numbers"
                )
                raise ValueError(msg) from None

    def _readable(self) -> _ReadErrors:
        return _ReadErrors(self.source, self.how.encoding)

    def __iter__(self) -> Iterator[list[str]]:
        width = len(self.header)
        with self._readable():
            for row in itertools.chain(self.pending, self.reader):
                if not any(cell.strip() for cell in row):
                    continue  # a blank line
                self.count += 1
                if len(row) != width:
                    msg = (
                        f"{self.source}: row {self.count} has {len(row)} fields but the header "
                        f"has {width}; every row needs one value per column"
                    )
                    raise ValueError(msg)
                yield row


class _ReadErrors:
    """Turns the reader's decoding and CSV errors into one line naming the file."""

    def __init__(self, source: str, encoding: str | None) -> None:
        self.source, self.encoding = source, encoding

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type | None, exc: BaseException | None, tb: object) -> None:
        if isinstance(exc, UnicodeDecodeError):
            raise ValueError(undecodable(self.source, exc, self.encoding)) from None
        if isinstance(exc, csv.Error):
            msg = f"{self.source!r} is not a readable CSV file ({exc})"
            raise ValueError(msg) from None


def _columns(header: list[str], source: str, how: Reading) -> tuple[int | None, list[int]]:
    """The target's column (None if none) and the feature columns, checked against the header."""
    target, need_target = how.target, how.need_target
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
    for name in how.keep:
        if name not in header:
            msg = (
                f"--keep {name}: {source} has no such column; its columns are: {', '.join(header)}"
            )
            raise ValueError(msg)
    for name in how.drop:
        if name not in header:
            msg = (
                f"--drop {name}: {source} has no such column; its columns are: {', '.join(header)}"
            )
            raise ValueError(msg)
        if target_col is not None and name == header[target_col]:
            msg = f"--drop {name}: it is the target column; choose the target with --target"
            raise ValueError(msg)
    if how.features is None:
        dropped = set(how.drop)
        features = [j for j in range(len(header)) if j != target_col and header[j] not in dropped]
        if not features:
            msg = f"{source}: --drop {' '.join(how.drop)} leaves no feature columns"
            raise ValueError(msg)
        return target_col, features
    missing = [n for n in how.features if n not in header]
    if missing:
        raise MissingColumnsError(lacks_columns(source, missing, header))
    twice = sorted({n for n in how.features if list(how.features).count(n) > 1})
    if twice:
        msg = f"--features names {', '.join(map(repr, twice))} more than once; name each once"
        raise ValueError(msg)
    if target_col is not None and header[target_col] in how.features:
        msg = (
            f"--features {header[target_col]}: it is the target column; a feature cannot be "
            "the target"
        )
        raise ValueError(msg)
    return target_col, [header.index(n) for n in how.features]


def _categorical(
    header: list[str], feature_cols: list[int], source: str, how: Reading
) -> dict[int, Sequence[str] | None]:
    """The feature columns to one-hot encode, by column in the file, with known categories."""
    found: dict[int, Sequence[str] | None] = {}
    for key, known in (how.categorical or {}).items():
        if isinstance(key, int):
            if not 0 <= key < len(feature_cols):
                msg = (
                    f"{source} has {len(feature_cols)} feature columns, but the model one-hot "
                    f"encodes its column {key + 1}"
                )
                raise ValueError(msg)
            found[feature_cols[key]] = known
            continue
        if key not in header:
            msg = (
                f"--categorical {key}: {source} has no such column; its columns are: "
                f"{', '.join(header)}"
            )
            raise ValueError(msg)
        if header.index(key) not in feature_cols:
            msg = (
                f"--categorical {key}: it is not a feature column (it is the target, dropped, "
                "or not among --features)"
            )
            raise ValueError(msg)
        found[header.index(key)] = known
    return found


def read_csv(handle: IO[str], source: str, how: Reading, rows_hint: int) -> Table:
    """The table in ``handle`` (seekable), its features in ``how.dtype``.

    ``rows_hint`` is about how many rows there are (the file's line count): the
    feature array is allocated for that many at once, and grows if there are more.
    """
    rows = _Rows(handle, source, how)
    header = rows.header
    check_header(rows.header, rows.first, how.no_header, source, how.delimiter)
    body = iter(rows)
    first = next(body, None)
    if first is None:
        msg = f"data file {source!r} has a header but no rows of data"
        raise ValueError(msg)
    target_col, feature_cols = _columns(header, source, how)
    coded = _categorical(header, feature_cols, source, how)
    if how.no_header:
        not_a_header(rows.first, [j for j in feature_cols if j not in coded], source)
    parser = _Parser(source, header, (feature_cols, coded), target_col, how, max(1, rows_hint))
    block = [first]
    for row in body:
        block.append(row)
        if len(block) == BLOCK_ROWS:
            parser.add(block)
            block = []
    if block:
        parser.add(block)
    X, y = parser.finish()
    if target_col is not None and y is None:
        y = _labels(handle, source, how, target_col)
    kept = {n: parser.kept[header.index(n)] for n in how.keep} if how.keep else None
    columns = [header[j] for j in feature_cols]
    names = one_hot_names(columns, parser.categories)
    target_name = None if target_col is None else header[target_col]
    return Table(X, y, names, target_name, kept, columns, parser.categories)


class _Parser:
    """Parses blocks of rows into the feature array and the target column, in order."""

    def __init__(
        self,
        source: str,
        header: list[str],
        features: tuple[list[int], dict[int, Sequence[str] | None]],
        target_col: int | None,
        how: Reading,
        capacity: int,
    ) -> None:
        self.source, self.header = source, header
        self.feature_cols, coded = features
        self.target_col = target_col
        self.numeric_cols = [j for j in self.feature_cols if j not in coded]
        """The feature columns parsed as numbers, in order; the others are text, coded."""
        self.codes = {j: Codes(header[j], known, capacity) for j, known in coded.items()}
        self.categories: dict[str, list[str]] = {}
        """The coded columns' categories, by name, once finished."""
        explicit = how.features is not None
        self.survey = Survey(source, explicit) if how.choosing else None
        self.counting = Counting(len(self.numeric_cols)) if how.choosing and not explicit else None
        self.X = np.empty((capacity, len(self.numeric_cols)), dtype=how.dtype)
        self.y: np.ndarray | None = None if target_col is None else np.empty(capacity)
        self.labels = False
        """Whether the target holds a cell that is not a number (it is then read as text)."""
        self.not_finite: tuple[int, str] | None = None
        """The first row whose numeric target is not finite, and its text."""
        self.kept: dict[int, list[str]] = {header.index(n): [] for n in how.keep}
        self.n = 0

    def add(self, block: list[list[str]]) -> None:
        """Parse one block of rows, the next in the file."""
        start, stop = self.n, self.n + len(block)
        if stop > len(self.X):
            grown = max(stop, len(self.X) + len(self.X) // 2)
            self.X.resize((grown, self.X.shape[1]), refcheck=False)
            if self.y is not None:
                self.y.resize(grown, refcheck=False)
            for codes in self.codes.values():
                codes.reserve(grown)
        if self.survey is not None and start == 0:
            self._survey(block)
        self._features(block, start)
        for j, codes in self.codes.items():
            codes.add([row[j] for row in block], start, self.source)
        if self.target_col is not None:
            self._target(block, start)
        for j, cells in self.kept.items():
            cells.extend(row[j].strip() for row in block)
        self.n = stop

    def _survey(self, block: list[list[str]]) -> None:
        """Refuse text, dates and IDs among the numeric features of the first block."""
        assert self.survey is not None
        self.survey.look(block, self.header, self.numeric_cols)
        found = self.survey.message()
        if found is not None:
            raise ValueError(found)

    def _features(self, block: list[list[str]], start: int) -> None:
        cols = self.numeric_cols
        flat = [row[j] for row in block for j in cols]
        try:
            values = np.fromiter(map(float, flat), dtype=np.float64, count=len(flat))
        except ValueError:
            # Cell by cell, so that the first bad cell is named (the error is raised there).
            values = np.array(
                [
                    _number(row[j], self.source, start + i, self.header[j])
                    for i, row in enumerate(block)
                    for j in cols
                ]
            )
        values = values.reshape(len(block), len(cols))
        bad = np.argwhere(~np.isfinite(values))
        if bad.size:
            i, k = (int(v) for v in bad[0])
            _number(block[i][cols[k]], self.source, start + i, self.header[cols[k]])
        if self.counting is not None:
            self.counting.add(values)
        out = self.X[start : start + len(block)]
        with np.errstate(over="ignore"):
            out[...] = values
        bad = np.argwhere(~np.isfinite(out))
        if bad.size:
            i, k = (int(v) for v in bad[0])
            msg = (
                f"{self.source}: row {start + i + 1}, column {self.header[cols[k]]!r} holds "
                f"{block[i][cols[k]].strip()!r}, beyond the range of {self.X.dtype}; "
                "pass --dtype float64"
            )
            raise ValueError(msg)

    def _target(self, block: list[list[str]], start: int) -> None:
        j = self.target_col
        assert j is not None
        cells = [row[j].strip() for row in block]
        for i, text in enumerate(cells):
            if text == "":
                column = self.header[j]
                msg = (
                    f"{self.source}: row {start + i + 1}, column {column!r} (the target) is empty"
                )
                raise ValueError(msg)
        if self.labels:
            return
        try:
            numbers = np.fromiter(map(float, cells), dtype=np.float64, count=len(cells))
        except ValueError:
            self.labels = True  # read again as text once the features are read
            return
        assert self.y is not None
        self.y[start : start + len(block)] = numbers
        bad = np.flatnonzero(~np.isfinite(numbers))
        if bad.size and self.not_finite is None:
            self.not_finite = (start + int(bad[0]), cells[int(bad[0])])

    def finish(self) -> tuple[np.ndarray, np.ndarray | None]:
        """The features, and the numeric target (None when it holds text labels)."""
        self.X.resize((self.n, self.X.shape[1]), refcheck=False)
        if self.counting is not None:
            found = self.counting.message(self.source, [self.header[j] for j in self.numeric_cols])
            if found is not None:
                raise ValueError(found)
        if self.codes:
            coded = {self.header[j]: c.finish(self.n) for j, c in self.codes.items()}
            self.categories = {
                self.header[j]: coded[self.header[j]][0]
                for j in self.feature_cols
                if j in self.codes
            }
            self.X = one_hot(self.X, [self.header[j] for j in self.feature_cols], coded)
        if self.y is None or self.labels:
            return self.X, None
        if self.not_finite is not None:
            row, text = self.not_finite
            assert self.target_col is not None
            column = self.header[self.target_col]
            msg = f"{self.source}: row {row + 1}, column {column!r} (the target) holds {text!r}"
            raise ValueError(msg)
        self.y.resize(self.n, refcheck=False)
        return self.X, self.y


def _labels(handle: IO[str], source: str, how: Reading, target_col: int) -> np.ndarray:
    """The target column read again from the start, as text labels."""
    handle.seek(0)
    rows = _Rows(handle, source, how)
    return np.array([row[target_col].strip() for row in rows])


def _number(cell: str, source: str, row: int, column: str) -> float:
    """The number in one feature cell, or the error that names its row and column."""
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
