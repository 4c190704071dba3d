"""The one-hot encoding of ``mlp-xp train --categorical``, inside the exported graph (export).

A model trained with ``--categorical COL`` takes COL one-hot encoded, and its
``data_info_`` records the file's columns in order and each encoded column's
categories.  Its graph takes the columns as they are in the file, in two
inputs: ``X``, the numeric columns in order, shape (batch, n_numeric), in the
model's dtype (absent when there are none), and ``X_categorical``, the text
columns in order, shape (batch, n_categorical), strings.  The graph compares
each text column with its categories, so the network gets exactly the columns
``predict`` gets.  A category the model was not trained on encodes as all
zeros, as scikit-learn's ``OneHotEncoder(handle_unknown="ignore")`` does: a
graph cannot refuse one row, so ``mlp-xp predict`` refuses it before the graph
runs.

A model without categorical columns keeps the one input ``X``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

INPUT = "X"
"""The graph input of the numeric features."""
TEXT_INPUT = "X_categorical"
"""The graph input of the text columns of a model trained with ``--categorical``."""


class Encoding(NamedTuple):
    """The file's columns in order, and the categories of those one-hot encoded."""

    columns: list[str]
    categories: dict[str, list[str]]

    @property
    def numeric(self) -> list[str]:
        return [c for c in self.columns if c not in self.categories]

    @property
    def text(self) -> list[str]:
        return [c for c in self.columns if c in self.categories]

    @property
    def width(self) -> int:
        """The encoded columns: what the network takes."""
        return len(self.numeric) + sum(len(v) for v in self.categories.values())


def encoding_of(info: dict[str, Any] | None) -> Encoding | None:
    """The encoding a model's ``data_info_`` records; None when it encodes no column."""
    info = info or {}
    categories = info.get("categories") or {}
    if not categories or not info.get("columns"):
        return None
    return Encoding(
        [str(c) for c in info["columns"]],
        {str(k): [str(c) for c in v] for k, v in categories.items()},
    )


def graph_inputs(
    xp: Any, encoding: Encoding, dtype: str, batch: str
) -> tuple[dict[str, Any], Any]:
    """The graph's inputs, and the encoded features built from them in the graph."""
    inputs: dict[str, Any] = {}
    if encoding.numeric:
        inputs[INPUT] = xp.argument(shape=(batch, len(encoding.numeric)), dtype=getattr(xp, dtype))
    text = xp.argument(shape=(batch, len(encoding.text)), dtype=xp.utf8)
    inputs[TEXT_INPUT] = text
    parts, i, k = [], 0, 0
    for name in encoding.columns:
        if name in encoding.categories:
            known = xp.asarray(np.asarray(encoding.categories[name], dtype=str))
            parts.append(xp.astype(text[:, k : k + 1] == known, getattr(xp, dtype)))
            k += 1
        else:
            parts.append(inputs[INPUT][:, i : i + 1])
            i += 1
    return inputs, xp.concat(parts, axis=1)


def feeds(encoding: Encoding | None, rows: np.ndarray) -> dict[str, np.ndarray]:
    """The graph's inputs for encoded feature rows: the numeric and the text columns again."""
    if encoding is None:
        return {INPUT: rows}
    numeric, text = [], []
    at = 0
    for name in encoding.columns:
        if name in encoding.categories:
            known = np.asarray(encoding.categories[name], dtype=object)
            block = rows[:, at : at + len(known)]
            cells = known[np.argmax(block, axis=1)]
            cells[np.max(block, axis=1) <= 0] = ""  # no category: encodes as all zeros
            text.append(cells)
            at += len(known)
        else:
            numeric.append(rows[:, at])
            at += 1
    found = {TEXT_INPUT: np.stack(text, axis=1).astype(object)}
    if numeric:
        found[INPUT] = np.ascontiguousarray(np.stack(numeric, axis=1), dtype=rows.dtype)
    return found


def one_hot_sample(encoding: Encoding | None, rows: np.ndarray, rng: Any) -> np.ndarray:
    """Sampled rows with each encoded column's block made one-hot: a category drawn per row."""
    if encoding is None:
        return rows
    at = 0
    for name in encoding.columns:
        if name in encoding.categories:
            count = len(encoding.categories[name])
            block = np.zeros((len(rows), count), dtype=rows.dtype)
            block[np.arange(len(rows)), rng.integers(0, count, size=len(rows))] = 1
            rows[:, at : at + count] = block
            at += count
        else:
            at += 1
    return rows
