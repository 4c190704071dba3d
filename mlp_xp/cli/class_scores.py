"""A classifier's scores class by class: precision, recall, balanced accuracy, confusions (cli).

Computed on the host with NumPy, as scikit-learn's ``precision_recall_fscore_support``,
``balanced_accuracy_score`` and ``confusion_matrix`` define them, so that the
command line does not import scikit-learn's metrics.  The classes are the
model's, and then any label of ``y`` the model never saw (a row of it is always
wrong).  A score that divides by zero (the precision of a class never
predicted, the recall of one with no rows) is undefined, and shown as ``n/a``
where scikit-learn would show 0 with a warning; balanced accuracy is the mean
recall of the classes that have rows.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from .common import same_labels, unseen_labels

MAX_MATRIX_CLASSES = 20
"""The confusion matrix is printed for at most this many classes."""


class ClassScores(NamedTuple):
    """Counts of (true class, predicted class), with the scores derived from them."""

    labels: list[Any]
    """The classes: the model's, then the labels of y it never saw."""
    confusion: np.ndarray
    """``confusion[i, j]``: rows of class ``labels[i]`` predicted as ``labels[j]``."""

    @property
    def support(self) -> np.ndarray:
        """Each class's number of rows."""
        return np.asarray(self.confusion.sum(axis=1))

    @property
    def precision(self) -> np.ndarray:
        """Each class's precision: right among the rows predicted as it; NaN if none were."""
        predicted = self.confusion.sum(axis=0)
        return _ratio(np.diag(self.confusion), predicted)

    @property
    def recall(self) -> np.ndarray:
        """Each class's recall: right among its rows; NaN if it has none."""
        return _ratio(np.diag(self.confusion), self.support)

    @property
    def balanced_accuracy(self) -> float:
        """The mean recall over the classes that have rows."""
        recall = self.recall[self.support > 0]
        return float(np.mean(recall)) if recall.size else float("nan")


def _ratio(top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    out = np.full(top.shape, np.nan)
    np.divide(top, bottom, out=out, where=bottom > 0)
    return out


def class_scores(y: Any, predicted: Any, classes: Any) -> ClassScores:
    """The confusion matrix of labels ``y`` and ``predicted`` over ``classes`` and y's others."""
    y, predicted = np.asarray(y).reshape(-1), np.asarray(predicted).reshape(-1)
    known, _ = unseen_labels(y, np.asarray(classes))
    labels = [*np.asarray(classes).tolist(), *np.unique(y[~known]).tolist()]
    truth = _index(y, labels)
    guess = _index(predicted, labels)
    k = len(labels)
    confusion = np.bincount(truth * k + guess, minlength=k * k).reshape(k, k)
    return ClassScores(labels, confusion)


def _index(values: np.ndarray, labels: list[Any]) -> np.ndarray:
    """Each value's position in ``labels`` (text never matches a number)."""
    index = np.zeros(len(values), dtype=np.intp)
    for i, label in enumerate(labels):
        index[same_labels(values, np.asarray(label))] = i
    return index


def _shown(label: Any) -> str:
    if isinstance(label, float) and label.is_integer():
        return str(int(label))
    return str(label)


def _score(value: float) -> str:
    return "n/a" if np.isnan(value) else f"{value:.4f}"


def report_lines(scores: ClassScores) -> list[str]:
    """The scores as text: balanced accuracy, a line per class, then the confusion matrix."""
    names = [_shown(label) for label in scores.labels]
    width = max(5, *(len(n) for n in names))
    lines = [
        f"balanced accuracy {_score(scores.balanced_accuracy)}",
        f"{'class':<{width}}  precision  recall  support",
    ]
    for name, p, r, n in zip(names, scores.precision, scores.recall, scores.support):
        lines.append(f"{name:<{width}}  {_score(p):>9}  {_score(r):>6}  {int(n):>7}")
    k = len(names)
    if k > MAX_MATRIX_CLASSES:
        lines.append(f"confusion matrix: not shown for {k} classes (at most {MAX_MATRIX_CLASSES})")
        return lines
    digits = len(str(int(scores.confusion.max(initial=0))))
    cells = [max(len(n), digits) for n in names]
    lines.append("confusion matrix (rows: true class, columns: predicted class):")
    lines.append(" " * width + "".join(f"  {n:>{c}}" for n, c in zip(names, cells)))
    for name, row in zip(names, scores.confusion):
        counts = "".join(f"  {int(v):>{c}}" for v, c in zip(row, cells))
        lines.append(f"{name:<{width}}{counts}")
    return lines
