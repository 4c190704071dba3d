"""The estimator layer: scikit-learn-style :class:`MLPRegressor` and :class:`MLPClassifier`."""

from .classifier import MLPClassifier
from .persistence import load
from .regressor import MLPRegressor

__all__ = ["MLPClassifier", "MLPRegressor", "load"]
