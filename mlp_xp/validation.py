"""Checks of user arguments (numbers and names), run once at the public boundary (any layer).

Each failure raises ``TypeError`` (wrong type) or ``ValueError`` (wrong value)
with a message that names the argument, what it got, and what to do.  The
checks of arrays are in :mod:`mlp_xp.nn.checks`.

Messages name an argument through :func:`arg_name` (or :func:`arg_setting`,
with its value): as the Python API spells it, ``learning_rate``, or inside
:func:`argument_names` as the caller spells it, such as the flag ``--lr`` that
the command line gives for it.  So ``mlp-xp`` names its own flags in messages
that come from any layer, from one table of its own.
"""

from __future__ import annotations

import contextlib
import math
import numbers
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextvars import ContextVar

_NAMES: ContextVar[Mapping[str, str] | None] = ContextVar("mlp_xp_argument_names", default=None)


@contextlib.contextmanager
def argument_names(names: Mapping[str, str]) -> Iterator[None]:
    """Inside, messages name each argument in ``names`` as it says: ``{"learning_rate": "--lr"}``.

    A name maps to a command-line flag (with a leading ``-``) or to another word.
    """
    token = _NAMES.set(names)
    try:
        yield
    finally:
        _NAMES.reset(token)


def arg_name(name: str) -> str:
    """How messages name the argument ``name``: as is, or as :func:`argument_names` says.

    An item of a sequence, ``"hidden_layer_sizes[0]"``, is named as the whole one
    (``--hidden``) where the caller names that.
    """
    names = _NAMES.get() or {}
    if name in names:
        return names[name]
    base = name.partition("[")[0]
    return names.get(base, name)


def arg_setting(name: str, value: object) -> str:
    """An argument and its value as the caller writes them: ``alpha=0.5`` or ``--alpha 0.5``."""
    shown = arg_name(name)
    if not shown.startswith("-"):
        return f"{shown}={value!r}"
    if isinstance(value, (list, tuple)):
        return " ".join([shown, *(str(v) for v in value)])
    return f"{shown} {value}"


def check_name(arg: str, value: object, valid: Iterable[str]) -> str:
    """``value`` must be one of the names in ``valid``."""
    names = tuple(valid)
    if not isinstance(value, str) or value not in names:
        msg = f"unknown {arg_name(arg)} {value!r}; valid values are: {', '.join(names)}"
        raise ValueError(msg)
    return value


def check_positive_int(arg: str, value: object) -> int:
    """``value`` must be an integer >= 1 (bools are refused)."""
    return _check_int(arg, value, 1, "a positive integer")


def check_nonnegative_int(arg: str, value: object) -> int:
    """``value`` must be an integer >= 0 (bools are refused), such as a seed."""
    return _check_int(arg, value, 0, "a non-negative integer")


def _check_int(arg: str, value: object, least: int, expected: str) -> int:
    """``value`` must be an integer >= ``least``; ``expected`` says so in words."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        msg = f"{arg_name(arg)} must be {expected}, got {value!r} of type {type(value).__name__}"
        raise TypeError(msg)
    if value < least:
        msg = f"{arg_name(arg)} must be {expected} (>= {least}), got {value}"
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
        msg = f"{arg_name(arg)} must be {expected}, got {value!r} of type {type(value).__name__}"
        raise TypeError(msg)
    number = float(value)
    if not (math.isfinite(number) and (number >= 0 if zero_ok else number > 0)):
        msg = f"{arg_name(arg)} must be {expected}, got {value!r}"
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
        name = arg_name("layer_sizes")
        msg = f"{name} must be a sequence of integers like (2, 8, 1), got {sizes!r}"
        raise TypeError(msg)
    if len(sizes) < 2:
        msg = (
            f"{arg_name('layer_sizes')} needs at least an input and an output size, "
            f"got {tuple(sizes)!r}"
        )
        raise ValueError(msg)
    return tuple(check_positive_int(f"layer_sizes[{i}]", s) for i, s in enumerate(sizes))
