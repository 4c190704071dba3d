"""The estimator layer: scikit-learn-style :class:`MLPRegressor` and :class:`MLPClassifier`.

They subclass scikit-learn's base classes, so they are imported on first use
(a module ``__getattr__``, PEP 562): a submodule such as :mod:`.memory` can be
used without importing scikit-learn.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .classifier import MLPClassifier
    from .persistence import load
    from .regressor import MLPRegressor

__all__ = ["MLPClassifier", "MLPRegressor", "load"]

_LAZY = {"MLPClassifier": ".classifier", "MLPRegressor": ".regressor", "load": ".persistence"}


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
