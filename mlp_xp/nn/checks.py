"""Checks of arrays handed to the public maths: shapes, dtypes, devices, values (nn layer).

Run once at the public boundary, never inside the loop.  Each failure raises
``TypeError`` (wrong type or dtype) or ``ValueError`` (wrong value) with a
message that names the argument, what it got, and what to do.  Only functions
of the namespace ``xp`` are used.

The checks cost what the lecture's small step costs, so they are written to be
cheap when they pass: the common case (a tuple of ``Layer``) is tested in one
tight loop, a dtype's "real floating" answer is asked once per namespace and
dtype, devices are compared by their ``device`` attribute before the slower
:func:`device_of` is asked, and all values are proven finite with one read-back.
When a fast test fails, the full check runs, so every message and the order
in which problems are reported are those of the full checks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..backend import Array, Namespace, device_of, dtype_name
from ..caches import remember
from .layers import Layer, Params

_REAL_FLOATING: dict[tuple[int, Any], bool] = {}
"""``xp.isdtype(dtype, "real floating")`` by (id of the namespace, dtype), asked once each
(at most 64 kept)."""


def _real_floating(xp: Namespace, dtype: Any) -> bool:
    """Whether ``dtype`` is a real floating dtype of ``xp`` (remembered; xp is a module)."""
    try:
        key = (id(xp), dtype)
        known = _REAL_FLOATING.get(key)
    except TypeError:  # a dtype that cannot be hashed is asked every time
        return bool(xp.isdtype(dtype, "real floating"))
    if known is None:
        known = remember(_REAL_FLOATING, key, bool(xp.isdtype(dtype, "real floating")), 64)
    return known


def _same_device(a: Array, b: Array) -> bool:
    """Whether ``a`` and ``b`` are on one device: their ``device`` attributes first, then
    :func:`device_of` (dask arrays have no attribute; attributes may differ in form)."""
    dev = getattr(a, "device", None)
    if dev is not None and dev == getattr(b, "device", None):
        return True
    return bool(device_of(a) == device_of(b))


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
    if not _real_floating(xp, x.dtype):
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


def _all_finite(xp: Namespace, x: Array, y: Array | None) -> bool:
    """Whether every value of ``x`` and ``y`` is finite, read back as one boolean.

    ``all(isfinite(.))`` is exact and never warns.  A sum would be one pass too
    (a sum is finite only if every term is), but it is slower than isfinite's SIMD
    pass on NumPy (33 against 17 us for mnist's X, float32) and makes NumPy warn
    when a batch holds both infinities ("invalid value") or sums past the
    largest float ("overflow").
    """
    ok = xp.all(xp.isfinite(x))
    if y is not None:
        ok = ok & xp.all(xp.isfinite(y))
    return bool(ok)


def _params_fast(xp: Namespace, params: object) -> Params | None:
    """``params`` when it is a tuple of ``Layer`` that passes every check, else None.

    Tests every condition of :func:`check_params` in one loop, each array's
    attributes read once; None (anything unusual, or a failure) leaves the
    finding and the wording of the problem to the full check.
    """
    if type(params) is not tuple or not params:
        return None
    first = params[0]
    if type(first) is not Layer:
        return None
    ref = first.W
    try:
        dtype, device, inputs = ref.dtype, ref.device, ref.shape[1]
        if device is None or not _real_floating(xp, dtype):
            return None
        for layer in params:
            if type(layer) is not Layer:
                return None
            W, b = layer
            if W.ndim != 2 or b.ndim != 1 or W.dtype != dtype or b.dtype != dtype:
                return None
            if W.shape[1] != inputs or b.shape[0] != W.shape[0]:
                return None
            if W.device != device or b.device != device:
                return None
            inputs = W.shape[0]
    except (AttributeError, IndexError, TypeError, ValueError):
        return None
    return params


def check_params(xp: Namespace, params: object, arg: str = "params") -> Params:
    """A non-empty tuple of (W, b) pairs whose shapes chain and whose dtypes agree."""
    fast = _params_fast(xp, params)
    if fast is not None:
        return fast
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
    if not _same_device(x, ref):
        msg = (
            f"{arg} is on device {device_of(x)!r} but {ref_arg} is on "
            f"{device_of(ref)!r}; move them to one device first"
        )
        raise ValueError(msg)


def _y_fits(params: Params, X: Array, Y: Array) -> bool:
    """Whether ``Y`` passes :func:`_check_y`, tested without building any message."""
    return (
        Y.ndim == 2
        and Y.dtype == X.dtype  # X's dtype is real floating, so Y's is
        and Y.shape[0] == X.shape[0]
        and Y.shape[1] == params[-1].W.shape[0]
        and _same_device(Y, X)
    )


def _check_y(xp: Namespace, params: Params, X: Array, Y: Array) -> None:
    """``Y`` fits ``X`` and the network: shape, dtype and device (not its values)."""
    check_float_array(xp, "Y", Y, 2)
    check_same_placement("Y", Y, "X", X)
    if Y.shape[0] != X.shape[0]:
        msg = f"X has {X.shape[0]} rows but Y has {Y.shape[0]}; they must have one row per sample"
        raise ValueError(msg)
    n_out = params[-1].W.shape[0]
    if Y.shape[1] != n_out:
        msg = f"Y has {Y.shape[1]} columns but the network has {n_out} outputs"
        raise ValueError(msg)


def check_batch(
    xp: Namespace,
    params: Params,
    X: Array,
    Y: Array | None = None,
    *,
    finite: bool = True,
) -> None:
    """``X`` (and ``Y``) fit the network ``params``: shapes, dtype, device and values.

    Problems are reported in this order: X's shape, dtype, device and features,
    X's values, then Y's shape, dtype, device, rows and columns, then Y's values.
    The values of both are checked last, with one read-back, and only when that
    finds a NaN or infinity are they checked one by one for the message.
    """
    check_float_array(xp, "X", X, 2)
    W0 = params[0].W
    check_same_placement("X", X, "params[0].W", W0)
    if X.shape[1] != W0.shape[1]:
        msg = (
            f"X has {X.shape[1]} features but the network expects {W0.shape[1]} "
            f"(params[0].W has shape {tuple(W0.shape)}, i.e. (out, in))"
        )
        raise ValueError(msg)
    if Y is not None and not _y_fits(params, X, Y):
        if finite:
            check_finite(xp, "X", X)  # a NaN in X is reported before Y's shape
        _check_y(xp, params, X, Y)  # raises, naming what does not fit
    if finite and not _all_finite(xp, X, Y):
        check_finite(xp, "X", X)
        if Y is not None:
            check_finite(xp, "Y", Y)
