"""Exceptions and warnings of mlp_xp beyond TypeError and ValueError, and how it warns.

:class:`NotFittedError` subclasses scikit-learn's own, so that scikit-learn's
tools see it; it is made on first use (a module ``__getattr__``, PEP 562), so
that importing this module, and ``mlp_xp``, does not import scikit-learn.
"""

from __future__ import annotations

import os
import sys
import threading
import warnings
from typing import TYPE_CHECKING

__all__ = [
    "DivergenceError",
    "NotFittedError",
    "PlacementWarning",
    "PrecisionWarning",
    "warn_at_caller",
]

_PACKAGE = os.path.dirname(os.path.realpath(__file__)) + os.sep
"""The folder of the mlp_xp package: frames of its files are never a warning's caller."""


class DivergenceError(FloatingPointError):
    """Training produced a NaN or infinite loss.

    The estimator that raised it keeps the last finite weights, so it can still
    be saved or inspected.  The message names the epoch and suggests a smaller
    learning rate.
    """


class PlacementWarning(UserWarning):
    """A model is placed elsewhere than where it was trained, because that is not usable here.

    ``mlp_xp.load`` warns once, naming where the model was trained, why that
    cannot be used here, and where it went instead; the command line prints it
    as one ``note:`` line.
    """


class PrecisionWarning(UserWarning):
    """A fit trains in a narrower float dtype than its input's, because the backend lacks it.

    With ``dtype=None`` the estimators train in X's float dtype; where the
    backend cannot compute in it (JAX's float64 without x64 mode) they train in
    its widest float dtype instead, as JAX itself does, and warn once per fit.
    """


def warn_at_caller(message: str, category: type[Warning]) -> None:
    """Warn pointing at the caller's line: the first frame outside the mlp_xp package.

    That is the user's ``model.fit(X, y)``, ``partial_fit`` or ``mlp_xp.load``,
    whatever the path through the package, so Python's filters (by module and
    line) and its "once per location" apply to the user's code; through a
    scikit-learn ``Pipeline`` or ``GridSearchCV`` the caller is scikit-learn's line.
    A fixed ``stacklevel`` would be wrong for every other path in.
    """
    level = 2  # the caller of this function
    frame = sys._getframe(1)
    while frame is not None and os.path.realpath(frame.f_code.co_filename).startswith(_PACKAGE):
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    warnings.warn(message, category, stacklevel=level)


_NOT_FITTED_DOC = (
    "The estimator is used before ``fit``: scikit-learn's own exception, so its tools see it."
)

if TYPE_CHECKING:
    from sklearn.exceptions import NotFittedError as _SklearnNotFittedError

    class NotFittedError(_SklearnNotFittedError):
        """The estimator is used before ``fit``: scikit-learn's own exception."""


_DEFINING = threading.Lock()


def _not_fitted_error() -> type[Exception]:
    """Define :class:`NotFittedError` once, whichever thread asks first."""
    with _DEFINING:
        if "NotFittedError" not in globals():
            from sklearn.exceptions import NotFittedError as sklearn_not_fitted

            cls = type("NotFittedError", (sklearn_not_fitted,), {"__doc__": _NOT_FITTED_DOC})
            cls.__module__ = __name__
            globals()["NotFittedError"] = cls
        found: type[Exception] = globals()["NotFittedError"]
        return found


def __getattr__(name: str) -> type[Exception]:
    if name == "NotFittedError":
        return _not_fitted_error()
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
