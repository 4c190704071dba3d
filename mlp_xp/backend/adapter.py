"""The adapter protocol: what mlp_xp needs to know about one array library (backend layer).

Each module of this package holds one library's :class:`Adapter`.  The rest of
mlp_xp never names a library: it asks the adapter of a
:class:`~mlp_xp.backend.placement.Placement` for the library's facts (its
namespace, devices, transfers, synchronisation, numerics, and whether it is
lazy) and decides its own policy from them.  An adapter module imports its
library only inside its methods, so that probing a missing library is cheap and
never fails.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import numbers
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, ClassVar, TypeAlias

import numpy as np

from ..validation import arg_setting

Array: TypeAlias = Any
"""Any array that follows the Array API standard."""
Namespace: TypeAlias = Any
"""An Array API namespace, such as ``array_api_compat.torch``."""
Device: TypeAlias = Any
"""A device object of some namespace (``"cpu"``, ``torch.device``, ``cupy.cuda.Device``...)."""

FLOAT_DTYPES: tuple[str, ...] = ("float32", "float64")


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


@dataclass
class Numerics:
    """What one library contributes to the environment report (see ``environment.py``)."""

    settings: dict[str, object] = field(default_factory=dict)
    """Each setting that changes its float results, by name (TF32 flags, threads)."""
    versions: dict[str, str | None] = field(default_factory=dict)
    """Versions beyond the library's own, such as its CUDA runtime."""
    gpus: list[str] = field(default_factory=list)
    """The GPUs it sees, as ``"cuda:0 NAME"``."""
    env: tuple[str, ...] = ()
    """The environment variables that change what its float matmuls compute, set or not."""
    reduced: list[str] = field(default_factory=list)
    """Which of its settings or variables make float32 matmuls less precise than float32."""
    modes: str = ""
    """Its settings that decide what it can compute, for ``mlp-xp info`` (JAX's x64 mode)."""


def read_setting(probe: Callable[[], object]) -> object:
    """The value a settings probe returns, or why it could not be read (never raises)."""
    try:
        with warnings.catch_warnings():
            # PyTorch >= 2.9 warns that its legacy TF32 flags are deprecated.
            warnings.simplefilter("ignore")
            value = probe()
    except Exception as exc:  # a probe must not stop a report
        return f"unreadable ({type(exc).__name__}: {exc})"
    return value if isinstance(value, (bool, int, float)) else str(value)


def cuda_index(device: object, arg: str) -> int:
    """Turn ``"cuda"``, ``"cuda:1"``, ``"gpu"`` or ``1`` into a device index."""
    if isinstance(device, numbers.Integral) and not isinstance(device, bool):
        return int(device)
    text = str(device)
    head, _, tail = text.partition(":")
    if head in ("cuda", "gpu") and (tail == "" or tail.isdigit()):
        return int(tail or 0)
    shown = arg_setting(arg, device)
    msg = f"{shown} is not a CUDA device; use 'cuda', 'cuda:N' or an integer index"
    raise ValueError(msg)


def _read_int(path: str, key: str | None = None) -> int | None:
    """An integer from a /proc or /sys file (for ``key``: the ``key: N kB`` line), or None."""
    try:
        with open(path) as handle:
            text = handle.read()
    except OSError:
        return None
    if key is None:
        value = text.strip()
        return int(value) if value.isdigit() else None
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        if name == key and rest.split() and rest.split()[0].isdigit():
            unit = 1024 if rest.split()[1:] == ["kB"] else 1
            return int(rest.split()[0]) * unit
    return None


def host_memory_available() -> int | None:
    """The host memory a new allocation can use, in bytes, or None when it cannot be read.

    The least of the kernel's ``MemAvailable`` (or ``os.sysconf``'s available
    pages) and what the process's cgroup (a container's limit) has left.
    """
    found: list[int] = []
    available = _read_int("/proc/meminfo", "MemAvailable")
    if available is None:
        with contextlib.suppress(ValueError, OSError, AttributeError):
            available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    if available is not None and available > 0:
        found.append(available)
    for limit_file, usage_file in (
        ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
        (
            "/sys/fs/cgroup/memory/memory.limit_in_bytes",
            "/sys/fs/cgroup/memory/memory.usage_in_bytes",
        ),
    ):
        limit, used = _read_int(limit_file), _read_int(usage_file)
        # cgroup v1 writes "no limit" as a huge number, v2 as "max" (read as None).
        if limit is not None and used is not None and limit < 2**60:
            found.append(max(0, limit - used))
    return min(found) if found else None


class Adapter:
    """One array library's facts.  Subclasses override what differs from these defaults.

    The defaults describe an eager library whose arrays live on the host CPU and
    that array-api-compat or the library itself gives a standard namespace.
    """

    name: ClassVar[str] = ""
    """The backend's name, as users write it (``--backend NAME``)."""
    _module: ClassVar[str] = ""
    """The module to import, e.g. ``"dask.array"`` (subclasses set it)."""
    _install_hint: ClassVar[str] = ""
    """How to install it, for the "not installed" reason (subclasses set it)."""
    lazy: ClassVar[bool] = False
    """Records a task graph instead of computing; steps are computed by :meth:`materialize`."""
    inference_only: ClassVar[bool] = False
    """Builds a graph for inference (ONNX export, the ndonnx adapter) and cannot train."""
    device_kinds: ClassVar[tuple[str, ...]] = ("cpu",)
    """The kinds of device it computes on, on any machine, default first, as ``--device``
    spells them (``"cpu"``, ``"cuda"``); whether this machine has them is :meth:`info`'s."""
    _numerics_env: ClassVar[tuple[str, ...]] = ()
    """Environment variables that change what this library's float matmuls compute."""
    column_sums: ClassVar[str] = "product"
    """The kernel that sums a batch's rows (the bias gradients) fastest here, handed to
    the backward pass once at the boundary (a tuning choice, not a capability; the two
    give the column sums to within rounding): ``"product"``, ``delta.T @ ones``, which
    BLAS runs several times faster than NumPy's reduction over narrow rows, or
    ``"reduction"``, ``sum(delta, axis=0)``: one call where each call costs a dispatch,
    instead of a vector of ones and a product (measured on PyTorch eager)."""

    _info: BackendInfo | None = None

    # ------------------------------------------------------------------ discovery

    def info(self) -> BackendInfo:
        """What :meth:`probe` found, probed once (probing CUDA is slow)."""
        if self._info is None:
            self._info = self._probe()
        return self._info

    def _probe(self) -> BackendInfo:
        """Whether the library is usable here and why not (never raises).

        A warning raised while importing it (two CuPy packages installed, an old
        driver) makes it unusable, with the warning as the reason: under
        ``filterwarnings = error`` it would otherwise stop a test run, and a user
        would meet it at the first array instead of here.
        """
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                mod = self._import_module()
                devices = self._list_devices(mod) if mod is not None else ()
        except Exception as exc:  # a broken install is reported, not raised
            reason = f"import failed: {type(exc).__name__}: {exc}"
            return BackendInfo(self.name, False, False, reason, None, ())
        if mod is None:
            reason = f"not installed; {self._install_hint}"
            return BackendInfo(self.name, False, False, reason, None, ())
        version = self._version(mod)
        if caught:
            first = caught[0]
            reason = (
                f"unusable because importing it warned: {first.category.__name__}: "
                f"{first.message}; {self._install_hint}"
            )
            return BackendInfo(self.name, True, False, reason, version, ())
        return BackendInfo(self.name, True, True, "", version, devices)

    def _import_module(self) -> ModuleType | None:
        """The library's module, or None when it is not installed."""
        top = self._module.split(".")[0]
        if importlib.util.find_spec(top) is None:
            return None
        return importlib.import_module(self._module)

    def _version(self, mod: ModuleType) -> str:
        """The installed version of the library's top-level package."""
        top = importlib.import_module(self._module.split(".")[0])
        return str(getattr(top, "__version__", getattr(mod, "__version__", "unknown")))

    def _list_devices(self, mod: ModuleType) -> tuple[str, ...]:
        """The device strings it accepts here; called by :meth:`probe` inside its guard."""
        return ("cpu",)

    def owns(self, x: object) -> bool:
        """Whether ``x`` is an array of this library."""
        raise NotImplementedError

    def namespace(self) -> Namespace:
        """The library's Array API namespace."""
        raise NotImplementedError

    def float_dtypes(self, device: Device) -> tuple[str, ...]:
        """The floating dtypes it can compute in on ``device`` (JAX needs x64 for float64)."""
        return FLOAT_DTYPES

    def _modes(self) -> str:
        """Settings of the library that decide what it can compute, for ``mlp-xp info``."""
        return ""

    def dtype_refusal(self, name: str) -> str:
        """How to make dtype ``name`` available when :meth:`float_dtypes` lacks it."""
        return ""

    # ------------------------------------------------------------------ devices

    def parse_device(self, xp: Namespace, device: object, arg: str) -> Device:
        """A user's device string or object as this library's device object."""
        if device is None or str(device) == "cpu":
            return "cpu"
        msg = f"{arg_setting(arg, device)} is not a {self.name} device; {self.name} only has 'cpu'"
        raise ValueError(msg)

    def device_name(self, device: Device) -> str:
        """The device as a string that :meth:`parse_device` accepts back."""
        return "cpu"

    def memory_available(self, device: Device) -> int | None:
        """Free memory on ``device`` in bytes, or None when the library cannot tell.

        The default is the host's: libraries whose arrays live in host memory.
        """
        return host_memory_available()

    def resident_rows(self, x: Array) -> int:
        """How many rows of ``x`` training holds in memory at once: here, all of them."""
        return int(x.shape[0])

    def activate(self, device: Device) -> contextlib.AbstractContextManager[Any]:
        """A context in which new arrays and kernels go to ``device`` (CuPy's current device)."""
        return contextlib.nullcontext()

    def synchronize(self, device: Device) -> None:
        """Wait until the device has finished all queued work (for timing)."""

    # ------------------------------------------------------------------ host transfer

    def to_host(self, x: Array) -> np.ndarray:
        """A NumPy copy of one of its arrays, on the host."""
        return np.asarray(x)

    def from_host(self, host: np.ndarray, xp: Namespace, device: Device, dtype: Any) -> Array:
        """Host data as one of its arrays on ``device``; ``dtype`` None keeps the host dtype."""
        if dtype is None:
            return xp.asarray(host, device=device)
        return xp.asarray(host, dtype=dtype, device=device)

    def check_array(self, x: Array, arg: str) -> None:
        """Refuse one of its arrays that mlp_xp cannot train on, naming ``arg``; none here."""

    def index_array(self, xp: Namespace, device: Device, order: np.ndarray) -> Array:
        """A host integer array of row numbers, moved once to where the rows are."""
        return self.from_host(order, xp, device, None)

    # ------------------------------------------------------------------ numbers

    def numerics(self) -> Numerics:
        """The numerics report: what changes the numbers it computes (never raises).

        Versions, settings and GPUs where the library is installed; the
        environment variables that change its float matmuls, and which of its
        settings or variables make float32 matmuls less precise, even where it
        is missing (``CUPY_TF32=1`` counts without CuPy); and, where it is
        usable, the modes ``mlp-xp info`` shows.
        """
        info = self.info()
        found = self._numerics() if info.installed else Numerics()
        found.env = self._numerics_env
        env = {name: os.environ[name] for name in self._numerics_env if name in os.environ}
        found.reduced = self._reduced_precision(found, env)
        found.modes = self._modes() if info.available else ""
        return found

    def _numerics(self) -> Numerics:
        """Versions, flags and GPU names of the installed library (never raises)."""
        return Numerics()

    def _reduced_precision(self, numerics: Numerics, env: dict[str, str]) -> list[str]:
        """Which of its settings (or ``env`` variables) make float32 matmuls less precise."""
        return []

    def errors_ignored(self) -> contextlib.AbstractContextManager[Any]:
        """Silence the library's per-operation overflow warnings while training."""
        return contextlib.nullcontext()

    def full_precision(self) -> contextlib.AbstractContextManager[Any]:
        """A scope in which float32 matmuls are computed in float32, as the user left them.

        The default, for libraries whose float32 matmuls are float32 unless the
        user asks otherwise (NumPy; PyTorch, whose matmul TF32 is off by
        default; CuPy, whose ``CUPY_TF32`` is off by default): nothing.
        """
        return contextlib.nullcontext()

    # ------------------------------------------------------------------ lazy libraries

    def materialize(self, tree: Any, *, here: bool = False) -> Any:
        """Compute the lazy arrays of a small tree; the identity on eager libraries."""
        return tree

    def shard_rows(
        self,
        X: Array,
        Y: Array,
        *,
        batch_size: int,
        x_in_memory: bool,
        y_in_memory: bool,
    ) -> tuple[Array, Array]:
        """Lay ``X`` and ``Y`` out for mini-batches that are row slices; eager: unchanged."""
        return X, Y

    def lazy_token(self, x: Array) -> str:
        """A deterministic fingerprint of a lazy array's source and rows."""
        msg = f"{self.name} arrays are not lazy"
        raise TypeError(msg)

    # ------------------------------------------------------------------ compiled loops

    def compiled_epoch(self) -> Any:
        """What a compiled epoch is built from, for libraries that trace and compile; None here.

        A library that compiles returns an object with three methods, from which
        :mod:`mlp_xp.training.compiled` writes the epoch once for all of them:

        * ``jit(fn)``: ``fn`` compiled for the shapes and dtypes of its array
          arguments (trees of arrays; None for a missing one), compiled again
          only for new ones; its calls also take host NumPy arrays, moved to
          the device of the other arguments with the launch;
        * ``scan(body, carry, xs)``: ``body(carry, x) -> (carry, y)`` over the
          leading axis of the trees ``xs``, returning the last carry and the
          stacked ys, inside one compiled call;
        * ``switch(index, branches, *operands)``: ``branches[index](*operands)``
          for a traced integer ``index``, running only that branch.
        """
        return None
