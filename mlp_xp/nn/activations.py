"""Activation functions, each with its derivative right beside it.

Every entry has a ``forward(xp, z) -> (a, saved)`` that computes the activation
of the pre-activation ``z`` and keeps what the derivative needs, and a
``backward(xp, grad_a, saved) -> grad_z`` that applies the chain rule
dL/dz = dL/da * a'(z).  Only functions of the namespace ``xp`` are called.

Both leave their arguments untouched.  Beside them, ``inplace_forward`` and
``inplace_backward`` compute the same values and may overwrite their array
argument (scikit-learn's ``inplace_relu`` habit): only the network's kernels
call them (:mod:`mlp_xp.nn.backprop`), and only on temporaries of their own (a
fresh matrix product), never on an array a caller owns.  That saves one
allocation per layer and direction.  Their results are always used as
returned, never read back through the argument: in namespaces whose arrays
are immutable (JAX) ``x *= y`` rebinds to a new array, and the argument keeps
its old value.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from ..backend import Array, Namespace


class Activation(NamedTuple):
    """An activation function and its derivative, each also in a version that works in place."""

    name: str
    forward: Callable[[Namespace, Array], tuple[Array, Any]]
    """(xp, z) -> (a, saved): the activation and what its derivative needs."""
    backward: Callable[[Namespace, Array, Any], Array]
    """(xp, dL/da, saved) -> dL/dz."""
    hidden: bool
    """Whether it may be used between layers (softmax may not)."""
    inplace_forward: Callable[[Namespace, Array], tuple[Array, Any]]
    """As ``forward``, but may overwrite ``z``: for the network's own temporaries only."""
    inplace_backward: Callable[[Namespace, Array, Any], Array]
    """As ``backward``, but may overwrite dL/da: for the network's own temporaries only."""


def _identity_forward(xp: Namespace, z: Array) -> tuple[Array, None]:
    """a = z."""
    return z, None


def _identity_backward(xp: Namespace, g: Array, saved: None) -> Array:
    """a'(z) = 1."""
    return g


def _relu_slope(xp: Namespace, z: Array) -> Array:
    """ReLU'(z) = 1 for z >= 0 (so ReLU'(0) = 1, as in the lecture), 0 for z < 0."""
    # Cast to z's dtype (the lecture's np.where(H_ >= 0.0, 1.0, 0.0) makes
    # float64), so value and derivative are each one multiplication, several
    # times cheaper than where() on narrow layers.  (z * 0 is -0.0 for z < 0,
    # which compares and adds exactly like 0.0.)
    return xp.astype(z >= 0, z.dtype)


def _relu_forward(xp: Namespace, z: Array) -> tuple[Array, Array]:
    """a = max(0, z) = z * ReLU'(z); keeps ReLU'(z) for the backward pass."""
    slope = _relu_slope(xp, z)
    return z * slope, slope


def _inplace_relu_forward(xp: Namespace, z: Array) -> tuple[Array, Array]:
    """As :func:`_relu_forward`, multiplying into ``z``."""
    slope = _relu_slope(xp, z)
    z *= slope
    return z, slope


def _relu_backward(xp: Namespace, g: Array, slope: Array) -> Array:
    """dL/dz = dL/da * ReLU'(z)."""
    return g * slope


def _inplace_relu_backward(xp: Namespace, g: Array, slope: Array) -> Array:
    """As :func:`_relu_backward`, multiplying into ``g``."""
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
    return g * (a * (1.0 - a))


def _inplace_sigmoid_backward(xp: Namespace, g: Array, a: Array) -> Array:
    """As :func:`_sigmoid_backward`, multiplying into ``g``."""
    g *= a * (1.0 - a)
    return g


def _tanh_forward(xp: Namespace, z: Array) -> tuple[Array, Array]:
    """a = tanh(z)."""
    a = xp.tanh(z)
    return a, a


def _tanh_backward(xp: Namespace, g: Array, a: Array) -> Array:
    """tanh'(z) = 1 - tanh(z)^2."""
    return g * (1.0 - a * a)


def _inplace_tanh_backward(xp: Namespace, g: Array, a: Array) -> Array:
    """As :func:`_tanh_backward`, multiplying into ``g``."""
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
    # identity, sigmoid, tanh and softmax never write into z: one function serves both.
    "identity": Activation(
        "identity",
        _identity_forward,
        _identity_backward,
        True,
        _identity_forward,
        _identity_backward,
    ),
    "relu": Activation(
        "relu", _relu_forward, _relu_backward, True, _inplace_relu_forward, _inplace_relu_backward
    ),
    "sigmoid": Activation(
        "sigmoid",
        _sigmoid_forward,
        _sigmoid_backward,
        True,
        _sigmoid_forward,
        _inplace_sigmoid_backward,
    ),
    "tanh": Activation(
        "tanh", _tanh_forward, _tanh_backward, True, _tanh_forward, _inplace_tanh_backward
    ),
    "softmax": Activation(
        "softmax",
        _softmax_forward,
        _softmax_backward,
        False,
        _softmax_forward,
        _softmax_backward,
    ),
}
"""Every activation by name."""

HIDDEN_ACTIVATIONS: tuple[str, ...] = tuple(k for k, v in ACTIVATIONS.items() if v.hidden)
