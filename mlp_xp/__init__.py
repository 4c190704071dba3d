"""mlp_xp: multilayer perceptrons written once against the Python Array API."""

from ._backend import (
    BackendInfo,
    BackendUnavailableError,
    available_backends,
    resolve,
    to_backend,
    to_host,
)
from .init import init_params
from .layers import Layer, Params
from .lecture import gradient_descent_step
from .network import forward, gradients, loss, step
from .optimizers import Optimizer, adam, apply_updates, momentum, sgd

__version__ = "0.1.0"

__all__ = [
    "BackendInfo",
    "BackendUnavailableError",
    "Layer",
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
    "loss",
    "momentum",
    "resolve",
    "sgd",
    "step",
    "to_backend",
    "to_host",
]
