"""The held-out split of ``mlp-xp train``: seeded, stratified for classes (data layer).

A classification target's rows are held out class by class, each class in its
own proportion and with a row on each side where the sizes allow (see
:func:`mlp_xp.seeds.seeded_stratified_split`); a regression target's at random.
The rows are drawn on the host from the seed, so every backend trains on the
same rows.  A model file records the method in its data record (``"split"``);
a file written before the record existed was split at random, and
:func:`recorded_split` says so, so that ``evaluate``, ``verify`` and
``--resume`` draw the rows it was trained on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..seeds import seeded_split, seeded_stratified_split

SPLITS: tuple[str, ...] = ("random", "stratified")
"""The held-out split's methods, as a model file records them."""


def split_method(task: str, y: Any) -> str:
    """How a new model's rows are split: stratified for class labels, else at random.

    Multilabel or multi-output targets (2-D) are split at random, as scikit-learn does.
    """
    return (
        "stratified"
        if task == "classification" and y is not None and np.ndim(y) == 1
        else "random"
    )


def recorded_split(info: dict[str, Any] | None) -> str:
    """The split method a model's data record names; ``"random"`` for files before it did."""
    method = (info or {}).get("split", "random")
    if method not in SPLITS:
        msg = f"the model file records an unknown split method {method!r} (known: {SPLITS})"
        raise ValueError(msg)
    return str(method)


def shown_labels(values: Sequence[Any] | np.ndarray) -> str:
    """Labels as a user wrote them: ``'fraud'``, ``7`` for 7.0, at most 8 of them."""
    items = list(np.asarray(values).tolist())

    def one(v: Any) -> str:
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        return repr(v) if isinstance(v, str) else str(v)

    return ", ".join(one(v) for v in items[:8]) + (" ..." if len(items) > 8 else "")


def class_counts(labels: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(classes, each row's class index, each class's count)`` of 1-D labels."""
    classes, strata, counts = np.unique(
        np.asarray(labels).reshape(-1), return_inverse=True, return_counts=True
    )
    return classes, strata.reshape(-1), counts


def split(
    n_samples: int,
    test_fraction: float,
    seed: int,
    labels: Any = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Seeded train/test row indices (the same on every backend).

    With ``labels`` (class labels, one per row) the split is stratified: each
    class is held out in its own proportion, with a row on each side where the
    sizes allow; a class of a single row stays in the training rows (see
    :func:`single_classes`).

    Raises
    ------
    ValueError
        For a ``test_fraction`` outside [0, 1) or one that leaves no training row.
    """
    if not 0.0 <= test_fraction < 1.0:
        msg = f"--test-fraction must be in [0, 1), got {test_fraction}"
        raise ValueError(msg)
    n_test = round(n_samples * test_fraction)
    if n_samples - n_test < 1:
        msg = f"--test-fraction {test_fraction} leaves no training rows out of {n_samples}"
        raise ValueError(msg)
    if labels is None or n_test == 0:
        return seeded_split(n_samples, n_test, [seed, 3])
    _, strata, _ = class_counts(labels)
    return seeded_stratified_split(strata, n_test, [seed, 3])


def single_classes(labels: Any, test_rows: np.ndarray) -> str | None:
    """A note naming the classes of one row that a stratified split kept for training."""
    if len(test_rows) == 0:
        return None
    classes, _, counts = class_counts(labels)
    single = classes[counts == 1]
    held = np.isin(single, np.asarray(labels)[test_rows])
    kept = single[~held]
    if kept.size == 0:
        return None
    which = (
        f"class {shown_labels(kept)} has"
        if kept.size == 1
        else (f"classes {shown_labels(kept)} have")
    )
    return (
        f"the {which} only 1 row, too few to put on both sides of the stratified "
        f"held-out split: {'it is' if kept.size == 1 else 'they are'} in the training rows "
        "only, and the held-out score covers none of "
        f"{'it' if kept.size == 1 else 'them'}"
    )


def check_training_classes(
    labels: Any, train_rows: np.ndarray, test_fraction: float, seed: int
) -> None:
    """Refuse a held-out split that leaves fewer than two classes in the training rows.

    Raises
    ------
    ValueError
        Naming the split, the class left, and the rows of the others it held out.
    """
    classes, strata, counts = class_counts(labels)
    left = np.unique(strata[train_rows])
    if classes.size < 2 or left.size >= 2:
        return
    gone = np.setdiff1d(np.arange(classes.size), left)
    parts = [
        f"the {counts[i]} row{'s' if counts[i] > 1 else ''} of {shown_labels(classes[i : i + 1])}"
        for i in gone[:8]
    ]
    rows = parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"
    only = "no class" if left.size == 0 else f"only class {shown_labels(classes[left])}"
    msg = (
        f"the held-out split (--test-fraction {test_fraction}, --seed {seed}) left {only} in "
        f"the training rows, holding out {rows}{' ...' if gone.size > 8 else ''}; a "
        "classifier needs two classes to train on, so lower --test-fraction"
    )
    raise ValueError(msg)


def check_validation_classes(labels: Any, val_fraction: float) -> None:
    """``--early-stopping``'s stratified validation split is possible on these training labels.

    The estimator refuses the same cases in scikit-learn's words; this says it
    in the command line's (flags, rows).

    Raises
    ------
    ValueError
        For a class with a single training row, or fewer training rows left
        beside the validation rows than there are classes.
    """
    classes, _, counts = class_counts(labels)
    single = classes[counts < 2]
    if single.size:
        which = (
            f"class {shown_labels(single)} has"
            if single.size == 1
            else (f"classes {shown_labels(single)} have")
        )
        msg = (
            f"--early-stopping: the validation split (--val-fraction {val_fraction}) is "
            f"stratified, and the {which} only 1 training row, too few to put a row on each "
            "side; train without --early-stopping, or with more rows of "
            f"{'it' if single.size == 1 else 'them'}"
        )
        raise ValueError(msg)
    n = int(counts.sum())
    n_val = max(1, round(n * float(val_fraction)))  # as the estimator draws it
    if 0 < n - n_val < classes.size:
        msg = (
            f"--val-fraction {val_fraction} leaves {n - n_val} of the {n} training rows to "
            f"train on, fewer than the {classes.size} classes, so the stratified validation "
            "split would leave a class with no row to train on; lower --val-fraction"
        )
        raise ValueError(msg)


def recorded_rows(info: dict[str, Any], X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    """The (training, held-out) rows of ``X`` that a model's data record says it was split into.

    ``info`` is the ``data_info_`` that ``mlp-xp train`` records: its
    ``test_fraction``, ``seed`` and ``split`` method (random when the file
    predates the record).
    """
    labels = y if recorded_split(info) == "stratified" else None
    return split(len(X), float(info["test_fraction"]), int(info["seed"]), labels)
