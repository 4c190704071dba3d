"""Every backend mlp_xp knows, one adapter module each (backend layer).

Adding a backend is adding its module beside this one, with an ``ADAPTER``,
and its name to :data:`BACKENDS`.
"""

from __future__ import annotations

import functools
import importlib

from ..caches import remember
from ..validation import arg_name
from .adapter import Adapter, Array, BackendInfo

BACKENDS: tuple[str, ...] = ("numpy", "cupy", "torch", "jax", "array_api_strict", "dask", "ndonnx")
"""Every backend name mlp_xp knows, in order of preference for display; each is a module here."""
BACKEND_CHOICES: tuple[str, ...] = ("auto", *BACKENDS)
HOST_BACKEND: str = "numpy"
"""The backend of host data: where NumPy input, the parity reference and CPU fallbacks live."""


@functools.lru_cache(maxsize=len(BACKENDS))
def _load(name: str) -> Adapter:
    """Import backend ``name``'s module (once) and return its adapter."""
    found: Adapter = importlib.import_module(f"{__package__}.{name}").ADAPTER
    return found


def adapter(name: str) -> Adapter:
    """The adapter of backend ``name``.

    Raises
    ------
    ValueError
        For an unknown name; the message lists the valid ones.
    """
    if name not in BACKENDS:
        valid = ", ".join(BACKEND_CHOICES)
        msg = f"unknown {arg_name('backend')} {name!r}; valid names are: {valid}"
        raise ValueError(msg)
    return _load(name)


def adapters() -> list[Adapter]:
    """Every adapter, in the order of :data:`BACKENDS`."""
    return [_load(name) for name in BACKENDS]


def backend_info(name: str) -> BackendInfo:
    """Return what is known about backend ``name`` (probed once; probing CUDA is slow)."""
    return adapter(name).info()


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


_OWNER: dict[type, Adapter] = {}
"""Which adapter owns an array type, found once per type: every ``owns`` looks at the
type alone, and the public functions ask on every call (1.7 us a time, over 7 adapters).
At most 32 types are kept (:func:`mlp_xp.caches.remember`)."""


def adapter_of(x: Array) -> Adapter:
    """The adapter of the library that ``x`` is an array of.

    Raises
    ------
    TypeError
        When no backend owns ``x``.
    """
    kind = type(x)
    found = _OWNER.get(kind)
    if found is not None:
        return found
    for candidate in adapters():
        if candidate.owns(x):
            return remember(_OWNER, kind, candidate, 32)
    msg = f"arrays of type {type(x).__module__}.{type(x).__qualname__} are not supported"
    raise TypeError(msg)


def backend_name_of(x: Array) -> str:
    """The mlp_xp backend name for an array, e.g. ``"torch"``."""
    return adapter_of(x).name
