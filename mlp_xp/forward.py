"""The forward pass: z = a @ W.T + b, a = f(z), layer after layer."""

from __future__ import annotations

from typing import Any, NamedTuple

from ._backend import Array, Namespace
from .layers import Params
from .plan import Plan


class Trace(NamedTuple):
    """What the backward pass needs from the forward pass.

    The lists are handed over to :func:`mlp_xp.backward.backward`, which drops
    each entry as soon as it has used it, so that memory is released layer by
    layer during backpropagation.
    """

    inputs: list[Array | None]
    """The input of every layer: X, then each hidden activation."""
    saved: list[Any]
    """What each layer's activation kept for its derivative."""
    z: Array
    """The output layer's pre-activation: the logits the cross-entropies read.  (An
    activation that works in place, like ReLU, overwrites it; the cross-entropies'
    sigmoid and softmax never do.)"""
    y_hat: Array
    """The network's output."""


def forward_trace(xp: Namespace, params: Params, X: Array, plan: Plan) -> Trace:
    """Run the network on ``X`` and keep what backpropagation needs."""
    inputs: list[Array | None] = []
    saved: list[Any] = []
    a = X
    last = len(params) - 1
    z = a
    for i, (W, b) in enumerate(params):
        inputs.append(a)
        # W.T is a view: matmul reads W transposed without copying it.  The bias
        # is added in place into the fresh product, and the activation may work in
        # place on it too: z belongs to this function, never to the caller.
        z = a @ W.T
        z += b
        a, keep = (plan.output if i == last else plan.hidden).forward(xp, z)
        saved.append(keep)
    return Trace(inputs, saved, z, a)


def forward_output(xp: Namespace, params: Params, X: Array, plan: Plan) -> tuple[Array, Array]:
    """Run the network on ``X``; return (logits, output) and keep nothing else."""
    a = X
    last = len(params) - 1
    z = a
    for i, (W, b) in enumerate(params):
        z = a @ W.T
        z += b
        a, _ = (plan.output if i == last else plan.hidden).forward(xp, z)
    return z, a
