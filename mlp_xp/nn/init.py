"""Seeded weight initialisation, identical on every backend.

The numbers are drawn on the host in float64 from ``numpy.random.default_rng(seed)``
and only then cast and moved, so the same seed gives the same starting weights on
NumPy, CuPy, PyTorch and any other namespace, on any device.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

from ..backend import HOST_BACKEND, float_dtype, from_host, resolve
from ..seeds import host_rng
from ..validation import check_layer_sizes, check_name
from .layers import Layer, Params

INITS: tuple[str, ...] = ("glorot_normal", "glorot_uniform", "he_normal")


def init_params(
    layer_sizes: Sequence[int],
    *,
    init: str = "glorot_normal",
    seed: object = 0,
    dtype: object = None,
    backend: str | None = HOST_BACKEND,
    device: object = None,
) -> Params:
    """Initialise the layers of an MLP.

    Parameters
    ----------
    layer_sizes : sequence of int
        ``(n_in, hidden_1, ..., n_out)``; at least two sizes, each >= 1.  The
        lecture's BMI network is ``(2, 8, 1)``.
    init : {"glorot_normal", "glorot_uniform", "he_normal"}
        ``glorot_normal``: W ~ N(0, sigma), sigma = sqrt(2 / (in + out)).
        ``glorot_uniform``: W ~ U(-a, a), a = sqrt(6 / (in + out)).
        ``he_normal``: W ~ N(0, sqrt(2 / in)), suited to ReLU.  Biases are zero.
    seed : int, numpy.random.Generator or None
        The host generator's seed.
    dtype : {"float32", "float64"} or None
        None means the backend's default floating dtype.
    backend, device : str
        Where the arrays are created; see :func:`mlp_xp.resolve`.

    Returns
    -------
    tuple of Layer
        ``Layer(W, b)`` with W of shape (out, in) and b of shape (out,).
    """
    sizes = check_layer_sizes(layer_sizes)
    check_name("init", init, INITS)
    placement = resolve(backend, device)
    rng = host_rng(seed)
    dtype_ = float_dtype(placement.xp, dtype, placement.device)
    layers = []
    for n_in, n_out in itertools.pairwise(sizes):
        if init == "glorot_normal":
            W = rng.normal(0.0, math.sqrt(2.0 / (n_in + n_out)), size=(n_out, n_in))
        elif init == "glorot_uniform":
            limit = math.sqrt(6.0 / (n_in + n_out))
            W = rng.uniform(-limit, limit, size=(n_out, n_in))
        else:
            W = rng.normal(0.0, math.sqrt(2.0 / n_in), size=(n_out, n_in))
        layers.append(
            Layer(from_host(W, placement, dtype_), from_host([0.0] * n_out, placement, dtype_))
        )
    return tuple(layers)
