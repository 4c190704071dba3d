"""A CSV file's header line: its delimiter, names that are numbers, or none at all (data layer).

A header of numbers alone is taken for a file without one, and refused with
the option that reads it (``--no-header``); a first line of names read as data
is refused the other way round.
"""

from __future__ import annotations

import csv
import math

DELIMITERS: dict[str, str] = {",": ",", ";": ";", "tab": "\t"}
"""The delimiters a CSV file may use, by the name the command line takes."""


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


def check_header(
    header: list[str], first: list[str], no_header: bool, source: str, delimiter: str
) -> None:
    """Refuse a header that is one column at the wrong delimiter, numbers, blank or repeated.

    ``first`` is the file's first line as fields; ``header`` the column names
    (``c0, c1, ...`` with ``no_header``, when only the delimiter is checked).
    """
    if len(first) == 1:
        hint = _delimiter_hint(first[0], delimiter)
        if hint:
            what = "first line" if no_header else "header line"
            msg = f"{source}: the {what} is one column, {first[0]!r}{hint}"
            raise ValueError(msg)
    if no_header:
        return
    if all(finite_number(h) for h in header):
        shown = ", ".join(header[:4]) + (", ..." if len(header) > 4 else "")
        msg = (
            f"{source}: the header line holds only numbers ({shown}), so the file seems to "
            f"have no header; pass --no-header to read every line as data, its columns "
            f"named c0 ... c{len(header) - 1} (or give the file a header line)"
        )
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


def not_a_header(first: list[str], numeric: list[int], source: str) -> None:
    """Refuse a first line read as data whose numeric feature columns all hold names."""
    cells = [first[j].strip() for j in numeric]
    if cells and not any(finite_number(c) or c == "" for c in cells):
        shown = ", ".join(first[:4]) + (", ..." if len(first) > 4 else "")
        msg = (
            f"{source}: the first line looks like a header ({shown}), but the file is read "
            "as having none (--no-header, given or recorded in the model file); drop "
            "--no-header, or pass --header to predict, evaluate or verify"
        )
        raise ValueError(msg)


def finite_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False
