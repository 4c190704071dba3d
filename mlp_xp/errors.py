"""Exceptions of mlp_xp beyond the built-in TypeError and ValueError."""

from __future__ import annotations

from sklearn.exceptions import NotFittedError as _SklearnNotFittedError


class DivergenceError(FloatingPointError):
    """Training produced a NaN or infinite loss.

    The estimator that raised it keeps the last finite weights, so it can still
    be saved or inspected.  The message names the epoch and suggests a smaller
    learning rate.
    """


class NotFittedError(_SklearnNotFittedError):
    """The estimator is used before ``fit``: scikit-learn's own exception, so its tools see it."""


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
