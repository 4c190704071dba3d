"""Checks of user input, run once at the public boundary, never inside the loop.

Each failure raises ``TypeError`` (wrong type or dtype) or ``ValueError`` (wrong
value) with a message that names the argument, what it got, and what to do.
Only functions of the namespace ``xp`` are used.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence

from ._backend import Array, Namespace, device_of, dtype_name
from .layers import Layer, Params


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


def check_float_array(xp: Namespace, arg: str, x: Array, ndim: int) -> None:
    """``x`` has ``ndim`` dimensions and a real floating dtype."""
    if x.ndim != ndim:
        shape = tuple(x.shape)
        if ndim == 2 and x.ndim == 1:
            hint = f"; reshape it to ({shape[0]}, 1) with xp.reshape({arg}, (-1, 1))"
        else:
            hint = ""
        msg = f"{arg} must be {ndim}-D, got shape {shape} ({x.ndim}-D){hint}"
        raise ValueError(msg)
    if not xp.isdtype(x.dtype, "real floating"):
        msg = (
            f"{arg} has dtype {dtype_name(x.dtype)}, but a real floating dtype is needed; "
            f"convert it with xp.astype({arg}, xp.float32) or xp.float64"
        )
        raise TypeError(msg)


def check_finite(xp: Namespace, arg: str, x: Array) -> None:
    """``x`` holds no NaN or infinity (reads one boolean back to the host)."""
    if not bool(xp.all(xp.isfinite(x))):
        bad = int(xp.sum(xp.astype(~xp.isfinite(x), xp.int64)))
        msg = (
            f"{arg} contains {bad} NaN or infinite value(s); remove or impute them before training"
        )
        raise ValueError(msg)


def check_params(xp: Namespace, params: object, arg: str = "params") -> Params:
    """A non-empty tuple of (W, b) pairs whose shapes chain and whose dtypes agree."""
    if not isinstance(params, Sequence) or isinstance(params, (str, bytes)) or not params:
        msg = f"{arg} must be a non-empty tuple of Layer(W, b), as from mlp_xp.init_params"
        raise TypeError(msg)
    layers: list[Layer] = []
    for i, layer in enumerate(params):
        if not isinstance(layer, Sequence) or len(layer) != 2:
            msg = f"{arg}[{i}] must be a Layer(W, b) pair, got {type(layer).__name__}"
            raise TypeError(msg)
        W, b = layer
        check_float_array(xp, f"{arg}[{i}].W", W, 2)
        check_float_array(xp, f"{arg}[{i}].b", b, 1)
        if b.shape[0] != W.shape[0]:
            msg = (
                f"{arg}[{i}].b has {b.shape[0]} entries but {arg}[{i}].W has "
                f"{W.shape[0]} rows (outputs); they must match"
            )
            raise ValueError(msg)
        if i and W.shape[1] != layers[-1].W.shape[0]:
            msg = (
                f"{arg}[{i}].W expects {W.shape[1]} inputs but layer {i - 1} has "
                f"{layers[-1].W.shape[0]} outputs; W has shape (out, in)"
            )
            raise ValueError(msg)
        layers.append(Layer(W, b))
    first = layers[0].W
    for i, layer in enumerate(layers):
        for name, a in (("W", layer.W), ("b", layer.b)):
            check_same_placement(f"{arg}[{i}].{name}", a, f"{arg}[0].W", first)
    return tuple(layers)


def check_same_placement(arg: str, x: Array, ref_arg: str, ref: Array) -> None:
    """``x`` has the dtype and device of ``ref``."""
    if x.dtype != ref.dtype:
        msg = (
            f"{arg} has dtype {dtype_name(x.dtype)} but {ref_arg} has "
            f"{dtype_name(ref.dtype)}; cast one of them with xp.astype so all agree "
            "(mixing would silently promote float32 to float64)"
        )
        raise TypeError(msg)
    if device_of(x) != device_of(ref):
        msg = (
            f"{arg} is on device {device_of(x)!r} but {ref_arg} is on "
            f"{device_of(ref)!r}; move them to one device first"
        )
        raise ValueError(msg)


def check_batch(
    xp: Namespace,
    params: Params,
    X: Array,
    Y: Array | None = None,
    *,
    finite: bool = True,
) -> None:
    """``X`` (and ``Y``) fit the network ``params``: shapes, dtype, device and values."""
    check_float_array(xp, "X", X, 2)
    W0 = params[0].W
    check_same_placement("X", X, "params[0].W", W0)
    if X.shape[1] != W0.shape[1]:
        msg = (
            f"X has {X.shape[1]} features but the network expects {W0.shape[1]} "
            f"(params[0].W has shape {tuple(W0.shape)}, i.e. (out, in))"
        )
        raise ValueError(msg)
    if finite:
        check_finite(xp, "X", X)
    if Y is None:
        return
    check_float_array(xp, "Y", Y, 2)
    check_same_placement("Y", Y, "X", X)
    if Y.shape[0] != X.shape[0]:
        msg = f"X has {X.shape[0]} rows but Y has {Y.shape[0]}; they must have one row per sample"
        raise ValueError(msg)
    n_out = params[-1].W.shape[0]
    if Y.shape[1] != n_out:
        msg = f"Y has {Y.shape[1]} columns but the network has {n_out} outputs"
        raise ValueError(msg)
    if finite:
        check_finite(xp, "Y", Y)
