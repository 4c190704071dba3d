"""The JAX adapter: ``jax.numpy`` on the CPU or a CUDA GPU, eager (backend layer).

``jax.numpy`` implements the Array API standard itself, and array-api-compat
returns it as is, tracers included.  Its arrays are immutable: ``x *= y``
rebinds, which the kernels allow for (their results are used as returned).

Training compiles: :meth:`JaxAdapter.compiled_epoch` hands
:mod:`mlp_xp.training.compiled` ``jax.jit``, ``jax.lax.scan`` and
``jax.lax.switch``, from which each epoch becomes one compiled call.

float64 needs JAX's x64 mode.  mlp_xp never switches a user's global JAX
setting: without x64, float64 is refused with the one-line fix (set
``JAX_ENABLE_X64=1``, or ``jax.config.update("jax_enable_x64", True)`` before
creating arrays).
"""

from __future__ import annotations

import contextlib
import importlib
import os
from types import ModuleType
from typing import Any, ClassVar

import array_api_compat
import numpy as np

from ..validation import arg_setting
from .adapter import (
    Adapter,
    Array,
    BackendUnavailableError,
    Device,
    Namespace,
    Numerics,
    cuda_index,
    host_memory_available,
    read_setting,
)
from .compile_cache import requested_cache_dir

X64_FIX = (
    "JAX computes in float64 only in its x64 mode: set JAX_ENABLE_X64=1, or call "
    'jax.config.update("jax_enable_x64", True) before creating arrays'
)


_CACHE: dict[str, str | None] = {}


def _jax() -> Any:
    jax = importlib.import_module("jax")
    if not _CACHE:
        _CACHE["dir"] = _apply_cache(jax)
    return jax


def _apply_cache(jax: Any) -> str | None:
    """Keep compilations in the command line's cache directory, unless the user set one.

    Every compilation is kept (JAX keeps only those over a second by default):
    the eager operations' small ones add up to seconds a run.
    """
    directory = requested_cache_dir()
    mine = directory is not None and "JAX_COMPILATION_CACHE_DIR" not in os.environ
    if not mine or jax.config.jax_compilation_cache_dir:
        return None
    jax.config.update("jax_compilation_cache_dir", directory)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    return directory


def _gpus(jax: Any) -> list[Any]:
    """JAX's GPU devices, or none (asking for a missing platform raises)."""
    try:
        return list(jax.devices("gpu"))
    except RuntimeError:
        return []


class JaxCompiler:
    """``jax.jit``, ``jax.lax.scan`` and ``jax.lax.switch``: what a compiled epoch is made of."""

    def jit(self, fn: Any) -> Any:
        return _jax().jit(fn)

    def scan(self, body: Any, carry: Any, xs: Any) -> Any:
        return _jax().lax.scan(body, carry, xs)

    def switch(self, index: Any, branches: Any, *operands: Any) -> Any:
        return _jax().lax.switch(index, branches, *operands)


_COMPILER = JaxCompiler()


class JaxAdapter(Adapter):
    """JAX, eager, on the CPU or CUDA GPUs."""

    name: ClassVar[str] = "jax"
    _module: ClassVar[str] = "jax.numpy"
    _install_hint: ClassVar[str] = (
        "pip install 'mlp_xp[jax]' (CPU), 'mlp_xp[jax-cuda12]' or 'mlp_xp[jax-cuda13]'"
    )
    device_kinds: ClassVar[tuple[str, ...]] = ("cpu", "cuda")

    def _version(self, mod: ModuleType) -> str:
        return str(_jax().__version__)

    def _list_devices(self, mod: ModuleType) -> tuple[str, ...]:
        return ("cpu", *(f"cuda:{d.id}" for d in _gpus(_jax())))

    def owns(self, x: object) -> bool:
        return bool(array_api_compat.is_jax_array(x))

    def namespace(self) -> Namespace:
        return importlib.import_module("jax.numpy")

    def float_dtypes(self, device: Device) -> tuple[str, ...]:
        x64 = bool(_jax().config.jax_enable_x64)
        return ("float32", "float64") if x64 else ("float32",)

    def _modes(self) -> str:
        x64 = (
            "x64 mode on (float64 available)"
            if "float64" in self.float_dtypes(None)
            else "x64 mode off (float32 only; JAX_ENABLE_X64=1 for float64)"
        )
        jax = _jax()
        cache = _CACHE.get("dir") or jax.config.jax_compilation_cache_dir
        where = f"compilation cache {cache}" if cache else "no compilation cache"
        return f"{x64}; {where}"

    def dtype_refusal(self, name: str) -> str:
        return X64_FIX if name == "float64" else ""

    def parse_device(self, xp: Namespace, device: object, arg: str) -> Device:
        jax = _jax()
        if device is None or str(device) == "cpu":
            return jax.devices("cpu")[0]
        if isinstance(device, jax.Device):
            return device
        index = cuda_index(device, arg)
        gpus = {d.id: d for d in _gpus(jax)}
        if index not in gpus:
            msg = (
                f"{arg_setting(arg, device)}: JAX sees no CUDA device {index} here; usable JAX "
                f"devices are {', '.join(self.info().devices)} (install 'mlp_xp[jax-cuda13]')"
            )
            raise BackendUnavailableError(msg)
        return gpus[index]

    def device_name(self, device: Device) -> str:
        return "cpu" if device.platform == "cpu" else f"cuda:{device.id}"

    def memory_available(self, device: Device) -> int | None:
        """The host's free memory for the CPU; for a GPU, what its allocator has left."""
        if device.platform == "cpu":
            return host_memory_available()
        stats = device.memory_stats() or {}
        if "bytes_limit" not in stats:
            return None
        return int(stats["bytes_limit"]) - int(stats.get("bytes_in_use", 0))

    def synchronize(self, device: Device) -> None:
        # JAX dispatches asynchronously; a tiny computation on the device, read back, waits.
        jnp = self.namespace()
        jnp.zeros((), device=device).block_until_ready()

    def to_host(self, x: Array) -> np.ndarray:
        return np.asarray(x)

    def from_host(self, host: np.ndarray, xp: Namespace, device: Device, dtype: Any) -> Array:
        """Cast on the host by NumPy (the same rounding), then one ``jax.device_put``.

        ``jnp.asarray`` with a dtype and a device compiles two small programs per
        shape and dtype (a conversion, then a copy to the device), 10-40 ms each
        the first time: 14 of ``mlp-xp train``'s set-up compilations.  A transfer
        compiles nothing.
        """
        if dtype is not None:
            host = host.astype(np.dtype(dtype), copy=False)
        return _jax().device_put(host, device)

    def _numerics(self) -> Numerics:
        """JAX's x64 mode and float32 matmul precision, its jaxlib version and GPU names."""
        jax = _jax()
        settings = {
            "jax_enable_x64": read_setting(lambda: jax.config.jax_enable_x64),
            "jax_default_matmul_precision": read_setting(
                lambda: jax.config.jax_default_matmul_precision
            ),
        }
        jaxlib = importlib.import_module("jaxlib")
        gpus = [f"cuda:{d.id} {d.device_kind}" for d in _gpus(jax)]
        return Numerics(settings, {"jaxlib": str(getattr(jaxlib, "__version__", "?"))}, gpus)

    def compiled_epoch(self) -> JaxCompiler:
        """JAX traces and compiles: each epoch is one ``jax.jit`` call scanning its batches."""
        return _COMPILER

    def full_precision(self) -> contextlib.AbstractContextManager[Any]:
        """float32 matmuls in float32 while mlp_xp computes, unless the user chose a precision.

        JAX's default precision computes float32 matmuls in TF32 on Ampere and
        later GPUs (jax-ml/jax#4873, #12008), where PyTorch and CuPy compute
        them in float32 by default.  mlp_xp asks for "highest" in a scope of its
        own (``jax.default_matmul_precision``), never in the user's global
        setting; a precision the user set (``jax_default_matmul_precision``,
        ``JAX_DEFAULT_MATMUL_PRECISION``) is kept and reported by
        :meth:`_reduced_precision`.  On the CPU it changes nothing.
        """
        jax = _jax()
        if jax.config.jax_default_matmul_precision is not None:
            return contextlib.nullcontext()
        return jax.default_matmul_precision("highest")

    def _reduced_precision(self, numerics: Numerics, env: dict[str, str]) -> list[str]:
        """On GPUs, a float32 matmul precision the user set below "highest" (TF32, bfloat16).

        Unset (None), mlp_xp computes in its own "highest" scope (:meth:`full_precision`).
        """
        precision = numerics.settings.get("jax_default_matmul_precision")
        if numerics.gpus and precision not in (None, "None", "highest", "float32"):
            return [
                f"jax_default_matmul_precision is {precision!r}: float32 matmuls on the GPU "
                "use TF32 or less (set it to 'highest', or leave it unset)"
            ]
        return []


ADAPTER = JaxAdapter()
