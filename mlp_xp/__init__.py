"""mlp_xp: multilayer perceptrons written once against the Python Array API."""

from ._version import __version__
from .backend import (
    BackendInfo,
    BackendUnavailableError,
    available_backends,
    resolve,
    to_backend,
    to_host,
)
from .errors import DivergenceError, NotFittedError, PlacementWarning, PrecisionWarning
from .estimators import MLPClassifier, MLPRegressor, load
from .nn.init import init_params
from .nn.layers import Layer, Params
from .nn.lecture import gradient_descent_step
from .nn.network import forward, gradients, loss, step
from .nn.optimizers import Optimizer, adam, apply_updates, momentum, sgd
from .verify import CompareReport, VerifyReport, compare, verify

__all__ = [
    "BackendInfo",
    "BackendUnavailableError",
    "CompareReport",
    "DivergenceError",
    "Layer",
    "MLPClassifier",
    "MLPRegressor",
    "NotFittedError",
    "Optimizer",
    "Params",
    "PlacementWarning",
    "PrecisionWarning",
    "VerifyReport",
    "__version__",
    "adam",
    "apply_updates",
    "available_backends",
    "compare",
    "forward",
    "gradient_descent_step",
    "gradients",
    "init_params",
    "load",
    "loss",
    "momentum",
    "resolve",
    "sgd",
    "step",
    "to_backend",
    "to_host",
    "verify",
]
