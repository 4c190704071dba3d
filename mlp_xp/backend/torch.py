"""The PyTorch adapter: CPU and CUDA tensors through array-api-compat's torch namespace."""

from __future__ import annotations

import importlib
import warnings
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
    host_memory_available,
    read_setting,
)


def _torch() -> Any:
    return importlib.import_module("torch")


class TorchAdapter(Adapter):
    """PyTorch, eager, on the CPU or a CUDA GPU."""

    name: ClassVar[str] = "torch"
    _module: ClassVar[str] = "torch"
    _install_hint: ClassVar[str] = "pip install torch"
    # One sum instead of select, ones_like and mv: on tiny (1000 x 8) 2.5 us against
    # 6.7 us on the CPU, and the step 32 -> 30 torch calls (benchmarks/torch_calls.py).
    column_sums: ClassVar[str] = "reduction"
    device_kinds: ClassVar[tuple[str, ...]] = ("cpu", "cuda")
    _numerics_env: ClassVar[tuple[str, ...]] = (
        "TORCH_ALLOW_TF32_CUBLAS_OVERRIDE",  # 1 switches TF32 on for PyTorch's cuBLAS calls
    )

    cuda_reason: str = ""
    """Why CUDA is not usable although torch is: what asking for it warned."""

    def _list_devices(self, mod: ModuleType) -> tuple[str, ...]:
        """The CPU, and each CUDA device unless asking for them warned (an old driver)."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            count = int(mod.cuda.device_count()) if mod.cuda.is_available() else 0
        if caught:
            self.cuda_reason = f"{caught[0].category.__name__}: {caught[0].message}"
            count = 0
        return ("cpu", *(f"cuda:{i}" for i in range(count)))

    def owns(self, x: object) -> bool:
        return bool(array_api_compat.is_torch_array(x))

    def namespace(self) -> Namespace:
        return importlib.import_module("array_api_compat.torch")

    def parse_device(self, xp: Namespace, device: object, arg: str) -> Device:
        torch = _torch()
        devices = self.info().devices
        try:
            dev = torch.device("cpu" if device is None else device)
        except (RuntimeError, TypeError) as exc:
            shown = arg_setting(arg, device)
            msg = f"{shown} is not a torch device ({exc}); valid here: {devices}"
            raise ValueError(msg) from None
        if dev.type not in ("cpu", "cuda"):
            msg = (
                f"{arg_setting(arg, device)}: mlp_xp runs torch on the CPU or CUDA only; "
                f"usable torch devices are {', '.join(devices)}"
            )
            raise BackendUnavailableError(msg)
        if dev.type == "cuda":
            index = 0 if dev.index is None else dev.index
            if f"cuda:{index}" not in devices:
                why = f" ({self.cuda_reason})" if self.cuda_reason else ""
                msg = (
                    f"{arg_setting(arg, device)}: torch sees no CUDA device {index} here{why}; "
                    f"usable torch devices are {', '.join(devices)}"
                )
                raise BackendUnavailableError(msg)
            dev = torch.device("cuda", index)
        return dev

    def device_name(self, device: Device) -> str:
        return str(device)

    def memory_available(self, device: Device) -> int | None:
        """The host's free memory for the CPU; the CUDA driver's free bytes for a GPU."""
        if device.type != "cuda":
            return host_memory_available()
        free, _ = _torch().cuda.mem_get_info(device)
        return int(free)

    def synchronize(self, device: Device) -> None:
        if device.type == "cuda":
            _torch().cuda.synchronize(device)

    def to_host(self, x: Array) -> np.ndarray:
        return np.asarray(x.detach().cpu().numpy())

    def from_host(self, host: np.ndarray, xp: Namespace, device: Device, dtype: Any) -> Array:
        """A tensor of host data; a read-only array already in ``dtype`` is shared, quietly.

        ``torch.asarray`` shares a CPU array's memory when no cast is needed,
        and warns once per process when the array is read-only (a pandas
        DataFrame's values, a memory-mapped ``.npy``).  mlp_xp never writes into
        its inputs, so sharing is safe, and a copy would double the data.
        """
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore", message="The given NumPy array is not writable", category=UserWarning
            )
            return super().from_host(host, xp, device, dtype)

    def _numerics(self) -> Numerics:
        """PyTorch's float32 matmul settings, its CUDA version and GPU names."""
        torch = _torch()
        matmul = torch.backends.cuda.matmul
        settings = {
            "torch.get_float32_matmul_precision()": read_setting(
                torch.get_float32_matmul_precision
            ),
            "torch.backends.cuda.matmul.allow_tf32": read_setting(lambda: matmul.allow_tf32),
            # cuDNN's flag only affects convolutions, which mlp_xp never runs.
            "torch.backends.cudnn.allow_tf32 (convolutions only)": read_setting(
                lambda: torch.backends.cudnn.allow_tf32
            ),
            "torch.get_num_threads()": read_setting(torch.get_num_threads),
        }
        # PyTorch >= 2.9 also has per-backend precision names ("ieee", "tf32", "none").
        if hasattr(torch.backends, "fp32_precision"):
            settings["torch.backends.fp32_precision"] = read_setting(
                lambda: torch.backends.fp32_precision
            )
        if hasattr(matmul, "fp32_precision"):
            settings["torch.backends.cuda.matmul.fp32_precision"] = read_setting(
                lambda: matmul.fp32_precision
            )
        gpus: list[str] = []
        if "cuda:0" in self.info().devices:
            count = int(torch.cuda.device_count())
            gpus = [f"cuda:{i} {torch.cuda.get_device_name(i)}" for i in range(count)]
        return Numerics(settings, {"torch CUDA": torch.version.cuda}, gpus)

    def _reduced_precision(self, numerics: Numerics, env: dict[str, str]) -> list[str]:
        settings = numerics.settings
        reduced = []
        precision = settings.get("torch.get_float32_matmul_precision()")
        if precision in ("high", "medium"):
            reduced.append(f"torch float32 matmul precision is {precision!r} (not 'highest')")
        if settings.get("torch.backends.cuda.matmul.allow_tf32") is True:
            reduced.append("torch.backends.cuda.matmul.allow_tf32 is True")
        for key in ("torch.backends.fp32_precision", "torch.backends.cuda.matmul.fp32_precision"):
            if settings.get(key) == "tf32":
                reduced.append(f"{key} is 'tf32'")
        if env.get("TORCH_ALLOW_TF32_CUBLAS_OVERRIDE", "0") not in ("", "0"):
            reduced.append("TORCH_ALLOW_TF32_CUBLAS_OVERRIDE is set")
        return reduced


ADAPTER = TorchAdapter()
