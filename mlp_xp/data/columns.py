"""Which CSV columns are features: text one-hot encoded, dates and IDs refused (data layer).

A feature must be a number.  A column of text becomes features only when asked
(``--categorical``): one-hot encoded, one 0/1 column per category, the
categories sorted and recorded in the model, so that later data is encoded the
same way and a category never seen in training is refused, by row and value.

Dates and IDs are never guessed to be features.  While ``mlp-xp train`` chooses
its columns (every column but the target, or those left by ``--drop``), a
column that looks like one is refused with a hint to ``--drop`` it:

* a date: a cell such as ``2024-01-31``, ``2024/01/31``, ``31.01.2024`` or
  ``01/31/24``, with or without a time (:data:`DATE`); a date written as a
  plain number, such as ``20240131``, is a number like any other;
* an ID by its name: ``id`` in any case, or a name ending in ``_id``, ``-id``,
  `` id`` (any case) or ``Id`` after a lower-case letter (``customerId``);
* an ID by its values, a row number: every value an integer, each one more (or
  each one less) than the row's before, over at least :data:`MIN_ID_ROWS` rows.
  Distinct integers alone are not enough: a feature such as a price in cents
  may be distinct in every row.

Naming the columns with ``--features`` accepts a date or ID column deliberately;
a date is still text, so it then needs ``--categorical`` (or to be written as a
number in the file).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

DATE = re.compile(
    r"(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2}(\d{2})?)"
    r"([T ]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})?)?"
)
"""A cell that looks like a date (ISO, with slashes or dots, either order), maybe with a time."""
ID_NAME = re.compile(r"(?i:id|.*[_\- ]id)|.*[a-z]Id")
"""A column name that says the column is an ID."""
MIN_ID_ROWS = 10
"""The fewest rows over which values counting up by one are taken for a row number."""
SEPARATOR = "="
"""Between a column's name and a category in the name of a one-hot column: ``city=Paris``."""


def looks_like_date(text: str) -> bool:
    """Whether a cell looks like a date (see :data:`DATE`)."""
    return DATE.fullmatch(text.strip()) is not None


def looks_like_id(name: str) -> bool:
    """Whether a column's name says it is an ID (see :data:`ID_NAME`)."""
    return ID_NAME.fullmatch(name.strip()) is not None


def _listed(names: Sequence[str]) -> str:
    return " ".join(names)


def _quoted(names: Sequence[str]) -> str:
    return ", ".join(repr(n) for n in names)


class Survey:
    """The columns of a first block of rows that are not numeric features, and the way forward.

    ``text`` and ``dates`` map a column's name to the first offending cell (row
    index, text); ``ids`` names the columns whose names say they are IDs.
    """

    def __init__(self, source: str, explicit: bool) -> None:
        self.source, self.explicit = source, explicit
        self.text: dict[str, tuple[int, str]] = {}
        self.dates: dict[str, tuple[int, str]] = {}
        self.ids: list[str] = []

    def look(self, block: list[list[str]], header: list[str], cols: Sequence[int]) -> None:
        """Find the text, date and ID-named columns among ``cols`` of ``block``."""
        if not self.explicit:
            self.ids = [header[j] for j in cols if looks_like_id(header[j])]
        flat = [row[j] for row in block for j in cols]
        try:
            np.fromiter(map(float, flat), dtype=np.float64, count=len(flat))
        except ValueError:
            pass
        else:
            return  # every cell a number: cell by cell is for a block that is not
        for j in cols:
            for i, row in enumerate(block):
                cell = row[j].strip()
                if cell == "" or _is_number(cell):
                    continue
                if _is_number(cell.replace(",", ".")):
                    break  # a decimal comma: the parser names the cell and the fix
                found = self.dates if looks_like_date(cell) else self.text
                found[header[j]] = (i, cell)
                break

    def message(self) -> str | None:
        """One line naming the first offending column and every way forward; None if none."""
        if not (self.text or self.dates or self.ids):
            return None
        bad = {**self.text, **self.dates}
        if bad:
            name = min(bad, key=lambda n: bad[n][0])
            row, cell = bad[name]
            what = "looks like a date" if name in self.dates else "is not a number"
            lead = f"{self.source}: row {row + 1}, column {name!r} holds {cell!r}, which {what}"
        else:
            lead = f"{self.source}: {_ids(self.ids)} (by name)"
        ways = []
        if self.text:
            names = _listed(list(self.text))
            out = "out of --features" if self.explicit else f"out with --drop {names}"
            ways.append(f"one-hot encode text with --categorical {names}, or leave it {out}")
        if self.dates:
            names = _listed(list(self.dates))
            if self.explicit:
                ways.append(f"dates are never guessed: leave {names} out of --features")
            else:
                ways.append(f"dates are never guessed: --drop {names}")
        if self.ids and bad:
            ways.append(f"{_ids(self.ids)}: --drop {_listed(self.ids)}")
        elif self.ids:
            ways.append(f"IDs are never guessed to be features: --drop {_listed(self.ids)}")
        if not self.explicit:
            ways.append("or name the columns to use with --features")
        return f"{lead}; {'; '.join(ways)}"


def _ids(names: list[str]) -> str:
    """``column 'id' looks like an ID``, or the plural."""
    if len(names) == 1:
        return f"column {names[0]!r} looks like an ID"
    return f"columns {_quoted(names)} look like IDs"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


class Counting:
    """Which numeric columns count up (or down) by exactly one from row to row: row numbers.

    Fed the parsed float64 values of each block of rows in turn.
    """

    def __init__(self, width: int) -> None:
        self.up = np.ones(width, dtype=bool)
        self.down = np.ones(width, dtype=bool)
        self.first: np.ndarray | None = None
        self.last: np.ndarray | None = None
        self.rows = 0

    def add(self, values: np.ndarray) -> None:
        """The next block's values, shape (rows, width)."""
        if not len(values) or not (self.up.any() or self.down.any()):
            return
        whole = np.all(values == np.round(values), axis=0)
        steps = np.diff(values if self.last is None else np.vstack([self.last, values]), axis=0)
        self.up &= whole & np.all(steps == 1, axis=0)
        self.down &= whole & np.all(steps == -1, axis=0)
        if self.first is None:
            self.first = values[0].copy()
        self.last = values[-1:].copy()
        self.rows += len(values)

    def message(self, source: str, names: Sequence[str]) -> str | None:
        """The refusal naming the columns that count rows (``names``: each column's name)."""
        if self.rows < MIN_ID_ROWS:
            return None
        found = np.flatnonzero(self.up | self.down)
        if not len(found):
            return None
        assert self.first is not None
        assert self.last is not None
        k = int(found[0])
        start, stop = _whole(self.first[k]), _whole(self.last[0, k])
        second = _whole(self.first[k] + (1 if self.up[k] else -1))
        columns = [names[int(j)] for j in found]
        return (
            f"{source}: column {names[k]!r} counts rows ({start}, {second}, ... {stop}), "
            "like a row number or ID, and IDs are never guessed to be features: "
            f"--drop {_listed(columns)}, or name the columns to use with --features (which "
            "keeps them)"
        )


def _whole(value: float) -> str:
    return str(int(value))


class Codes:
    """One text column's cells as codes into its categories, parsed a block of rows at a time.

    ``known``: the categories a model was trained with (a cell outside them is
    refused); None while training, when the categories are those found, sorted.
    """

    def __init__(self, name: str, known: Sequence[str] | None, capacity: int) -> None:
        self.name = name
        self.known = None if known is None else [str(c) for c in known]
        self.index: dict[str, int] = {} if known is None else {c: i for i, c in enumerate(known)}
        self.codes = np.empty(capacity, dtype=np.int64)

    def reserve(self, size: int) -> None:
        """Room for ``size`` rows in all."""
        if size > len(self.codes):
            self.codes.resize(size, refcheck=False)

    def add(self, cells: list[str], start: int, source: str) -> None:
        """Code the cells of rows ``start, start + 1, ...``; an empty or unseen cell is refused."""
        index = self.index
        out = self.codes[start : start + len(cells)]
        for i, cell in enumerate(cells):
            text = cell.strip()
            code = index.get(text)
            if code is None:
                if text == "":
                    msg = (
                        f"{source}: row {start + i + 1}, column {self.name!r} is empty; "
                        "fill or drop that row"
                    )
                    raise ValueError(msg)
                if self.known is not None:
                    raise ValueError(self._unseen(source, start + i, text))
                code = index[text] = len(index)
            out[i] = code

    def _unseen(self, source: str, row: int, text: str) -> str:
        assert self.known is not None
        shown = ", ".join(self.known[:8]) + (" ..." if len(self.known) > 8 else "")
        return (
            f"{source}: row {row + 1}, column {self.name!r} holds {text!r}, a category the "
            f"model was not trained on (it knows {len(self.known)}: {shown}); the model "
            "cannot encode it: leave that row out, or train again with data that has it"
        )

    def finish(self, n: int) -> tuple[list[str], np.ndarray]:
        """The categories (sorted, or as known) and the codes of the ``n`` rows."""
        codes = self.codes[:n]
        if self.known is not None:
            return self.known, codes
        found = sorted(self.index, key=lambda c: self.index[c])
        order = sorted(range(len(found)), key=lambda i: found[i])
        rank = np.empty(len(found), dtype=np.int64)
        rank[order] = np.arange(len(found))
        return [found[i] for i in order], rank[codes]


def one_hot_names(columns: Sequence[str], categories: dict[str, list[str]]) -> list[str]:
    """The names of the encoded columns: a numeric column as it is, a text one per category."""
    names: list[str] = []
    for name in columns:
        if name in categories:
            names += [f"{name}{SEPARATOR}{c}" for c in categories[name]]
        else:
            names.append(name)
    return names


def one_hot(
    numeric: np.ndarray, columns: Sequence[str], coded: dict[str, tuple[list[str], np.ndarray]]
) -> np.ndarray:
    """The feature array: ``numeric``'s columns and each coded column's 0/1 columns, in order.

    ``columns`` names the raw columns in order; those in ``coded`` are text, the
    others are ``numeric``'s columns, in turn.  The result is ``numeric``'s dtype.
    """
    n = len(numeric)
    width = numeric.shape[1] + sum(len(cats) for cats, _ in coded.values())
    out = np.zeros((n, width), dtype=numeric.dtype)
    at, k = 0, 0
    rows = np.arange(n)
    for name in columns:
        if name in coded:
            cats, codes = coded[name]
            out[rows, at + codes] = 1
            at += len(cats)
        else:
            out[:, at] = numeric[:, k]
            at, k = at + 1, k + 1
    return out
