"""The summary of an ``mlp-xp train`` run: why it stopped, and the metric (command line)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import is_array, to_host
from .class_scores import class_scores, report_lines
from .common import unseen_labels


def _still_improving(model: Any) -> bool:
    """Whether the watched loss fell by more than tol in the last ``patience`` epochs."""
    history = model.fitted_model().training.history
    val = [v for v in history.get("val_loss") or [] if v is not None]
    watched = val if model.early_stopping and val else list(history.get("loss") or [])
    if len(watched) < 2:
        return False
    window = max(1, int(model.patience))
    before = watched[:-window] or watched[:1]
    return bool(min(watched[-window:]) < min(before) - float(model.tol))


def _reason_code(model: Any) -> str:
    """The estimator's ``stop_reason_``, or what the last provenance segment says."""
    fitted = model.fitted_model()
    if fitted.training.stop_reason:
        return str(fitted.training.stop_reason)
    segments = fitted.provenance.segments
    ended = segments[-1].get("ended") if segments else "completed"
    if ended == "stopped":
        return "early_stopping" if model.early_stopping else "converged"
    return "max_epochs" if ended == "completed" else str(ended)


def stop_reason(model: Any, ran_out: bool = False) -> str:
    """Why training stopped: tol reached, early stopping, a callback, or every epoch run.

    ``ran_out`` says that the estimator warned that the epochs ran out while the
    loss was still improving (a ``ConvergenceWarning``).
    """
    reason = _reason_code(model)
    rule = f"improved by less than --tol {model.tol:g} for --patience {model.patience} epochs"
    if reason == "converged":
        return f"tol reached (the training loss {rule})"
    if reason == "early_stopping":
        best = model.fitted_model().training.best_epoch
        kept = f"; the weights of its best epoch, {best}, were kept" if best else ""
        return f"early stopping (the validation loss {rule}{kept})"
    if reason == "max_epochs":
        if ran_out or _still_improving(model):
            return "all --epochs run while the loss was still improving (more --epochs may help)"
        return "all --epochs run"
    if reason == "callback":
        return "a callback asked to stop"
    return reason


def _score(model: Any, X: Any, y: Any) -> float:
    """``model.score(X, y)``: ``predict`` runs the rows a block at a time itself."""
    return float(model.score(X, y))


def metric(model: Any, X: Any, y: Any, task: str) -> str:
    """``R^2 0.99876`` or ``accuracy 0.95000``, with labels the classifier never saw named."""
    if task != "classification":
        return f"R^2 {_score(model, X, y):.5f}"
    text = f"accuracy {_score(model, X, y):.5f}"
    known, shown = unseen_labels(np.asarray(y), model.classes_)
    if not known.all():
        text += (
            f" ({int((~known).sum())} of these rows have labels the model never saw in "
            f"training: {shown})"
        )
    return text


def class_report(model: Any, X: Any, y: Any) -> list[str]:
    """A classifier's per-class precision and recall, balanced accuracy and confusion matrix."""
    predicted = model.predict(X)
    predicted = to_host(predicted) if is_array(predicted) else np.asarray(predicted)
    return report_lines(class_scores(np.asarray(y), predicted, model.classes_))
