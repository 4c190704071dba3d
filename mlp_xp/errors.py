"""Exceptions of mlp_xp beyond the built-in TypeError and ValueError.

:class:`NotFittedError` subclasses scikit-learn's own, so that scikit-learn's
tools see it; it is made on first use (a module ``__getattr__``, PEP 562), so
that importing this module, and ``mlp_xp``, does not import scikit-learn.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

__all__ = ["DivergenceError", "NotFittedError", "PlacementWarning"]


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
