"""The tolerance rule: how far rounding alone may take a run from the reference (parity layer)."""

from __future__ import annotations

import math

import numpy as np

from ..backend import FLOAT_DTYPES, dtype_name
from ..validation import check_positive_int


def tolerance(dtype: object, *, steps: int, depth: int, width: int) -> float:
    """The largest normwise relative deviation from the float64 reference that is rounding.

    ``tol = 4 * eps * depth * (sqrt(width) + 2) * sqrt(steps + 1)``

    with ``eps = finfo(dtype).eps``.  The reasoning, with the unit roundoff
    ``u = eps / 2``:

    * A dot product of length m is computed with a relative error of at most
      about ``m u``; when its rounding errors behave like independent random
      variables, of at most ``lambda sqrt(m) u`` with probability at least
      ``1 - 2 exp(-lambda^2 / 2)`` (Higham and Mary, 2019).  ``lambda = 4``
      leaves a chance below 1e-3 per product, and a normwise deviation
      averages over many products.
    * One gradient passes through ``2 depth`` matrix products on its longest
      path (``depth`` forward, ``depth - 1`` deltas backward, one weight
      gradient), each at most ``width`` long, with about two elementwise
      roundings (bias, activation) beside each: a relative error of
      ``2 depth (sqrt(width) + 2) u = depth (sqrt(width) + 2) eps``.
    * A step adds the learning rate times that gradient to parameters that are
      larger than the update in any run that trains, and rounds the sum: a
      step adds no more than one gradient's relative error to the parameters.
    * The steps' rounding errors are independent, so they add like a random
      walk, ``sqrt(steps)``; the ``+ 1`` is the rounding of the initial weights
      and the data to ``dtype``.

    ``steps=0`` gives the tolerance of one gradient evaluation.  The rule
    assumes training that is stable (each step does not amplify a deviation);
    a diverging or chaotic run is not limited by rounding and fails it.  So
    does Adam where a gradient component is far smaller than Adam's ``eps``
    (1e-8), for instance one that is 0 in exact arithmetic: its update is
    ``lr * g / eps``, which turns the rounding of ``g`` into a step up to
    ``lr / eps`` times larger.  That is a real difference between the runs,
    and the check reports it.  With
    ReLU, a pre-activation within rounding of 0 can take the other branch in
    one run, a discrete change in one sample's gradient; :func:`check` counts
    these ``sign flips`` so that such a jump can be told from a real
    disagreement.

    Parameters
    ----------
    dtype : str or dtype
        ``"float32"`` or ``"float64"`` (or a dtype object of any namespace).
    steps : int
        Optimizer steps taken, >= 0.
    depth : int
        Number of layers (weight matrices), >= 1.
    width : int
        The longest dot product of a step: the largest of the batch size and
        the layer sizes, >= 1.

    Returns
    -------
    float
        The tolerance for ``||p - p_ref|| / ||p_ref||`` over all parameters.

    Examples
    --------
    >>> round(tolerance("float32", steps=200, depth=2, width=100) / 1.1920929e-07)
    1361
    """
    eps = float(np.finfo(_dtype_name(dtype)).eps)
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        msg = f"steps must be an integer >= 0, got {steps!r}"
        raise ValueError(msg)
    d = check_positive_int("depth", depth)
    w = check_positive_int("width", width)
    return 4.0 * eps * d * (math.sqrt(w) + 2.0) * math.sqrt(steps + 1)


def _dtype_name(dtype: object) -> str:
    """``"float32"`` or ``"float64"`` for a name or any namespace's dtype object."""
    name = dtype_name(dtype)
    if name not in FLOAT_DTYPES:
        msg = f"dtype={dtype!r} is not supported; use one of {', '.join(FLOAT_DTYPES)}"
        raise TypeError(msg)
    return name
