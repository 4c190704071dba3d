"""The array-api-strict adapter: the standard and nothing more, with a second CPU device.

Its non-default device (``device1``) catches any array created without
``device=``: array-api-strict refuses to combine arrays of two devices.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import ClassVar

import numpy as np

from ..validation import arg_setting
from .adapter import Adapter, Array, Device, Namespace


def strict_device_name(device: object) -> str:
    """``"device1"`` for ``array_api_strict.Device('device1')``."""
    return str(device).partition("('")[2].rstrip("')") or str(device)


class ArrayApiStrictAdapter(Adapter):
    """array-api-strict, the reference implementation of the standard."""

    name: ClassVar[str] = "array_api_strict"
    _module: ClassVar[str] = "array_api_strict"
    _install_hint: ClassVar[str] = "pip install array-api-strict (or 'mlp_xp[test]')"
    # The second device catches an array created without device=: arrays of two devices
    # are refused together.
    device_kinds: ClassVar[tuple[str, ...]] = ("cpu", "device1")

    def _list_devices(self, mod: ModuleType) -> tuple[str, ...]:
        return tuple(strict_device_name(d) for d in mod.__array_namespace_info__().devices())

    def owns(self, x: object) -> bool:
        return type(x).__module__.split(".")[0] == self._module

    def namespace(self) -> Namespace:
        return importlib.import_module(self._module)

    def parse_device(self, xp: Namespace, device: object, arg: str) -> Device:
        known = {strict_device_name(d): d for d in xp.__array_namespace_info__().devices()}
        if device is None or str(device) == "cpu":
            return xp.Device("CPU_DEVICE")
        key = device if isinstance(device, str) else strict_device_name(device)
        if key in known:
            return known[key]
        shown = arg_setting(arg, device)
        msg = f"{shown} is not an array_api_strict device; valid: {', '.join(known)}"
        raise ValueError(msg)

    def device_name(self, device: Device) -> str:
        return strict_device_name(device)

    def to_host(self, x: Array) -> np.ndarray:
        """array_api_strict refuses np.asarray off its default device; DLPack works on all."""
        return np.array(np.from_dlpack(x), copy=True)


ADAPTER = ArrayApiStrictAdapter()
