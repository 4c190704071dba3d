"""The one module that knows which array libraries exist.

Everything else in mlp_xp is written once against the Python Array API and is
handed a namespace ``xp``.  This module finds that namespace for arrays the user
passes in, turns backend names and device strings into a namespace and a device,
and moves arrays to and from the host for I/O.  Nothing here does any maths.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import importlib.util
import numbers
import os
import platform
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any, NamedTuple, TypeAlias

import array_api_compat
import numpy as np

Array: TypeAlias = Any
"""Any array that follows the Array API standard."""
Namespace: TypeAlias = Any
"""An Array API namespace, such as ``array_api_compat.torch``."""
Device: TypeAlias = Any
"""A device object of some namespace (``"cpu"``, ``torch.device``, ``cupy.cuda.Device``...)."""

BACKENDS: tuple[str, ...] = ("numpy", "cupy", "torch", "array_api_strict", "dask")
"""Every backend name mlp_xp knows, in order of preference for display."""
BACKEND_CHOICES: tuple[str, ...] = ("auto", *BACKENDS)
FLOAT_DTYPES: tuple[str, ...] = ("float32", "float64")

_CUPY_INSTALL_HINT = (
    "on a machine with an NVIDIA GPU and its driver, install the CuPy extra: "
    "pip install 'mlp_xp[cuda12]' (CUDA 12) or 'mlp_xp[cuda13]' (CUDA 13)"
)
_INSTALL_HINTS = {
    "numpy": "pip install numpy",
    "cupy": _CUPY_INSTALL_HINT,
    "torch": "pip install torch",
    "array_api_strict": "pip install array-api-strict (or 'mlp_xp[test]')",
    "dask": "pip install 'dask[array,distributed]' (or 'mlp_xp[dask]')",
}
LAZY_BACKENDS: dict[str, str] = {
    "dask": (
        "dask schedules every step as a task graph and reads the new parameters back, "
        "about 50 ms a step here, so the 200-step check takes about 25 s"
    ),
}
"""Backends that record a graph instead of computing, and why long step-by-step loops are slow."""
_MODULES = {
    "numpy": "numpy",
    "cupy": "cupy",
    "torch": "torch",
    "array_api_strict": "array_api_strict",
    "dask": "dask.array",
}


class BackendUnavailableError(ValueError):
    """A backend or device that exists by name but cannot be used on this machine."""


@dataclass(frozen=True)
class BackendInfo:
    """What mlp_xp found out about one backend on this machine.

    Attributes
    ----------
    name : str
        The backend's name, one of ``BACKENDS``.
    installed : bool
        Whether its Python package can be imported.
    available : bool
        Whether arrays can be created with it here (for CuPy: a usable CUDA GPU).
    reason : str
        Why it is not available; empty when it is.
    version : str or None
        The package version, when installed.
    devices : tuple of str
        The device strings it accepts here, e.g. ``("cpu", "cuda:0")``.
    """

    name: str
    installed: bool
    available: bool
    reason: str
    version: str | None
    devices: tuple[str, ...]


class Placement(NamedTuple):
    """A namespace and a device on it: where arrays live."""

    name: str
    xp: Namespace
    device: Device


# --------------------------------------------------------------------------- discovery


def _import(name: str) -> ModuleType | None:
    """Import a backend's package, or return None when it is not installed."""
    module = _MODULES[name]
    top = module.split(".")[0]
    if importlib.util.find_spec(top) is None:
        return None
    return importlib.import_module(module)


def _probe_cupy() -> BackendInfo:
    """Find out whether CuPy can create arrays here, without raising."""
    mod = _import("cupy")
    if mod is None:
        return BackendInfo("cupy", False, False, f"not installed; {_CUPY_INSTALL_HINT}", None, ())
    version = str(mod.__version__)
    try:
        usable = bool(mod.is_available())
        count = int(mod.cuda.runtime.getDeviceCount()) if usable else 0
    except Exception as exc:  # CUDA raises its own error types when no driver exists
        usable, count = False, 0
        detail = f"{type(exc).__name__}: {exc}"
    else:
        detail = "cupy.is_available() is False: no CUDA driver or GPU was found"
    if not usable or count == 0:
        reason = (
            f"CuPy {version} is installed but no usable CUDA GPU was found ({detail}); "
            f"{_CUPY_INSTALL_HINT}"
        )
        return BackendInfo("cupy", True, False, reason, version, ())
    devices = tuple(f"cuda:{i}" for i in range(count))
    return BackendInfo("cupy", True, True, "", version, devices)


def _probe(name: str) -> BackendInfo:
    """Find out whether one backend is usable here."""
    if name == "cupy":
        return _probe_cupy()
    try:
        mod = _import(name)
    except Exception as exc:  # a broken install is reported, not raised
        return BackendInfo(name, False, False, f"import failed: {exc}", None, ())
    if mod is None:
        return BackendInfo(name, False, False, f"not installed; {_INSTALL_HINTS[name]}", None, ())
    version = _version_of(name, mod)
    devices: tuple[str, ...] = ("cpu",)
    if name == "torch":
        count = int(mod.cuda.device_count()) if mod.cuda.is_available() else 0
        devices = ("cpu", *(f"cuda:{i}" for i in range(count)))
    elif name == "array_api_strict":
        devices = tuple(_strict_device_name(d) for d in mod.__array_namespace_info__().devices())
    return BackendInfo(name, True, True, "", version, devices)


def _strict_device_name(device: object) -> str:
    """``"device1"`` for ``array_api_strict.Device('device1')``."""
    return str(device).partition("('")[2].rstrip("')") or str(device)


def _version_of(name: str, mod: ModuleType) -> str:
    """The installed version of a backend's top-level package."""
    top = importlib.import_module(_MODULES[name].split(".")[0])
    return str(getattr(top, "__version__", getattr(mod, "__version__", "unknown")))


@functools.cache
def backend_info(name: str) -> BackendInfo:
    """Return what is known about backend ``name`` (cached; probing CUDA is slow)."""
    if name not in BACKENDS:
        msg = f"unknown backend {name!r}; valid names are: {', '.join(BACKEND_CHOICES)}"
        raise ValueError(msg)
    return _probe(name)


def available_backends() -> dict[str, BackendInfo]:
    """Report, for every backend mlp_xp knows, whether it is usable here and why not.

    Returns
    -------
    dict of str to BackendInfo
        Keyed by backend name, in the order of ``BACKENDS``.

    Examples
    --------
    >>> import mlp_xp
    >>> mlp_xp.available_backends()["numpy"].available
    True
    """
    return {name: backend_info(name) for name in BACKENDS}


# --------------------------------------------------------------------------- namespaces


def _numpy_namespace() -> Namespace:
    """NumPy itself where it implements the standard (NumPy >= 2.1), else the compat wrapper.

    Plain NumPy skips a layer of Python wrappers on every call, which matters for
    tiny, overhead-bound networks.
    """
    if getattr(np, "__array_api_version__", "2022.12") >= "2023.12":
        return np
    return array_api_compat.array_namespace(np.empty(0))


def _namespace_module(name: str) -> Namespace:
    """The Array API namespace for backend ``name``."""
    if name == "numpy":
        return _numpy_namespace()
    if name == "array_api_strict":
        return importlib.import_module("array_api_strict")
    return importlib.import_module(f"array_api_compat.{_MODULES[name]}")


def namespace_of(**arrays: Array) -> Namespace:
    """Return the one Array API namespace that all named arrays belong to.

    Parameters
    ----------
    **arrays : array
        The arrays, keyed by the argument names the user knows them by.  The names
        only appear in error messages.

    Raises
    ------
    TypeError
        When an argument is not an array, or the arrays come from different libraries.
    """
    kinds: dict[str, str] = {}
    for arg, value in arrays.items():
        if not array_api_compat.is_array_api_obj(value):
            msg = (
                f"{arg} must be an array (numpy, cupy, torch, array_api_strict or dask), "
                f"got {type(value).__module__}.{type(value).__qualname__}"
            )
            raise TypeError(msg)
        kinds[arg] = backend_name_of(value)
    if len(set(kinds.values())) > 1:
        listing = ", ".join(f"{arg} is {kind}" for arg, kind in kinds.items())
        msg = (
            f"arrays from different libraries cannot be mixed: {listing}; "
            "move them to one backend first, e.g. with mlp_xp.to_backend(array, 'numpy')"
        )
        raise TypeError(msg)
    return _namespace_module(next(iter(kinds.values())))


def backend_name_of(x: Array) -> str:
    """The mlp_xp backend name for an array, e.g. ``"torch"``."""
    if array_api_compat.is_numpy_array(x):
        return "numpy"
    if array_api_compat.is_cupy_array(x):
        return "cupy"
    if array_api_compat.is_torch_array(x):
        return "torch"
    if array_api_compat.is_dask_array(x):
        return "dask"
    module = type(x).__module__.split(".")[0]
    if module == "array_api_strict":
        return "array_api_strict"
    msg = f"arrays of type {type(x).__module__}.{type(x).__qualname__} are not supported"
    raise TypeError(msg)


def device_of(x: Array) -> Device:
    """The device an array lives on."""
    return array_api_compat.device(x)


# --------------------------------------------------------------------------- resolution


def _parse_cuda_index(device: object, arg: str) -> int:
    """Turn ``"cuda"``, ``"cuda:1"``, ``"gpu"`` or ``1`` into a device index."""
    if isinstance(device, numbers.Integral) and not isinstance(device, bool):
        return int(device)
    text = str(device)
    head, _, tail = text.partition(":")
    if head in ("cuda", "gpu") and (tail == "" or tail.isdigit()):
        return int(tail or 0)
    msg = f"{arg}={device!r} is not a CUDA device; use 'cuda', 'cuda:N' or an integer index"
    raise ValueError(msg)


def _resolve_device(name: str, xp: Namespace, device: object, arg: str) -> Device:
    """Turn a user's device string or object into backend ``name``'s device object."""
    info = backend_info(name)
    if name == "numpy" or name == "dask":
        if device is None or str(device) == "cpu":
            return "cpu"
        msg = f"{arg}={device!r} is not a {name} device; {name} only has 'cpu'"
        raise ValueError(msg)
    if name == "array_api_strict":
        known = {_strict_device_name(d): d for d in xp.__array_namespace_info__().devices()}
        if device is None or str(device) == "cpu":
            return xp.Device("CPU_DEVICE")
        key = device if isinstance(device, str) else _strict_device_name(device)
        if key in known:
            return known[key]
        msg = f"{arg}={device!r} is not an array_api_strict device; valid: {', '.join(known)}"
        raise ValueError(msg)
    if name == "torch":
        torch = importlib.import_module("torch")
        try:
            dev = torch.device("cpu" if device is None else device)
        except (RuntimeError, TypeError) as exc:
            msg = f"{arg}={device!r} is not a torch device ({exc}); valid here: {info.devices}"
            raise ValueError(msg) from None
        if dev.type == "cuda":
            index = 0 if dev.index is None else dev.index
            if f"cuda:{index}" not in info.devices:
                msg = (
                    f"{arg}={device!r}: torch sees no CUDA device {index} here; "
                    f"usable torch devices are {', '.join(info.devices)}"
                )
                raise BackendUnavailableError(msg)
            dev = torch.device("cuda", index)
        return dev
    # cupy
    cupy = importlib.import_module("cupy")
    if isinstance(device, cupy.cuda.Device):
        return device
    index = 0 if device is None else _parse_cuda_index(device, arg)
    if f"cuda:{index}" not in info.devices:
        msg = f"{arg}={device!r}: there is no CUDA device {index}; CuPy sees {info.devices}"
        raise BackendUnavailableError(msg)
    return cupy.cuda.Device(index)


def resolve(backend: str | None = "auto", device: object = None) -> Placement:
    """Turn a backend name and a device string into a namespace and a device.

    Parameters
    ----------
    backend : {"auto", "numpy", "cupy", "torch", "array_api_strict", "dask"}
        ``"auto"`` picks CuPy when a CUDA GPU is usable, else NumPy.  ``"cpu"``,
        ``"cuda"`` and ``"cuda:N"`` are accepted here too, meaning ``"auto"`` on
        that device.
    device : str, int, device object or None
        A device of that backend: ``"cpu"``, ``"cuda"``, ``"cuda:1"``, or
        ``"device1"`` for array_api_strict.  None means the backend's default.

    Raises
    ------
    ValueError
        For an unknown backend or device name (the message lists the valid ones).
    BackendUnavailableError
        When the backend or device exists but cannot be used on this machine.
    """
    name = "auto" if backend is None else backend
    if not isinstance(name, str):
        msg = f"backend must be a string, one of {', '.join(BACKEND_CHOICES)}; got {name!r}"
        raise TypeError(msg)
    if name == "cpu" or name.startswith(("cuda", "gpu")):
        if device is not None:
            msg = f"backend={name!r} already names a device; pass device=None"
            raise ValueError(msg)
        name, device = "auto", name
    if name == "auto":
        if device is not None and str(device) == "cpu":
            name = "numpy"
        elif device is not None:
            name = "cupy"
        else:
            name = "cupy" if backend_info("cupy").available else "numpy"
    if name not in BACKENDS:
        msg = f"unknown backend {name!r}; valid names are: {', '.join(BACKEND_CHOICES)}"
        raise ValueError(msg)
    info = backend_info(name)
    if not info.available:
        msg = f"backend {name!r} is not usable here: {info.reason}"
        raise BackendUnavailableError(msg)
    xp = _namespace_module(name)
    return Placement(name, xp, _resolve_device(name, xp, device, "device"))


def device_name(placement: Placement) -> str:
    """The device as a string that :func:`resolve` accepts back, e.g. ``"cuda:0"``."""
    if placement.name in ("numpy", "dask"):
        return "cpu"
    if placement.name == "array_api_strict":
        return _strict_device_name(placement.device)
    if placement.name == "cupy":
        return f"cuda:{placement.device.id}"
    return str(placement.device)


def placement_of(x: Array) -> Placement:
    """Where an existing array lives, as a Placement."""
    name = backend_name_of(x)
    return Placement(name, _namespace_module(name), device_of(x))


def float_dtype(xp: Namespace, dtype: object = None, device: Device = None) -> Any:
    """Turn ``"float32"``, ``"float64"``, a dtype object or None into ``xp``'s dtype.

    None means the namespace's default real floating dtype on that device
    (float64 for NumPy and CuPy, float32 for PyTorch).
    """
    if dtype is None:
        return xp.__array_namespace_info__().default_dtypes(device=device)["real floating"]
    name = dtype_name(dtype)
    if name not in FLOAT_DTYPES:
        msg = f"dtype={dtype!r} is not supported; use one of {', '.join(FLOAT_DTYPES)}"
        raise TypeError(msg)
    return getattr(xp, name)


def dtype_name(dtype: object) -> str:
    """A dtype's short name, e.g. ``"float32"``, for any namespace's dtype object."""
    if isinstance(dtype, str):
        return dtype
    if isinstance(dtype, np.dtype):
        return dtype.name
    if isinstance(dtype, type):  # NumPy scalar types such as numpy.float32
        return dtype.__name__
    text = str(dtype)
    for prefix in ("torch.", "array_api_strict.", "dtype('"):
        text = text.removeprefix(prefix)
    return text.rstrip("')")


# --------------------------------------------------------------------------- host I/O


def host_rng(seed: object) -> np.random.Generator:
    """The host random generator every backend draws its numbers from.

    All backends start from identical numbers because the draws happen here, in
    float64 on the host, and are then cast and moved.
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        return np.random.default_rng()
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
        return np.random.default_rng(int(seed))
    msg = f"seed must be an int, None or a numpy.random.Generator, got {seed!r}"
    raise TypeError(msg)


def to_host(x: Array) -> np.ndarray:
    """Copy an array of any backend to a NumPy array on the host (for I/O only)."""
    name = backend_name_of(x)
    if name == "numpy":
        return np.asarray(x)
    if name == "cupy":
        return np.asarray(x.get())
    if name == "torch":
        return np.asarray(x.detach().cpu().numpy())
    if name == "dask":
        return np.asarray(x.compute())
    # array_api_strict refuses np.asarray off its default device; DLPack works on all.
    return np.array(np.from_dlpack(x), copy=True)


def from_host(a: Any, placement: Placement, dtype: object = None) -> Array:
    """Move host data (NumPy array, list or scalar) into ``placement`` as a float array.

    ``dtype`` is a name, a dtype object, or None for the backend's default float.
    """
    host = np.asarray(a)
    xp, device = placement.xp, placement.device
    target = float_dtype(xp, dtype, device)
    if placement.name == "dask":
        return _dask_from_host(host.astype(dtype_name(target), copy=False))
    return xp.asarray(host, dtype=target, device=device)


_DASK_SEND_ONCE_BYTES = 2**20
"""Host arrays from this size on are persisted when placed on dask (see below)."""


def _dask_from_host(host: np.ndarray) -> Array:
    """A host array as a dask array chunked by rows only (dask sizes the row chunks).

    Every row chunk holds whole rows: mini-batches are row slices, and a batch
    must not need a gather across feature blocks.  The chunks sit in the graph
    as data; data sets (1 MiB and more) are persisted at once, so that they
    travel to a cluster's workers once rather than with every computation
    that reads them.  Their graph keeps the host chunks as the source from
    which a lost worker's chunks are recomputed.
    """
    import dask.array as da

    chunks: Any = "auto"
    if host.ndim > 1:
        chunks = {0: "auto", **dict.fromkeys(range(1, host.ndim), -1)}
    placed = da.from_array(host, chunks=chunks)
    if host.nbytes >= _DASK_SEND_ONCE_BYTES:
        placed = placed.persist()
    return placed


def move(x: Any, placement: Placement, dtype: object = None) -> Array:
    """``x`` (an array of any backend, or host data) in ``placement``, as ``dtype``.

    Arrays already in the right namespace and on the right device stay there and
    are only cast if needed; anything else goes through the host once.
    """
    same = array_api_compat.is_array_api_obj(x) and backend_name_of(x) == placement.name
    if same and (placement.name == "dask" or device_of(x) == placement.device):
        if dtype is None:
            return x
        return placement.xp.astype(x, float_dtype(placement.xp, dtype, placement.device))
    host = to_host(x) if array_api_compat.is_array_api_obj(x) else np.asarray(x)
    if dtype is None and host.dtype.kind != "f":
        if placement.name == "dask":
            return _dask_from_host(host)
        return placement.xp.asarray(host, device=placement.device)
    return from_host(host, placement, dtype if dtype is not None else str(host.dtype))


def is_array(x: object) -> bool:
    """Whether ``x`` is an array of a supported namespace (NumPy included)."""
    return bool(array_api_compat.is_array_api_obj(x))


def floating_point_errors_ignored(placement: Placement) -> contextlib.AbstractContextManager[Any]:
    """Silence NumPy's overflow/invalid warnings while training.

    A diverging run is detected from its loss once per epoch and reported with
    the epoch and a suggestion; NumPy's per-operation warnings would only repeat
    that less clearly.  Other namespaces do not warn.
    """
    if placement.name == "numpy":
        return np.errstate(over="ignore", invalid="ignore", divide="ignore")
    return contextlib.nullcontext()


def synchronize(placement: Placement) -> None:
    """Wait until the device has finished all queued work (for timing; no-op on the CPU)."""
    if placement.name == "cupy":
        placement.device.synchronize()
    elif placement.name == "torch" and placement.device.type == "cuda":
        importlib.import_module("torch").cuda.synchronize(placement.device)


def row_index(placement: Placement, order: np.ndarray) -> Array:
    """A host integer array of row numbers, moved once to where the rows are."""
    if placement.name == "dask":
        return placement.xp.asarray(order)
    return placement.xp.asarray(order, device=placement.device)


def take_rows(placement: Placement, x: Array, order: np.ndarray) -> Array:
    """Rows ``order`` (a host integer array) of ``x``, gathered on ``x``'s device."""
    return placement.xp.take(x, row_index(placement, order), axis=0)


def to_backend(x: Array, backend: str | None = "numpy", device: object = None) -> Array:
    """Move an array to another backend and device, keeping its dtype.

    Parameters
    ----------
    x : array
        Any supported array, or a NumPy-convertible object.
    backend, device : str
        As in :func:`resolve`.
    """
    host = to_host(x) if array_api_compat.is_array_api_obj(x) else np.asarray(x)
    placement = resolve(backend, device)
    if host.dtype.kind == "f":
        return from_host(host, placement, str(host.dtype))
    if placement.name == "dask":
        return _dask_from_host(host)
    return placement.xp.asarray(host, device=placement.device)


# --------------------------------------------------------------------------- environment

# Environment variables that change what a float32 matmul or a reduction computes on a GPU.
_NUMERICS_ENV_VARS: tuple[str, ...] = (
    "NVIDIA_TF32_OVERRIDE",  # 0 switches TF32 off in every CUDA library, whatever they ask
    "TORCH_ALLOW_TF32_CUBLAS_OVERRIDE",  # 1 switches TF32 on for PyTorch's cuBLAS calls
    "CUPY_TF32",  # 1 makes CuPy's float32 matmuls use TF32 tensor cores
    "CUPY_ACCELERATORS",  # cub/cutensor change the summation order of CuPy reductions
    "CUBLAS_WORKSPACE_CONFIG",  # needed for deterministic cuBLAS results with streams
)
# float32 compute types of cuBLAS that round the inputs below float32 precision.
_REDUCED_COMPUTE_TYPES = frozenset({"TF32", "FP16", "BF16"})


def _read(probe: Callable[[], object]) -> object:
    """The value a settings probe returns, or why it could not be read (never raises)."""
    try:
        with warnings.catch_warnings():
            # Some PyTorch versions warn that a legacy TF32 flag is deprecated.
            warnings.simplefilter("ignore")
            value = probe()
    except Exception as exc:  # a probe must not stop a report
        return f"unreadable ({type(exc).__name__}: {exc})"
    return value if isinstance(value, (bool, int, float)) else str(value)


def _blas() -> str:
    """The BLAS library NumPy was built against (its summation order shapes float results)."""
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{blas['name']} {blas.get('version', '')}".strip()
    except Exception:  # older NumPy, or a build without that information
        return "unknown"


def _torch_numerics(gpus: dict[str, list[str]], versions: dict[str, str | None]) -> dict:
    """PyTorch's float32 matmul settings, its CUDA version and GPU names."""
    torch = importlib.import_module("torch")
    matmul = torch.backends.cuda.matmul
    settings = {
        "torch.get_float32_matmul_precision()": _read(torch.get_float32_matmul_precision),
        "torch.backends.cuda.matmul.allow_tf32": _read(lambda: matmul.allow_tf32),
        # cuDNN's flag only affects convolutions, which mlp_xp never runs; shown for completeness.
        "torch.backends.cudnn.allow_tf32 (convolutions only)": _read(
            lambda: torch.backends.cudnn.allow_tf32
        ),
        "torch.get_num_threads()": _read(torch.get_num_threads),
    }
    # PyTorch >= 2.9 also has per-backend precision names ("ieee", "tf32", "none").
    if hasattr(torch.backends, "fp32_precision"):
        settings["torch.backends.fp32_precision"] = _read(lambda: torch.backends.fp32_precision)
    if hasattr(matmul, "fp32_precision"):
        settings["torch.backends.cuda.matmul.fp32_precision"] = _read(
            lambda: matmul.fp32_precision
        )
    versions["torch CUDA"] = torch.version.cuda
    if torch.cuda.is_available():
        count = int(torch.cuda.device_count())
        gpus["torch"] = [f"cuda:{i} {torch.cuda.get_device_name(i)}" for i in range(count)]
    return settings


def _cupy_numerics(gpus: dict[str, list[str]], versions: dict[str, str | None]) -> dict:
    """CuPy's float32 matmul compute type, its CUDA versions and GPU names."""
    cupy = importlib.import_module("cupy")
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

    settings = {"cupy float32 matmul compute type": _read(compute_type)}
    if backend_info("cupy").available:
        runtime = cupy.cuda.runtime
        versions["cupy CUDA runtime"] = str(_read(runtime.runtimeGetVersion))
        versions["CUDA driver"] = str(_read(runtime.driverGetVersion))
        names = []
        for i in range(int(runtime.getDeviceCount())):
            name = runtime.getDeviceProperties(i)["name"]
            names.append(f"cuda:{i} {name.decode() if isinstance(name, bytes) else name}")
        gpus["cupy"] = names
    return settings


def environment_report() -> dict[str, Any]:
    """The facts about this machine that change the numbers a backend computes.

    Returns
    -------
    dict
        ``python`` and ``platform``; ``versions`` of NumPy, array-api-compat and
        every backend (None when not installed), plus the CUDA versions in use;
        ``blas``, NumPy's BLAS library; ``gpus``, the GPU names each GPU backend
        sees; ``settings``, each float32 matmul setting of PyTorch and CuPy;
        ``env``, the environment variables that override them; and
        ``reduced_precision``, a list of the settings that make float32 matmuls
        less precise than IEEE float32 (TF32, FP16 or BF16), empty when none is on.
    """
    versions: dict[str, str | None] = {
        "numpy": np.__version__,
        "array_api_compat": str(array_api_compat.__version__),
    }
    for name in BACKENDS:
        if name != "numpy":
            info = backend_info(name)
            versions[name] = info.version if info.installed else None
    gpus: dict[str, list[str]] = {}
    settings: dict[str, object] = {}
    if backend_info("torch").installed:
        settings.update(_torch_numerics(gpus, versions))
    if backend_info("cupy").installed:
        settings.update(_cupy_numerics(gpus, versions))
    env = {name: os.environ[name] for name in _NUMERICS_ENV_VARS if name in os.environ}

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
    if env.get("CUPY_TF32", "0") not in ("", "0"):
        reduced.append(f"CUPY_TF32={env['CUPY_TF32']}")
    if settings.get("cupy float32 matmul compute type") in _REDUCED_COMPUTE_TYPES:
        reduced.append(
            f"cupy float32 matmul compute type is {settings['cupy float32 matmul compute type']}"
        )
    if env.get("NVIDIA_TF32_OVERRIDE") == "0" and reduced:
        reduced.append("(but NVIDIA_TF32_OVERRIDE=0 switches TF32 off in the CUDA libraries)")
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": versions,
        "blas": _blas(),
        "gpus": gpus,
        "settings": settings,
        "env": env,
        "reduced_precision": reduced,
    }


# --------------------------------------------------------------------------- lazy backends
#
# Dask builds a task graph instead of computing.  The two functions below are
# the only places where the training loop lets a backend know that a step or a
# data set is complete; on every eager backend they return their input.


def is_lazy(x: object) -> bool:
    """Whether ``x`` is a lazy array (dask) whose data may not fit in memory."""
    return bool(array_api_compat.is_dask_array(x))


def _tree_leaves(tree: Any, leaves: list[Any]) -> None:
    """Append the leaves of a tree of tuples (NamedTuples included) to ``leaves``."""
    if isinstance(tree, tuple):
        for child in tree:
            _tree_leaves(child, leaves)
    else:
        leaves.append(tree)


def _tree_rebuild(tree: Any, leaves: Iterator[Any]) -> Any:
    """``tree`` with its leaves replaced, in order, by those of ``leaves``."""
    if isinstance(tree, tuple):
        children = [_tree_rebuild(child, leaves) for child in tree]
        return tuple(children) if type(tree) is tuple else type(tree)(*children)
    return next(leaves)


def materialize(placement: Placement, tree: Any, *, here: bool = False) -> Any:
    """Compute the lazy arrays of a small tree: gradients, parameters, optimizer state, losses.

    The training loop calls this after each step.  It is the identity on every
    backend but dask.  On dask it computes every lazy leaf in one
    ``dask.compute`` call (shared work done once) and wraps each value again as
    a one-chunk dask array.  The next step's graph then starts from these values
    instead of from the whole history of steps, so it does not grow.

    ``dask.persist`` would keep the values on the workers, but on a distributed
    scheduler each persisted result keeps the graph that made it: the
    scheduler's task table grows with every step, and a lost worker makes it
    replay every step since the start.  Reading the small tree back is the
    parameter broadcast of synchronous data-parallel training: the client sends
    the new parameters with the next step's graph.

    Parameters
    ----------
    placement : Placement
        Where the tree lives.
    tree : array, number or tuple of those (NamedTuples included)
    here : bool
        The tree's graph reads only small arrays already in this process (the
        optimizer's update of computed gradients): compute it here with dask's
        synchronous scheduler.  On a cluster, each of its few dozen one-chunk
        tasks would otherwise cost a scheduler round trip.

    Returns
    -------
    The same structure, with every dask array computed.
    """
    if placement.name != "dask":
        return tree
    import dask
    import dask.array as da

    leaves: list[Any] = []
    _tree_leaves(tree, leaves)
    lazy = [i for i, leaf in enumerate(leaves) if array_api_compat.is_dask_array(leaf)]
    scheduler = "sync" if here else None
    values = dask.compute(*(leaves[i] for i in lazy), scheduler=scheduler, optimize_graph=not here)
    for i, value in zip(lazy, values):
        # A 0-d result comes back as a NumPy scalar; from_array wants an array.
        data = np.asarray(value) if isinstance(value, np.generic) else value
        leaves[i] = da.from_array(data, chunks=data.shape)
    return _tree_rebuild(tree, iter(leaves))


def dask_worker_threads() -> int:
    """Threads of the current ``dask.distributed`` client's workers, or 1 without one."""
    if importlib.util.find_spec("distributed") is None:
        return 1
    from distributed import default_client

    try:
        client = default_client()
    except ValueError:  # no client: dask's local threaded scheduler
        return 1
    return max(1, sum(client.nthreads().values()))


def _aligned(block: Any) -> Any:
    """A chunk in memory of its own, aligned for its dtype.

    Host data reaches a worker inside a message, at any byte offset; NumPy
    runs its matrix products on unaligned float arrays without BLAS, up to
    2.5 times slower (measured), so each kept chunk is copied once.
    """
    if isinstance(block, np.ndarray) and not block.flags.aligned:
        return block.copy()
    return block


def shard_rows(
    placement: Placement,
    X: Array,
    Y: Array,
    *,
    batch_size: int,
    x_in_memory: bool,
    y_in_memory: bool,
) -> tuple[Array, Array]:
    """Lay ``X`` and ``Y`` out for mini-batches that are row slices.

    Eager backends get ``X`` and ``Y`` back unchanged.  On dask:

    * ``X`` chunked along its features is refused: a batch must be a row slice
      of whole chunks, never a gather across column blocks.
    * ``X`` from host memory (``x_in_memory``) is split into chunks of
      ``ceil(batch_size / workers)`` rows, so that a batch slice covers one
      chunk per worker thread and the partial products of a step run in
      parallel.  A lazy ``X`` keeps its row chunks: reading them is the source's
      business.
    * ``Y`` gets the row chunks of ``X`` and one block of columns.
    * Arrays from host memory are persisted: sent to the workers once, rather
      than with every step's graph.  The graph keeps the host chunks as their
      source, so a lost worker's chunks are recomputed from them.

    Parameters
    ----------
    placement : Placement
    X : array, shape (n_samples, n_features)
    Y : array, shape (n_samples, n_outputs)
    batch_size : int
        The mini-batch size the chunks are cut for.
    x_in_memory, y_in_memory : bool
        Whether the user's ``X`` (``Y``) came from host memory rather than as a
        lazy array.

    Raises
    ------
    ValueError
        When ``X`` is chunked along its features.
    """
    if placement.name != "dask":
        return X, Y
    import dask

    if len(X.chunks[1]) > 1:
        rows = X.chunks[0][0]
        msg = (
            f"X is chunked along its features (chunks[1] = {X.chunks[1]}); mini-batches "
            "are row slices, so every chunk must hold whole rows. Rechunk it first, e.g. "
            f"X = X.rechunk({{0: {rows}, 1: -1}})"
        )
        raise ValueError(msg)
    if x_in_memory:
        threads = dask_worker_threads()
        rows_per_chunk = max(1, -(-int(batch_size) // threads))
        X = X.rechunk({0: rows_per_chunk, 1: -1}).map_blocks(_aligned, dtype=X.dtype)
    if Y.chunks[0] != X.chunks[0] or len(Y.chunks[1]) > 1:
        Y = Y.rechunk({0: X.chunks[0], 1: -1})
    if y_in_memory:
        Y = Y.map_blocks(_aligned, dtype=Y.dtype)
    keep = [a for a, flag in ((X, x_in_memory), (Y, y_in_memory)) if flag]
    if keep:
        kept = iter(dask.persist(*keep))
        X = next(kept) if x_in_memory else X
        Y = next(kept) if y_in_memory else Y
    return X, Y
