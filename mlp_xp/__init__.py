"""mlp_xp: multilayer perceptrons written once against the Python Array API.

The functional API is imported with the package; the estimators (which
subclass scikit-learn's), ``load``, ``verify`` and ``compare`` are imported on
first use (a module ``__getattr__``, PEP 562), so that ``import mlp_xp`` loads
none of scikit-learn, SciPy, torch, JAX or dask.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

from ._version import __version__
from .backend import (
    BackendInfo,
    BackendUnavailableError,
    available_backends,
    resolve,
    to_backend,
    to_host,
)
from .errors import DivergenceError, PlacementWarning, PrecisionWarning
from .nn.init import init_params
from .nn.layers import Layer, Params
from .nn.lecture import gradient_descent_step
from .nn.network import forward, gradients, loss, step
from .nn.optimizers import Optimizer, adam, apply_updates, momentum, sgd

if TYPE_CHECKING:
    from .errors import NotFittedError
    from .estimators import MLPClassifier, MLPRegressor, load
    from .verify import CompareReport, VerifyReport, compare, verify

_LAZY: dict[str, str] = {
    "NotFittedError": ".errors",
    "MLPClassifier": ".estimators",
    "MLPRegressor": ".estimators",
    "load": ".estimators",
    "CompareReport": ".verify",
    "VerifyReport": ".verify",
    "compare": ".verify",
    "verify": ".verify",
}
"""The names imported on first use, and the module that defines each."""

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


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        msg = f"module {__name__!r} has no attribute {name!r}"
        raise AttributeError(msg)
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


class _Package(types.ModuleType):
    """This package's module: a lazy name keeps its meaning when a subpackage shares it.

    Importing a subpackage binds it on its parent: ``import mlp_xp.verify.api``
    would make ``mlp_xp.verify`` the subpackage rather than the function it
    exports, depending on what was imported first.  That binding is skipped
    for the names of :data:`_LAZY`, so ``__getattr__`` gives the function.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _LAZY and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
