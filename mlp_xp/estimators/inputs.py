"""What the estimators accept as X, y and sample_weight, checked before any work (estimator layer).

Arrays of any supported library stay where they are: training happens where X
lives, so nothing here moves them to the host (scikit-learn's ``check_array``
would).  Host data (lists, NumPy, pandas DataFrames, SciPy sparse matrices) is
read the way scikit-learn reads it, with one clear message for what cannot be:

* a DataFrame gives its column names (``feature_names_in_``) and its values;
  pandas' nullable dtypes become float64 with NaN for a missing value, which
  the finite check then names;
* an object array of numbers is converted, as scikit-learn converts it; one of
  text is refused;
* a sparse matrix is refused with the ``.toarray()`` fix: the network's first
  product is dense, so densifying is the caller's decision.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..backend import (
    FLOAT_DTYPES,
    Array,
    Placement,
    check_supported,
    compiled_call,
    dtype_name,
    dtype_unavailable,
    is_array,
    move,
    to_host,
    usable_dtype,
)
from ..blocks import row_blocks
from ..errors import PrecisionWarning, warn_at_caller
from ..nn.checks import check_finite
from .scaling import STATS_BLOCK_BYTES


def is_sparse(X: Any) -> bool:
    """Whether ``X`` is a SciPy sparse matrix or array (duck-typed: SciPy is not imported)."""
    return hasattr(X, "tocsr") and hasattr(X, "nnz")


def feature_names(X: Any) -> list[str] | None:
    """The column names of a DataFrame-like ``X`` when they are all strings, else None.

    As in scikit-learn, names that mix strings with other types are refused:
    the columns could not be matched by name later.
    """
    columns = getattr(X, "columns", None)
    if columns is None or not hasattr(X, "dtypes"):
        return None
    names = list(columns)
    strings = [isinstance(c, str) for c in names]
    if not any(strings):
        return None
    if not all(strings):
        kinds = sorted({type(c).__name__ for c in names})
        msg = (
            f"X's column names have mixed types {kinds}; make them all strings, "
            "e.g. X.columns = X.columns.astype(str)"
        )
        raise TypeError(msg)
    duplicates = sorted({c for c in names if names.count(c) > 1})
    if duplicates:
        msg = f"X has duplicate column names {duplicates}; rename them so each is unique"
        raise ValueError(msg)
    return [str(c) for c in names]


def match_columns(X: Any, known: list[str] | None, who: str) -> Any:
    """A DataFrame's columns in the order the model was fitted with, matched by name.

    The command line reorders CSV columns by name the same way.  Columns the
    model never saw are refused with their names; so are missing ones.  Data
    without names is taken by position; names given to a model fitted without
    them get scikit-learn's warning.
    """
    names = feature_names(X)
    if names is None:
        # An array without names is taken by position, quietly: the command line
        # hands over arrays whose columns it has already matched by name.
        return X
    if known is None:
        msg = f"X has feature names, but {who} was fitted without feature names"
        warn_at_caller(msg, UserWarning)
        return X
    if names == known:
        return X
    missing = [c for c in known if c not in names]
    unseen = [c for c in names if c not in known]
    if missing or unseen:
        parts = []
        if unseen:
            parts.append(f"unseen at fit time: {unseen}")
        if missing:
            parts.append(f"seen at fit time, yet now missing: {missing}")
        msg = "The feature names should match those that were passed during fit. " + "; ".join(
            parts
        )
        raise ValueError(msg)
    # The same names in another order: take the columns by name.
    return X[known]


def is_dataframe(X: Any) -> bool:
    """Whether ``X`` looks like a pandas (or compatible) DataFrame."""
    return hasattr(X, "columns") and hasattr(X, "dtypes") and hasattr(X, "iloc")


def input_dtype(X: Any) -> str:
    """The float dtype ``dtype=None`` trains in: X's own, whatever its container.

    float32 and float64 are kept; integers, booleans and other dtypes become
    float64, as in scikit-learn.  An array of any library gives its dtype; a
    DataFrame the dtype NumPy makes of its columns (float32 and int64 columns
    together make float64), and float64 where a column has a pandas extension
    dtype (read as float64, see :func:`host_matrix`); a list, or anything else
    without a dtype, the dtype NumPy reads it in.  Nothing is converted for
    good: unreadable data is refused later, with its own message.
    """
    if is_dataframe(X):
        dtypes = list(X.dtypes)
        numpy_only = bool(dtypes) and all(isinstance(dt, np.dtype) for dt in dtypes)
        found = np.result_type(*dtypes).name if numpy_only else "float64"
    elif hasattr(X, "dtype"):
        found = dtype_name(X.dtype)
    else:
        try:
            found = np.asarray(X).dtype.name
        except (TypeError, ValueError):
            found = "float64"
    return found if found in FLOAT_DTYPES else "float64"


def training_dtype(X: Any, placement: Placement, requested: object) -> str:
    """The dtype a new fit trains in: ``requested``, else X's float dtype.

    X's float dtype is :func:`input_dtype`'s, whatever the container: integers
    and booleans become float64, as in scikit-learn.  Where the backend cannot
    compute in it (JAX's float64 without x64 mode), training uses its widest
    float dtype instead, as JAX itself does, with one
    :class:`~mlp_xp.errors.PrecisionWarning`.  A ``requested`` dtype is kept,
    and refused with the fix when X is moved, if the backend lacks it.
    """
    if requested is not None:
        return dtype_name(requested)
    wanted = input_dtype(X)
    chosen = usable_dtype(placement, wanted)
    if chosen != wanted:
        msg = (
            f"X is {wanted}, but {dtype_unavailable(placement, wanted)}; training in "
            f"{chosen} instead (pass dtype={chosen!r} to say so)"
        )
        warn_at_caller(msg, PrecisionWarning)
    return chosen


def host_matrix(X: Any, name: str = "X") -> np.ndarray:
    """Host data (list, NumPy, DataFrame, object array) as a numeric NumPy array."""
    if is_sparse(X):
        msg = (
            f"{name} is a sparse matrix, and sparse input is not supported: the "
            f"network's products are dense; pass {name}.toarray() if it fits in memory"
        )
        raise TypeError(msg)
    if is_dataframe(X) and any(not isinstance(dt, np.dtype) for dt in X.dtypes):
        # pandas' nullable dtypes (Int64, Float64, boolean): pd.NA becomes NaN.
        try:
            return np.asarray(X.to_numpy(dtype="float64", na_value=np.nan))
        except (TypeError, ValueError) as exc:
            msg = f"{name} has columns that are not numbers ({exc}); encode them first"
            raise TypeError(msg) from None
    try:
        a = np.asarray(X)
    except (ValueError, TypeError) as exc:
        msg = f"{name} could not be read as a numeric array: {exc}"
        raise ValueError(msg) from None
    if a.dtype == object:
        a = _numeric_objects(a, name)
    return a


def _numeric_objects(a: np.ndarray, name: str) -> np.ndarray:
    """An object array of numbers as float64; one holding text or other objects is refused."""
    try:
        return a.astype(np.float64)
    except (TypeError, ValueError) as exc:
        msg = (
            f"{name} has dtype object holding values that are not numbers ({exc}); "
            "encode text or categories as numbers first"
        )
        raise TypeError(msg) from None


def check_features(X: Any) -> Any:
    """X as an array of any supported library, or a numeric host array; shape checked."""
    if isinstance(X, np.ndarray) and X.dtype == object:
        X = _numeric_objects(X, "X")
    elif is_array(X):
        check_supported(X, "X")
    else:
        X = host_matrix(X)
    if isinstance(X, np.ndarray) and X.dtype.kind not in "biufc":
        msg = (
            f"X has dtype {X.dtype}, but numeric features are needed; "
            "encode text or categories as numbers first"
        )
        raise TypeError(msg)
    if dtype_name(X.dtype).startswith("complex"):
        msg = f"Complex data not supported: X has dtype {dtype_name(X.dtype)}"
        raise ValueError(msg)
    if X.ndim != 2:
        hint = (
            " Reshape your data with X.reshape(-1, 1) for a single feature, or "
            "X.reshape(1, -1) for a single sample."
            if X.ndim == 1
            else ""
        )
        msg = f"X must be 2-D (n_samples, n_features), got shape {tuple(X.shape)}.{hint}"
        raise ValueError(msg)
    n, d = int(X.shape[0]), int(X.shape[1])
    if n < 1:
        msg = f"Found array with 0 sample(s) (shape={(n, d)}) while a minimum of 1 is required."
        raise ValueError(msg)
    if d < 1:
        msg = f"Found array with 0 feature(s) (shape={(n, d)}) while a minimum of 1 is required."
        raise ValueError(msg)
    return X


def prepare_features(X: Any, placement: Placement, dtype: object) -> Array:
    """X as a finite 2-D float array in ``placement``."""
    X = check_features(X)
    out = move(X, placement, dtype)
    check_finite_data(placement, "X", out)
    return out


def check_finite_data(placement: Placement, arg: str, a: Array) -> None:
    """``a`` holds no NaN or infinity, proven without an array of a's size.

    A finite sum of every value proves every value finite (a NaN or an infinity
    would make it NaN or infinite); the sum is computed in float64 where the
    backend has it, so that finite float32 values do not overflow it.  Only
    when it is not finite does the full check run, which counts the bad values
    (and allocates a boolean array the size of ``a``).
    """
    xp = placement.xp
    if placement.adapter.lazy:
        check_finite(xp, arg, a)
        return
    # One compiled call on JAX, rather than a compilation per operation.
    if not bool(compiled_call(placement, _sum_is_finite, a)):
        check_finite(xp, arg, a)


def _sum_is_finite(placement: Placement, a: Array) -> Array:
    """Whether the sum of every value of ``a`` is finite: a 0-d boolean array."""
    xp = placement.xp
    wide = "float64" in placement.adapter.float_dtypes(placement.device)
    # In blocks of rows: a float64 sum of all of a casts all of a on some
    # libraries (torch makes an (n, d) float64 copy; NumPy accumulates in place).
    n = int(a.shape[0])
    width = math.prod(int(s) for s in a.shape[1:])
    total: Array = None
    for start, stop in row_blocks(n, 8 * width, STATS_BLOCK_BYTES):
        block = a if start == 0 and stop == n else a[start:stop, ...]
        part = xp.sum(block, dtype=xp.float64) if wide else xp.sum(block)
        total = part if total is None else total + part
    return xp.asarray(True) if total is None else xp.isfinite(total)


def prepare_sample_weight(
    sample_weight: Any, n: int, placement: Placement, dtype: str
) -> Array | None:
    """Sample weights as a column (n, 1) in ``placement``; None when not given.

    The weights must be finite, non-negative, one per row, and not all zero.
    The caller's array is never written to.
    """
    if sample_weight is None:
        return None
    if is_array(sample_weight):
        check_supported(sample_weight, "sample_weight")
        host = None
    else:
        host = host_matrix(sample_weight, "sample_weight")
        if host.ndim == 0:
            host = np.full(n, float(host))
        sample_weight = host
    if sample_weight.ndim != 1 or int(sample_weight.shape[0]) != n:
        msg = (
            f"sample_weight must be 1-D with one weight per sample ({n}), "
            f"got shape {tuple(sample_weight.shape)}"
        )
        raise ValueError(msg)
    if dtype_name(sample_weight.dtype) not in ("float32", "float64") and not (
        dtype_name(sample_weight.dtype).startswith(("int", "uint", "bool"))
    ):
        msg = f"sample_weight has dtype {dtype_name(sample_weight.dtype)}; numbers are needed"
        raise TypeError(msg)
    xp = placement.xp
    W = move(sample_weight, placement, dtype)
    check_finite(xp, "sample_weight", W)
    low, total = (float(v) for v in _host_pair(placement, xp.min(W), xp.sum(W)))
    if low < 0:
        msg = "sample_weight has negative values; weights must be zero or positive"
        raise ValueError(msg)
    if total <= 0:
        msg = "sample_weight is zero for every sample: there is nothing to train on"
        raise ValueError(msg)
    return xp.reshape(W, (-1, 1))


def _host_pair(placement: Placement, a: Array, b: Array) -> list[float]:
    """Two 0-d device values read back in one transfer."""
    return [float(v) for v in to_host(placement.xp.stack([a, b])).tolist()]


def host_values(y: Any) -> np.ndarray:
    """Labels or targets of any backend (or a list) as a host NumPy array."""
    return to_host(y) if is_array(y) else np.asarray(y)


def host_weights(sample_weight: Any, n: int) -> np.ndarray | None:
    """Sample weights on the host, for scores computed there; None when not given."""
    if sample_weight is None:
        return None
    w = host_values(sample_weight).astype(np.float64).reshape(-1)
    if w.shape[0] != n:
        msg = f"sample_weight has {w.shape[0]} values for {n} samples; they must match"
        raise ValueError(msg)
    return w
