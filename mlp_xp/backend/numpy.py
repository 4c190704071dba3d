"""The NumPy adapter: the host CPU, and the reference every parity check compares with."""

from __future__ import annotations

import contextlib
from typing import Any, ClassVar

import array_api_compat
import numpy as np

from .adapter import Adapter, BackendInfo, Namespace, Numerics


def blas() -> str:
    """The BLAS library NumPy was built against (its summation order shapes float results)."""
    try:
        info = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{info['name']} {info.get('version', '')}".strip()
    except Exception:  # older NumPy, or a build without that information
        return "unknown"


class NumpyAdapter(Adapter):
    """NumPy on the host."""

    name: ClassVar[str] = "numpy"
    _module: ClassVar[str] = "numpy"
    _install_hint: ClassVar[str] = "pip install numpy"

    def _probe(self) -> BackendInfo:
        return BackendInfo(self.name, True, True, "", np.__version__, ("cpu",))

    def owns(self, x: object) -> bool:
        return bool(array_api_compat.is_numpy_array(x))

    def namespace(self) -> Namespace:
        """NumPy itself where it implements the standard (NumPy >= 2.1), else the compat wrapper.

        Plain NumPy skips a layer of Python wrappers on every call, which matters for
        tiny, overhead-bound networks.
        """
        if getattr(np, "__array_api_version__", "2022.12") >= "2023.12":
            return np
        return array_api_compat.array_namespace(np.empty(0))

    def _numerics(self) -> Numerics:
        return Numerics(versions={"array_api_compat": str(array_api_compat.__version__)})

    def errors_ignored(self) -> contextlib.AbstractContextManager[Any]:
        """NumPy warns on overflow; a diverging run is reported once per epoch instead."""
        return np.errstate(over="ignore", invalid="ignore", divide="ignore")


ADAPTER = NumpyAdapter()
