"""Parameters: a network is a tuple of ``Layer(W, b)`` (nn layer).

``W`` has shape (out, in) and ``b`` shape (out,), as in the lecture, so a layer
maps a batch ``A`` of shape (n, in) to ``A @ W.T + b`` of shape (n, out).
"""

from __future__ import annotations

from typing import NamedTuple, TypeAlias

from ..backend import Array
from ..tree import leaf_pair


@leaf_pair
class Layer(NamedTuple):
    """The weights and biases of one fully connected layer.

    Attributes
    ----------
    W : array, shape (n_out, n_in)
    b : array, shape (n_out,)
    """

    W: Array
    b: Array


Params: TypeAlias = tuple[Layer, ...]
"""A network's parameters, input layer first."""


def layer_sizes(params: Params) -> tuple[int, ...]:
    """The sizes (n_in, hidden..., n_out) a tuple of layers implements."""
    return (int(params[0].W.shape[1]), *(int(layer.W.shape[0]) for layer in params))


def flatten(params: Params) -> tuple[Array, ...]:
    """(W0, b0, W1, b1, ...): the plain tuple of arrays that optimizers work on."""
    return tuple(a for layer in params for a in layer)
