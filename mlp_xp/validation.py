"""Checks of user arguments (numbers and names), run once at the public boundary (any layer).

Each failure raises ``TypeError`` (wrong type) or ``ValueError`` (wrong value)
with a message that names the argument, what it got, and what to do.  The
checks of arrays are in :mod:`mlp_xp.nn.checks`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence


def check_name(arg: str, value: object, valid: Iterable[str]) -> str:
    """``value`` must be one of the names in ``valid``."""
    names = tuple(valid)
    if not isinstance(value, str) or value not in names:
        msg = f"unknown {arg} {value!r}; valid values are: {', '.join(names)}"
        raise ValueError(msg)
    return value


def check_positive_int(arg: str, value: object) -> int:
    """``value`` must be an integer >= 1 (bools are refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        msg = f"{arg} must be a positive integer, got {value!r} of type {type(value).__name__}"
        raise TypeError(msg)
    if value < 1:
        msg = f"{arg} must be a positive integer (>= 1), got {value}"
        raise ValueError(msg)
    return int(value)


def _check_float(arg: str, value: object, zero_ok: bool) -> float:
    """``value`` must be a real, finite number > 0 (or >= 0); returned as a Python float.

    Returning a Python float matters: a NumPy float64 scalar would turn float32
    arithmetic into float64, a Python float keeps the array's dtype.
    """
    if type(value) is float and (value >= 0.0 if zero_ok else value > 0.0) and value != math.inf:
        return value  # the common case, without the slower abstract isinstance test
    expected = "a finite number >= 0" if zero_ok else "a positive finite number"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        msg = f"{arg} must be {expected}, got {value!r} of type {type(value).__name__}"
        raise TypeError(msg)
    number = float(value)
    if not (math.isfinite(number) and (number >= 0 if zero_ok else number > 0)):
        msg = f"{arg} must be {expected}, got {value!r}"
        raise ValueError(msg)
    return number


def check_positive_float(arg: str, value: object) -> float:
    """``value`` must be a real, finite number > 0; returned as a Python float."""
    return _check_float(arg, value, zero_ok=False)


def check_nonnegative_float(arg: str, value: object) -> float:
    """``value`` must be a real, finite number >= 0; returned as a Python float."""
    return _check_float(arg, value, zero_ok=True)


def check_layer_sizes(sizes: object) -> tuple[int, ...]:
    """A sequence of at least two integers, each >= 1."""
    if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Sequence):
        msg = f"layer_sizes must be a sequence of integers like (2, 8, 1), got {sizes!r}"
        raise TypeError(msg)
    if len(sizes) < 2:
        msg = f"layer_sizes needs at least an input and an output size, got {tuple(sizes)!r}"
        raise ValueError(msg)
    return tuple(check_positive_int(f"layer_sizes[{i}]", s) for i, s in enumerate(sizes))
