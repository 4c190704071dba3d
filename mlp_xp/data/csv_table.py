"""A CSV table read into float arrays a block of rows at a time (data layer).

Only one block of rows is ever held as text: each is parsed into the feature
array (allocated once, in the dtype asked for) and the target column before the
next is read, so a table of a million rows needs little more than its numbers.
A target that turns out to hold text labels is read again, as text, in a second
pass over the file.  Bad input is reported with the row and column at fault.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator, Sequence
from typing import IO, NamedTuple

import numpy as np

DELIMITERS: dict[str, str] = {",": ",", ";": ";", "tab": "\t"}
"""The delimiters a CSV file may use, by the name the command line takes."""
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


class Table(NamedTuple):
    """A CSV table's columns: features as numbers, the target, the columns kept as text."""

    X: np.ndarray
    y: np.ndarray | None
    names: list[str]
    target_name: str | None
    kept: dict[str, list[str]] | None


def undecodable(source: str, exc: UnicodeDecodeError, encoding: str | None) -> str:
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


class _Rows:
    """The non-blank rows of a CSV file after its header, each as long as the header."""

    def __init__(self, handle: IO[str], source: str, how: Reading) -> None:
        self.handle, self.source, self.how = handle, source, how
        self.reader = csv.reader(handle, delimiter=how.delimiter)
        self.header = [h.strip() for h in self._next_or_empty()]
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
            for row in self.reader:
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


def _check_header(header: list[str], source: str, delimiter: str) -> None:
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
    if how.features is None:
        return target_col, [j for j in range(len(header)) if j != target_col]
    missing = [n for n in how.features if n not in header]
    if missing:
        raise ValueError(lacks_columns(source, missing, header))
    return target_col, [header.index(n) for n in how.features]


def read_csv(handle: IO[str], source: str, how: Reading, rows_hint: int) -> Table:
    """The table in ``handle`` (seekable), its features in ``how.dtype``.

    ``rows_hint`` is about how many rows there are (the file's line count): the
    feature array is allocated for that many at once, and grows if there are more.
    """
    rows = _Rows(handle, source, how)
    header = rows.header
    _check_header(header, source, how.delimiter)
    body = iter(rows)
    first = next(body, None)
    if first is None:
        msg = f"data file {source!r} has a header but no rows of data"
        raise ValueError(msg)
    target_col, feature_cols = _columns(header, source, how)
    parser = _Parser(source, header, feature_cols, target_col, how, max(1, rows_hint))
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
    names = [header[j] for j in feature_cols]
    target_name = None if target_col is None else header[target_col]
    return Table(X, y, names, target_name, kept)


class _Parser:
    """Parses blocks of rows into the feature array and the target column, in order."""

    def __init__(
        self,
        source: str,
        header: list[str],
        feature_cols: list[int],
        target_col: int | None,
        how: Reading,
        capacity: int,
    ) -> None:
        self.source, self.header = source, header
        self.feature_cols, self.target_col = feature_cols, target_col
        self.X = np.empty((capacity, len(feature_cols)), dtype=how.dtype)
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
        self._features(block, start)
        if self.target_col is not None:
            self._target(block, start)
        for j, cells in self.kept.items():
            cells.extend(row[j].strip() for row in block)
        self.n = stop

    def _features(self, block: list[list[str]], start: int) -> None:
        cols = self.feature_cols
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
