"""How a saved model's columns are found in new data: by name, or by position, said (command line).

``predict``, ``evaluate``, ``verify``, ``compare`` and ``export --data`` read
the columns a model was trained on (``data_info_["columns"]``, else its
``feature_names_in_``), one-hot encoding those it encoded with its own
categories.  Where the model and the data both name their columns, the columns
are found by name, in any order; a column the data lacks is refused, naming it.

Where only one side has names (a model trained on an ``.npz`` file or with
``--no-header``, applied to a CSV file with a header; or a model trained on a
CSV file, applied to an ``.npz`` or headerless file), the columns can only be
taken in order: one note on stderr says so and names the order used.
``--by-position`` takes them in order deliberately, without the note and
without looking at names.  Where neither side has names (an ``.npz`` model on
``.npz`` data), there is nothing to compare, and nothing is said, as in
scikit-learn, which warns only when one side has names.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..data.tables import Dataset, MissingColumnsError
from .common import UsageError, is_table, read_data, table_options


def add_by_position_arg(parser: argparse.ArgumentParser) -> None:
    """``--by-position``: take the data's feature columns in order, whatever their names."""
    parser.add_argument(
        "--by-position",
        action="store_true",
        help="take the data's feature columns in order as the model's, whatever their names "
        "(default: by name where the model and the data both have names, else in order "
        "with a note)",
    )


def model_columns(model: Any) -> list[str] | None:
    """The columns a model's features come from, in order: as recorded, else its feature names."""
    record = model.data_record()
    if record.get("columns"):
        return [str(c) for c in record.get("columns")]
    names = record.feature_names
    return None if names is None or len(names) == 0 else list(names)


def _shown(names: list[str]) -> str:
    return ", ".join(names[:8]) + (f", ... ({len(names)} in all)" if len(names) > 8 else "")


class _Plan:
    """How to read the data for a model: which columns, by name or by position, which target."""

    def __init__(self, model: Any, args: argparse.Namespace, table: dict[str, Any]) -> None:
        record = model.data_record()
        info = record.info or {}
        self.columns = model_columns(model)
        self.categories: dict[str, list[str]] = dict(info.get("categories") or {})
        self.tabular = is_table(str(args.data))
        self.by_position = bool(getattr(args, "by_position", False))
        model_headless = bool(info.get("no_header"))
        self.model_named = self.columns is not None and not model_headless
        data_headless = self.tabular and table["no_header"]
        # Both headless: the recorded names c0, c1, ... are positions on both sides.
        self.by_name = (
            not self.by_position
            and self.tabular
            and self.columns is not None
            and ((self.model_named and not data_headless) or (model_headless and data_headless))
        )
        if self.categories and not self.tabular:
            names = ", ".join(self.categories)
            msg = (
                f"the model one-hot encodes the column(s) {names} (--categorical); give "
                f"--data as a CSV file with those columns, not {args.data}"
            )
            raise UsageError(msg)
        target = record.target_name
        # In order, a named CSV's target is the model's own only where the model has names.
        self.target = target if self.by_name or (self.model_named and not data_headless) else None

    def reading(self) -> dict[str, Any]:
        """``features`` and ``categorical`` for :func:`mlp_xp.data.load_data`."""
        if self.by_name:
            return {"features": self.columns, "categorical": self.categories or None}
        assert self.columns is not None or not self.categories
        at = {self.columns.index(c): k for c, k in self.categories.items()} if self.columns else {}
        return {"features": None, "categorical": at or None}

    def note(self, data: Dataset) -> str | None:
        """The note that the columns were taken in order, where a side has no names."""
        if self.by_name or self.by_position:
            return None
        data_named = bool(data.named)
        if self.model_named and not data_named:
            assert self.columns is not None
            return (
                f"{data.source}'s columns have no names; they are used by position as the "
                f"model's columns: {_shown(self.columns)}; pass --by-position if that is meant"
            )
        if data_named and not self.model_named:
            have = list(data.columns or data.feature_names)
            return (
                "the model's columns have no names; the data's columns are used by position: "
                f"{_shown(have)}; pass --by-position if that is meant"
            )
        if not data_named and not self.model_named:
            return (
                f"neither the model's nor {data.source}'s columns have names; they are used "
                "by position; pass --by-position if that is meant"
            )
        return None


def read_for_model(
    model: Any,
    args: argparse.Namespace,
    *,
    need_target: bool = True,
    target: str | None = None,
    **reading: Any,
) -> tuple[Any, Dataset]:
    """The model's features from ``args.data``, and the data set read.

    Columns are found by name where both sides have names (see the module
    docstring); ``target`` names the target column instead of the model's own;
    ``reading`` holds :func:`mlp_xp.cli.common.read_data`'s other options
    (``lazy``, ``dtype``, ``keep``).

    Raises
    ------
    ValueError
        For a column the data lacks (by name), or another number of columns.
    """
    table = table_options(args, model.data_record().info)
    plan = _Plan(model, args, table)
    try:
        data = read_data(
            args.data,
            target or plan.target,
            table=table,
            need_target=need_target,
            **plan.reading(),
            **{"lazy": False, **reading},
        )
    except MissingColumnsError as exc:
        raise ValueError(f"{exc}; pass --by-position to take its columns in order") from None
    X = _matched(model, data, plan)
    note = plan.note(data)
    if note is not None:
        print(f"mlp-xp: note: {note}", file=sys.stderr)
    return X, data


def _matched(model: Any, data: Dataset, plan: _Plan) -> Any:
    """The data's features in the model's order: by name for named data read whole."""
    X = data.X
    names = plan.columns
    if (
        not plan.tabular
        and not plan.by_position
        and plan.model_named
        and data.named
        and names is not None
        and list(data.feature_names) != names
    ):
        # A built-in data set: its own names, in its own order.
        missing = [n for n in names if n not in data.feature_names]
        if missing:
            msg = f"{data.source} lacks the feature column(s) {missing} the model was trained on"
            raise ValueError(msg)
        X = X[:, [data.feature_names.index(n) for n in names]]
    expected = int(model.n_features_in_)
    if X.shape[1] != expected:
        have = list(data.columns or data.feature_names)
        raw = len(plan.columns) if plan.columns is not None else expected
        how = f" (taken in order: {_shown(have)})" if data.named and not plan.by_name else ""
        msg = f"{data.source} has {len(have)} feature columns but the model expects {raw}{how}"
        raise ValueError(msg)
    return X
