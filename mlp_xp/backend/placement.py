"""Where arrays live: namespaces, devices and dtypes, and moves between them (backend layer).

Everything here asks the adapter of a backend (``registry.adapter(name)``) and
never names a library itself.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import array_api_compat
import numpy as np

from ..caches import LRU
from ..validation import arg_name, arg_setting
from .adapter import (
    FLOAT_DTYPES,
    Adapter,
    Array,
    BackendUnavailableError,
    Device,
    Namespace,
    cuda_index,
)
from .registry import BACKEND_CHOICES, BACKENDS, HOST_BACKEND, adapter, adapter_of, adapters


class Placement(NamedTuple):
    """A namespace and a device on it: where arrays live."""

    name: str
    xp: Namespace
    device: Device

    @property
    def adapter(self) -> Adapter:
        """The adapter of this placement's library."""
        return adapter(self.name)


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
    kinds: dict[str, Adapter] = {}
    for arg, value in arrays.items():
        if not array_api_compat.is_array_api_obj(value):
            msg = (
                f"{arg} must be an array ({', '.join(BACKENDS)}), "
                f"got {type(value).__module__}.{type(value).__qualname__}"
            )
            raise TypeError(msg)
        kinds[arg] = adapter_of(value)
    if len({a.name for a in kinds.values()}) > 1:
        listing = ", ".join(f"{arg} is {kind.name}" for arg, kind in kinds.items())
        msg = (
            f"arrays from different libraries cannot be mixed: {listing}; "
            "move them to one backend first, e.g. with mlp_xp.to_backend(array, 'numpy')"
        )
        raise TypeError(msg)
    return next(iter(kinds.values())).namespace()


def device_of(x: Array) -> Device:
    """The device an array lives on."""
    return array_api_compat.device(x)


def is_array(x: object) -> bool:
    """Whether ``x`` is an array of a supported namespace (NumPy included)."""
    return bool(array_api_compat.is_array_api_obj(x))


def check_supported(x: Array, arg: str) -> None:
    """Refuse an array that its library's adapter cannot train on (dask of CuPy chunks)."""
    adapter_of(x).check_array(x, arg)


def is_lazy(x: object) -> bool:
    """Whether ``x`` is an array of a lazy library (dask) whose data may not be in memory.

    array-api-compat's :func:`~array_api_compat.is_lazy_array` also counts JAX's
    arrays, which mlp_xp computes eagerly: only a lazy adapter's count here.
    """
    return is_array(x) and adapter_of(x).lazy and array_api_compat.is_lazy_array(x)


def lazy_token(x: Array) -> str:
    """A deterministic fingerprint of a lazy array's source and rows (no data is read)."""
    return adapter_of(x).lazy_token(x)


AUTO_ORDER: tuple[str, ...] = ("cupy", HOST_BACKEND)
"""What ``backend="auto"`` picks, in order of preference: the first usable one."""
AUTO_ON_A_DEVICE: tuple[str, ...] = (*AUTO_ORDER, "torch")
"""What ``"auto"`` with a device picks from: the first usable one that has the device
(PyTorch's CUDA when CuPy is missing)."""


def _device_kind_and_name(device: object) -> tuple[str, str] | None:
    """``("cpu", "cpu")`` or ``("cuda", "cuda:N")`` for a device ``"auto"`` can place on."""
    if str(device) == "cpu":
        return "cpu", "cpu"
    try:
        return "cuda", f"cuda:{cuda_index(device, 'device')}"
    except ValueError:
        return None


def _auto(device: object) -> str:
    """The backend ``"auto"`` picks: the first usable one, or the first that has ``device``.

    Without a device: CuPy when a CUDA GPU is usable, else NumPy
    (:data:`AUTO_ORDER`).  With one (``"cuda:1"``, ``"cpu"``): the first of
    :data:`AUTO_ON_A_DEVICE` that is usable and has that device.

    Raises
    ------
    BackendUnavailableError
        When no usable backend has that GPU device; the message says why each
        GPU library cannot, and which devices are usable.
    """
    ranked = [adapter(name) for name in AUTO_ORDER]
    if device is None:
        return next(a.name for a in ranked if a.info().available)
    found = _device_kind_and_name(device)
    if found is None:  # not a CPU or a GPU: the host backend says which devices it has
        return HOST_BACKEND
    kind, name = found
    for candidate in (adapter(n) for n in AUTO_ON_A_DEVICE):
        if candidate.info().available and name in candidate.info().devices:
            return candidate.name
    claimers = [a for a in ranked if kind in a.device_kinds]
    usable = "; ".join(
        f"{a.name}: {', '.join(a.info().devices)}" for a in adapters() if a.info().available
    )
    why = "; ".join(f"{a.name}: {a.info().reason or 'it has no such device'}" for a in claimers)
    shown = arg_setting("device", device)
    msg = f"{shown}: no backend usable here has it ({why}); usable here: {usable}"
    raise BackendUnavailableError(msg)


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
            msg = (
                f"{arg_setting('backend', name)} already names a device; give no "
                f"{arg_name('device')} with it"
            )
            raise ValueError(msg)
        name, device = "auto", name
    if name == "auto":
        name = _auto(device)
    chosen = adapter(name)
    info = chosen.info()
    if not info.available:
        msg = f"backend {name!r} is not usable here: {info.reason}"
        raise BackendUnavailableError(msg)
    xp = chosen.namespace()
    return Placement(name, xp, chosen.parse_device(xp, device, "device"))


def host_placement() -> Placement:
    """NumPy on the CPU: where host data lives."""
    return resolve(HOST_BACKEND)


def device_name(placement: Placement) -> str:
    """The device as a string that :func:`resolve` accepts back, e.g. ``"cuda:0"``."""
    return placement.adapter.device_name(placement.device)


def placement_of(x: Array) -> Placement:
    """Where an existing array lives, as a Placement."""
    found = adapter_of(x)
    return Placement(found.name, found.namespace(), device_of(x))


def dtype_name(dtype: object) -> str:
    """A dtype's short name, e.g. ``"float32"``, for any namespace's dtype object."""
    if isinstance(dtype, str):
        return dtype
    if isinstance(dtype, np.dtype):
        return dtype.name
    if isinstance(dtype, type):  # NumPy scalar types such as numpy.float32
        return dtype.__name__
    text = str(dtype)
    # torch.float32, array_api_strict.float32 and dtype('float32') alike.
    text = text.rpartition(".")[2] if "(" not in text else text.partition("('")[2]
    return text.rstrip("')")


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


def to_host(x: Array) -> np.ndarray:
    """Copy an array of any backend to a NumPy array on the host (for I/O only)."""
    return adapter_of(x).to_host(x)


def from_host(a: Any, placement: Placement, dtype: object = None) -> Array:
    """Move host data (NumPy array, list or scalar) into ``placement`` as a float array.

    ``dtype`` is a name, a dtype object, or None for the backend's default float.
    """
    xp, device = placement.xp, placement.device
    target = float_dtype(xp, dtype, device)
    check_dtype(placement, target)
    return placement.adapter.from_host(np.asarray(a), xp, device, target)


def dtype_unavailable(placement: Placement, dtype: Any) -> str:
    """Why ``placement`` cannot compute in float ``dtype`` here, with the fix; "" when it can.

    JAX's float64 without x64 mode is the case in point.
    """
    name = dtype_name(dtype)
    if name in placement.adapter.float_dtypes(placement.device):
        return ""
    fix = placement.adapter.dtype_refusal(name)
    msg = f"dtype={name!r} is not available on {placement.name} here"
    return msg + (f"; {fix}" if fix else "")


def usable_dtype(placement: Placement, dtype: Any) -> str:
    """``dtype``'s name where ``placement`` computes in it, else the widest float dtype it has.

    What JAX itself does without x64 mode: float64 becomes float32.
    """
    name = dtype_name(dtype)
    usable = placement.adapter.float_dtypes(placement.device)
    if name in usable:
        return name
    return max(usable, key=lambda d: np.dtype(d).itemsize)


def check_dtype(placement: Placement, dtype: Any) -> None:
    """Refuse a float dtype the backend cannot compute in here (JAX's float64 without x64).

    Raises
    ------
    TypeError
        Naming the dtype, the backend and the fix.
    """
    why = dtype_unavailable(placement, dtype)
    if why:
        raise TypeError(why)


def _host(x: Any) -> np.ndarray:
    """An array of any backend, or host data, as a host NumPy array."""
    return to_host(x) if is_array(x) else np.asarray(x)


def move(x: Any, placement: Placement, dtype: object = None) -> Array:
    """``x`` (an array of any backend, or host data) in ``placement``, as ``dtype``.

    Arrays already in the right namespace and on the right device stay there and
    are only cast if needed (an array already in ``dtype`` is returned as is, not
    copied: ``fit`` then holds no second copy of its data); an array of the same
    library on another device, already in ``dtype``, moves there directly
    (array-api-compat's ``to_device``: GPU to GPU, no host round trip); anything
    else goes through the host once.  ``dtype`` None keeps a float array's dtype
    and any other array's too.  Callers never write into the result.
    """
    if is_array(x) and is_placed(x, placement):
        if dtype is None:
            return x
        target = float_dtype(placement.xp, dtype, placement.device)
        check_dtype(placement, target)
        return placement.xp.astype(x, target, copy=False)
    if is_array(x) and adapter_of(x).name == placement.name:
        kept = dtype_name(x.dtype)
        if dtype is None or (dtype_name(dtype) == kept and kept in FLOAT_DTYPES):
            if kept in FLOAT_DTYPES:
                check_dtype(placement, x.dtype)
            return array_api_compat.to_device(x, placement.device)
    host = _host(x)
    if dtype is None and host.dtype.kind != "f":
        return placement.adapter.from_host(host, placement.xp, placement.device, None)
    return from_host(host, placement, dtype if dtype is not None else str(host.dtype))


def is_placed(x: Array, placement: Placement) -> bool:
    """Whether the array ``x`` is in ``placement``'s namespace and on its device."""
    found = adapter_of(x)
    return found.name == placement.name and bool(device_of(x) == placement.device)


def to_backend(x: Array, backend: str | None = "numpy", device: object = None) -> Array:
    """Move an array to another backend and device, keeping its dtype.

    Parameters
    ----------
    x : array
        Any supported array, or a NumPy-convertible object.
    backend, device : str
        As in :func:`resolve`.
    """
    host = _host(x)
    placement = resolve(backend, device)
    if host.dtype.kind == "f":
        return from_host(host, placement, str(host.dtype))
    return placement.adapter.from_host(host, placement.xp, placement.device, None)


def row_index(placement: Placement, order: np.ndarray) -> Array:
    """A host integer array of row numbers, moved once to where the rows are."""
    return placement.adapter.index_array(placement.xp, placement.device, order)


def take_rows(placement: Placement, x: Array, order: np.ndarray) -> Array:
    """Rows ``order`` (a host integer array) of ``x``, gathered on ``x``'s device."""
    return placement.xp.take(x, row_index(placement, order), axis=0)


def on_device(placement: Placement) -> contextlib.AbstractContextManager[Any]:
    """A context in which new arrays and kernels go to ``placement``'s device.

    Entered at the public boundaries (fit, predict, the public maths, a parity
    run): CuPy otherwise computes on its current device, not the arrays'.
    """
    return placement.adapter.activate(placement.device)


def device_scope(x: Array) -> contextlib.AbstractContextManager[Any]:
    """:func:`on_device` for the placement of the array ``x``."""
    return adapter_of(x).activate(device_of(x))


def column_sums_of(x: Array) -> str:
    """The kernel the backward pass sums the rows of ``x``'s library with (its adapter's).

    Asked once at a boundary (a public function, a training step's placement),
    then handed to the maths: :attr:`Adapter.column_sums`.
    """
    return adapter_of(x).column_sums


def synchronize(placement: Placement) -> None:
    """Wait until the device has finished all queued work (for timing; no-op on the CPU)."""
    placement.adapter.synchronize(placement.device)


def full_precision(placement: Placement) -> contextlib.AbstractContextManager[Any]:
    """A scope in which mlp_xp's float32 matmuls are float32 on ``placement`` (JAX's GPUs).

    Training, prediction, parity and verify run in it, so that every backend's
    float32 is float32 unless the user chose otherwise; the user's own settings
    are never changed (:meth:`Adapter.full_precision`).
    """
    return placement.adapter.full_precision()


def floating_point_errors_ignored(placement: Placement) -> contextlib.AbstractContextManager[Any]:
    """Silence per-operation overflow warnings while training (NumPy's).

    A diverging run is detected from its loss once per epoch and reported with
    the epoch and a suggestion; per-operation warnings would only repeat that
    less clearly.
    """
    return placement.adapter.errors_ignored()


def materialize(placement: Placement, tree: Any, *, here: bool = False) -> Any:
    """Compute the lazy arrays of a small tree; the identity on eager backends.

    See :meth:`mlp_xp.backend.dask.DaskAdapter.materialize`.
    """
    return placement.adapter.materialize(tree, here=here)


_COMPILED: LRU[tuple[Any, ...], Callable[..., Any]] = LRU(maxsize=64)
"""The compiled set-up functions by (function, placement, settings): the latest 64.

Settings include sizes (``rows=``), so a process that sweeps data sizes would
otherwise keep a compiled function, and JAX's compilations of it, per size.
"""


def compiled_call(
    placement: Placement, fn: Callable[..., Any], *arrays: Any, **static: Any
) -> Any:
    """``fn(placement, *arrays, **static)``, as one compiled call where the backend compiles.

    ``arrays`` are trees of arrays (None for a missing one) and ``static`` the
    hashable settings the computation depends on.  On a library that traces and
    compiles (``adapter.compiled_epoch()`` is not None: JAX) the set-up work of a
    fit or a prediction, a few dozen small operations, is then one compilation
    per shape rather than one per operation (each pays tracing and lowering the
    first time, even when the persistent cache has it); elsewhere ``fn`` is
    called as it is.  ``fn``
    must not read values back to the host: it returns arrays, and the caller
    decides on the host.
    """
    compiler = placement.adapter.compiled_epoch()
    if compiler is None:
        return fn(placement, *arrays, **static)
    key = (fn, placement, tuple(sorted(static.items())))
    jitted = _COMPILED.get_or_make(
        key, lambda: compiler.jit(functools.partial(fn, placement, **static))
    )
    return jitted(*arrays)


def shard_rows(
    placement: Placement,
    X: Array,
    Y: Array,
    *,
    batch_size: int,
    x_in_memory: bool,
    y_in_memory: bool,
) -> tuple[Array, Array]:
    """Lay ``X`` and ``Y`` out for mini-batches that are row slices (eager: unchanged).

    Raises
    ------
    ValueError
        When a lazy ``X`` is chunked along its features.
    """
    return placement.adapter.shard_rows(
        X, Y, batch_size=batch_size, x_in_memory=x_in_memory, y_in_memory=y_in_memory
    )
