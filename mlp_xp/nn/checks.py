"""Checks of arrays handed to the public maths: shapes, dtypes, devices, values (nn layer).

Run once at the public boundary, never inside the loop.  Each failure raises
``TypeError`` (wrong type or dtype) or ``ValueError`` (wrong value) with a
message that names the argument, what it got, and what to do.  Only functions
of the namespace ``xp`` are used.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..backend import Array, Namespace, device_of, dtype_name
from .layers import Layer, Params


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
