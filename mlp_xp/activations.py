"""Activation functions, each with its derivative right beside it.

Every entry has a ``forward(xp, z) -> (a, saved)`` that computes the activation
of the pre-activation ``z`` and keeps what the derivative needs, and a
``backward(xp, grad_a, saved) -> grad_z`` that applies the chain rule
dL/dz = dL/da * a'(z).  Only functions of the namespace ``xp`` are called.

Both may overwrite their array argument in place: the network always passes a
temporary of its own (a fresh matrix product), never an array the caller owns.
That saves one allocation per layer and direction; in namespaces without
in-place operators (JAX, Dask) ``x *= y`` simply rebinds to a new array.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from ._backend import Array, Namespace


class Activation(NamedTuple):
    """An activation function and its derivative."""

    name: str
    forward: Callable[[Namespace, Array], tuple[Array, Any]]
    backward: Callable[[Namespace, Array, Any], Array]
    hidden: bool
    """Whether it may be used between layers (softmax may not)."""


def _identity_forward(xp: Namespace, z: Array) -> tuple[Array, None]:
    """a = z."""
    return z, None


def _identity_backward(xp: Namespace, g: Array, saved: None) -> Array:
    """a'(z) = 1."""
    return g


def _relu_forward(xp: Namespace, z: Array) -> tuple[Array, Array]:
    """a = max(0, z) = z * ReLU'(z), in place; keeps ReLU'(z) for the backward pass."""
    # ReLU'(z) = 1 for z >= 0 (so ReLU'(0) = 1, as in the lecture), 0 for z < 0.
    # It is cast to z's dtype (the lecture's np.where(H_ >= 0.0, 1.0, 0.0) makes
    # float64), so value and derivative are each one in-place multiplication,
    # several times cheaper than where() on narrow layers.  (z * 0 is -0.0 for
    # z < 0, which compares and adds exactly like 0.0.)
    slope = xp.astype(z >= 0, z.dtype)
    z *= slope
    return z, slope


def _relu_backward(xp: Namespace, g: Array, slope: Array) -> Array:
    """dL/dz = dL/da * ReLU'(z), in place."""
    g *= slope
    return g


def _sigmoid_forward(xp: Namespace, z: Array) -> tuple[Array, Array]:
    """sigma(z) = 1 / (1 + exp(-z)), evaluated without overflow for any z."""
    # exp(-|z|) lies in (0, 1], so it never overflows.  For z >= 0 use
    # 1 / (1 + e), for z < 0 the equal e / (1 + e); both are exact to rounding.
    e = xp.exp(-xp.abs(z))
    r = 1.0 / (1.0 + e)
    a = xp.where(z >= 0, r, e * r)
    return a, a


def _sigmoid_backward(xp: Namespace, g: Array, a: Array) -> Array:
    """sigma'(z) = sigma(z) (1 - sigma(z)), of the pre-activation z (a = sigma(z))."""
    g *= a * (1.0 - a)
    return g


def _tanh_forward(xp: Namespace, z: Array) -> tuple[Array, Array]:
    """a = tanh(z)."""
    a = xp.tanh(z)
    return a, a


def _tanh_backward(xp: Namespace, g: Array, a: Array) -> Array:
    """tanh'(z) = 1 - tanh(z)^2."""
    g *= 1.0 - a * a
    return g


def _softmax_forward(xp: Namespace, z: Array) -> tuple[Array, Array]:
    """softmax(z)_k = exp(z_k) / sum_j exp(z_j) over each row, shifted by the row max."""
    e = xp.exp(z - xp.max(z, axis=1, keepdims=True))
    a = e / xp.sum(e, axis=1, keepdims=True)
    return a, a


def _softmax_backward(xp: Namespace, g: Array, a: Array) -> Array:
    """Jacobian-vector product of softmax: a * (g - sum_k g_k a_k)."""
    return a * (g - xp.sum(g * a, axis=1, keepdims=True))


ACTIVATIONS: dict[str, Activation] = {
    "identity": Activation("identity", _identity_forward, _identity_backward, True),
    "relu": Activation("relu", _relu_forward, _relu_backward, True),
    "sigmoid": Activation("sigmoid", _sigmoid_forward, _sigmoid_backward, True),
    "tanh": Activation("tanh", _tanh_forward, _tanh_backward, True),
    "softmax": Activation("softmax", _softmax_forward, _softmax_backward, False),
}
"""Every activation by name."""

HIDDEN_ACTIVATIONS: tuple[str, ...] = tuple(k for k, v in ACTIVATIONS.items() if v.hidden)
