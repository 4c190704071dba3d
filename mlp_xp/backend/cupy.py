"""The CuPy adapter: NVIDIA GPUs through array-api-compat's cupy namespace."""

from __future__ import annotations

import contextlib
import importlib
import warnings
from typing import Any, ClassVar

import array_api_compat
import numpy as np

from ..validation import arg_setting
from .adapter import (
    Adapter,
    Array,
    BackendInfo,
    BackendUnavailableError,
    Device,
    Namespace,
    Numerics,
    cuda_index,
    read_setting,
)

INSTALL_HINT = (
    "on a machine with an NVIDIA GPU and its driver, install the CuPy extra: "
    "pip install 'mlp_xp[cuda12]' (CUDA 12) or 'mlp_xp[cuda13]' (CUDA 13)"
)
# float32 compute types of cuBLAS that round the inputs below float32 precision.
_REDUCED_COMPUTE_TYPES = frozenset({"TF32", "FP16", "BF16"})


def _cupy() -> Any:
    return importlib.import_module("cupy")


def _smoke_test(cupy: Any) -> None:
    """An elementwise kernel, a float32 matmul and a copy back: what training needs first.

    ``cupy.is_available()`` only counts devices.  CuPy loads NVRTC (for elementwise
    kernels) and cuBLAS (for matmul) at their first use, so a missing CUDA library
    shows up only here.
    """
    a = cupy.arange(6, dtype=cupy.float32).reshape(2, 3)
    b = (a * 2.0 + 1.0) @ a.T
    host = b.get()
    if host.shape != (2, 2) or float(host[0, 0]) != 11.0:
        msg = f"a test matmul on the GPU gave {host.tolist()}, not [[11, ...]]"
        raise RuntimeError(msg)


class CupyAdapter(Adapter):
    """CuPy on NVIDIA GPUs."""

    name: ClassVar[str] = "cupy"
    _module: ClassVar[str] = "cupy"
    _install_hint: ClassVar[str] = INSTALL_HINT
    device_kinds: ClassVar[tuple[str, ...]] = ("cuda",)
    _numerics_env: ClassVar[tuple[str, ...]] = (
        "CUPY_TF32",  # 1 makes CuPy's float32 matmuls use TF32 tensor cores
        "CUPY_ACCELERATORS",  # cub/cutensor change the summation order of CuPy reductions
    )

    def _probe(self) -> BackendInfo:
        """Find out whether CuPy can create arrays and run kernels here, without raising."""
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                mod = self._import_module()
        except Exception as exc:
            reason = f"import failed: {type(exc).__name__}: {exc}; {INSTALL_HINT}"
            return BackendInfo(self.name, False, False, reason, None, ())
        if mod is None:
            return BackendInfo(self.name, False, False, f"not installed; {INSTALL_HINT}", None, ())
        version = str(mod.__version__)
        if caught:
            warning = f"{caught[0].category.__name__}: {caught[0].message}"
            reason = f"CuPy {version} is unusable because importing it warned: {warning}"
            return BackendInfo(self.name, True, False, reason, version, ())
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                usable = bool(mod.is_available())
                count = int(mod.cuda.runtime.getDeviceCount()) if usable else 0
                if count:
                    _smoke_test(mod)
        except Exception as exc:  # CUDA raises its own error types when no driver exists
            usable, count = False, 0
            detail = f"{type(exc).__name__}: {exc}"
        else:
            detail = "cupy.is_available() is False: no CUDA driver or GPU was found"
        if not usable or count == 0:
            reason = (
                f"CuPy {version} is installed but no usable CUDA GPU was found ({detail}); "
                f"{INSTALL_HINT}"
            )
            return BackendInfo(self.name, True, False, reason, version, ())
        devices = tuple(f"cuda:{i}" for i in range(count))
        return BackendInfo(self.name, True, True, "", version, devices)

    def owns(self, x: object) -> bool:
        return bool(array_api_compat.is_cupy_array(x))

    def namespace(self) -> Namespace:
        return importlib.import_module("array_api_compat.cupy")

    def parse_device(self, xp: Namespace, device: object, arg: str) -> Device:
        cupy = _cupy()
        if isinstance(device, cupy.cuda.Device):
            return device
        index = 0 if device is None else cuda_index(device, arg)
        devices = self.info().devices
        if f"cuda:{index}" not in devices:
            shown = arg_setting(arg, device)
            msg = f"{shown}: there is no CUDA device {index}; CuPy sees {devices}"
            raise BackendUnavailableError(msg)
        return cupy.cuda.Device(index)

    def device_name(self, device: Device) -> str:
        return f"cuda:{device.id}"

    def activate(self, device: Device) -> contextlib.AbstractContextManager[Any]:
        """CuPy runs kernels and allocates on the *current* device, whatever the arrays'.

        array-api-compat's creation functions ignore ``device=`` for CuPy, so a
        model on ``cuda:1`` computes inside ``with cupy.cuda.Device(1)``.
        """
        context: contextlib.AbstractContextManager[Any] = device
        return context

    def memory_available(self, device: Device) -> int | None:
        with device:
            free, _ = _cupy().cuda.runtime.memGetInfo()
        return int(free)

    def synchronize(self, device: Device) -> None:
        device.synchronize()

    def to_host(self, x: Array) -> np.ndarray:
        return np.asarray(x.get())

    def _numerics(self) -> Numerics:
        """CuPy's float32 matmul compute type, its CUDA versions and GPU names."""
        core = importlib.import_module("cupy._core")

        def compute_type() -> str:
            linalg = importlib.import_module("cupy._core._routines_linalg")
            code = core.get_compute_type(np.float32)
            names = {
                getattr(linalg, n): n.removeprefix("COMPUTE_TYPE_")
                for n in dir(linalg)
                if n.startswith("COMPUTE_TYPE_")
            }
            return names.get(code, str(code))

        found = Numerics({"cupy float32 matmul compute type": read_setting(compute_type)})
        if self.info().available:
            runtime = _cupy().cuda.runtime
            found.versions["cupy CUDA runtime"] = str(read_setting(runtime.runtimeGetVersion))
            found.versions["CUDA driver"] = str(read_setting(runtime.driverGetVersion))
            for i in range(int(runtime.getDeviceCount())):
                name = runtime.getDeviceProperties(i)["name"]
                found.gpus.append(f"cuda:{i} {name.decode() if isinstance(name, bytes) else name}")
        return found

    def _reduced_precision(self, numerics: Numerics, env: dict[str, str]) -> list[str]:
        reduced = []
        if env.get("CUPY_TF32", "0") not in ("", "0"):
            reduced.append(f"CUPY_TF32={env['CUPY_TF32']}")
        compute = numerics.settings.get("cupy float32 matmul compute type")
        if compute in _REDUCED_COMPUTE_TYPES:
            reduced.append(f"cupy float32 matmul compute type is {compute}")
        return reduced


ADAPTER = CupyAdapter()
