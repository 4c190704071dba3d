"""The ndonnx adapter: the Array API as an ONNX graph builder, for inference only (backend layer).

ndonnx implements the Array API standard by recording ONNX operators: an
``argument`` is a graph input without data, and every function of the
namespace applied to it adds nodes to a graph that ``build`` turns into an
ONNX model.  mlp_xp's forward pass, written once against the standard, runs
on it unchanged and so *is* the ONNX converter (:mod:`mlp_xp.export`).

It cannot train: a graph value has no data to read back once an epoch, and
the backward pass of every step would only grow the graph.  So the adapter is
``inference_only``, and the hooks that only training calls (laying rows out
for batches, moving a row order to the device, an array handed to ``fit``)
refuse with one line that says what to do instead.  ``backend="auto"`` never
picks it, and ``mlp-xp parity`` does not run it by default.
"""

from __future__ import annotations

import importlib
import importlib.metadata
from types import ModuleType
from typing import ClassVar

import numpy as np

from ..validation import arg_setting
from .adapter import Adapter, Array, Device, Namespace, Numerics

TRAINING_REFUSED = (
    "ndonnx builds ONNX graphs for inference only and cannot train; train on another "
    "backend (numpy), then export the model with mlp_xp.export.to_onnx(model, path) "
    "or mlp-xp export MODEL --onnx FILE.onnx"
)
"""The one line that refuses training on ndonnx."""


def _installed_version(package: str) -> str | None:
    """The installed version of ``package``, without importing it; None when missing."""
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


class NdonnxAdapter(Adapter):
    """ndonnx: builds an ONNX graph from Array API calls; forward passes only."""

    name: ClassVar[str] = "ndonnx"
    _module: ClassVar[str] = "ndonnx"
    _install_hint: ClassVar[str] = "pip install 'mlp_xp[onnx]' (ndonnx, onnx and onnxruntime)"
    inference_only: ClassVar[bool] = True

    def owns(self, x: object) -> bool:
        return type(x).__module__.split(".")[0] == self._module

    def namespace(self) -> Namespace:
        return importlib.import_module(self._module)

    def _modes(self) -> str:
        return "inference only: builds ONNX graphs (mlp-xp export), cannot train"

    def parse_device(self, xp: Namespace, device: object, arg: str) -> Device:
        """ndonnx has one device, its values' host; a graph runs wherever it is deployed."""
        own = xp.__array_namespace_info__().default_device()
        if device is None or str(device) == "cpu" or device is own:
            return own
        msg = f"{arg_setting(arg, device)} is not an ndonnx device; ndonnx only has 'cpu'"
        raise ValueError(msg)

    def to_host(self, x: Array) -> np.ndarray:
        """The values of a constant (a graph input and what is computed from it have none)."""
        try:
            return np.asarray(x.unwrap_numpy())
        except ValueError:
            msg = (
                "this ndonnx array is a value of an ONNX graph, computed from a graph input: "
                "it has no data here; build the graph and run it with onnxruntime"
            )
            raise TypeError(msg) from None

    def check_array(self, x: Array, arg: str) -> None:
        """An ndonnx array is not data to train on or to predict from."""
        msg = (
            f"{arg} is an ndonnx array: {TRAINING_REFUSED}; to predict, pass host data "
            "(NumPy) or run the exported graph with onnxruntime"
        )
        raise TypeError(msg)

    def shard_rows(
        self,
        X: Array,
        Y: Array,
        *,
        batch_size: int,
        x_in_memory: bool,
        y_in_memory: bool,
    ) -> tuple[Array, Array]:
        """Only training lays rows out for batches: refused."""
        raise ValueError(TRAINING_REFUSED)

    def index_array(self, xp: Namespace, device: Device, order: np.ndarray) -> Array:
        """Only training gathers rows in a new order: refused."""
        raise ValueError(TRAINING_REFUSED)

    def _version(self, mod: ModuleType) -> str:
        return _installed_version("ndonnx") or str(getattr(mod, "__version__", "unknown"))

    def _numerics(self) -> Numerics:
        """The ONNX packages beside it: onnx writes the graph, onnxruntime computes it."""
        return Numerics(
            versions={name: _installed_version(name) for name in ("onnx", "onnxruntime")}
        )


ADAPTER = NdonnxAdapter()
