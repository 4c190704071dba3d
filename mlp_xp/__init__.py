"""mlp_xp: multilayer perceptrons written once against the Python Array API."""

from ._backend import (
    BackendInfo,
    BackendUnavailableError,
    available_backends,
    resolve,
    to_backend,
    to_host,
)
from ._version import __version__
from .errors import DivergenceError, NotFittedError
from .estimators import MLPClassifier, MLPRegressor
from .init import init_params
from .io import load
from .layers import Layer, Params
from .lecture import gradient_descent_step
from .network import forward, gradients, loss, step
from .optimizers import Optimizer, adam, apply_updates, momentum, sgd

__all__ = [
    "BackendInfo",
    "BackendUnavailableError",
    "DivergenceError",
    "Layer",
    "MLPClassifier",
    "MLPRegressor",
    "NotFittedError",
    "Optimizer",
    "Params",
    "__version__",
    "adam",
    "apply_updates",
    "available_backends",
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
]
