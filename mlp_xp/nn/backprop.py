"""Backpropagation, forward and backward side by side (nn layer, handed ``xp``).

The forward pass computes z = a @ W.T + b and a = f(z), layer after layer.
With delta_l = dL/dz_l for the batch (rows are samples, already scaled by 1/n
so that the gradients are batch means), the backward pass computes

    dL/dW_l = delta_l.T @ a_{l-1}         (shape (out, in), like W_l)
    dL/db_l = sum over rows of delta_l  (delta_l.T @ ones, or sum(delta_l, axis=0))
    delta_{l-1} = (delta_l @ W_l) * f'(z_{l-1})

which is the lecture's delta_j = f'(h_j) sum_k delta_k w_jk, written for a batch.

Hidden activations run in place (``inplace_forward``, ``inplace_backward``) on
products these functions just made, never on an array a caller passed in.  The
output layer's activation does not, so that ``Trace.z`` is the pre-activation
on every namespace, whether its arrays can be written in place or not.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from ..backend import Array, Namespace
from .layers import Layer, Params
from .plan import Plan


class Trace(NamedTuple):
    """What the backward pass needs from the forward pass.

    A Trace is consumed by :func:`backward`: it drops each list entry as soon as
    it has used it, so that memory is released layer by layer during
    backpropagation.  Run :func:`forward_trace` again to backpropagate twice.
    """

    inputs: list[Array | None]
    """The input of every layer: X, then each hidden activation."""
    saved: list[Any]
    """What each layer's activation kept for its derivative."""
    z: Array
    """The output layer's pre-activation: the logits the cross-entropies read."""
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
        # is added into the fresh product, which belongs to this function.
        z = a @ W.T
        z += b
        if i == last:
            a, keep = plan.output.forward(xp, z)
        else:
            a, keep = plan.hidden.inplace_forward(xp, z)
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
        if i == last:
            a, _ = plan.output.forward(xp, z)
        else:
            a, _ = plan.hidden.inplace_forward(xp, z)
    return z, a


def penalised(alpha: float | Array) -> bool:
    """Whether ``alpha`` adds an L2 term: a nonzero number, or an array (traced, in a
    compiled epoch, whose one compilation serves every alpha, 0 too)."""
    return not isinstance(alpha, (int, float)) or alpha != 0


def backward(
    xp: Namespace,
    params: Params,
    trace: Trace,
    delta: Array,
    plan: Plan,
    alpha: float | Array = 0.0,
    n: float | Array | None = None,
    column_sums: str = "product",
) -> Params:
    """Gradients of every layer, given the output delta; consumes ``trace``.

    ``alpha`` adds scikit-learn's L2 penalty alpha/(2 n) * sum ||W||^2 (biases
    excluded), whose gradient is (alpha / n) * W.  ``n`` is the batch size, or
    with sample weights the batch's weight sum (a 0-d array); None means the
    number of rows of ``delta``.

    ``column_sums`` is the kernel that sums a batch's rows into the bias
    gradients, chosen by the caller once for its library (the backend's
    ``Adapter.column_sums``): ``"product"``, a product with a vector of ones,
    which BLAS runs several times faster than NumPy's reduction over axis 0
    (that strides across narrow rows), or ``"reduction"``, ``sum(delta, axis=0)``,
    one call instead of three where each call costs a dispatch.
    """
    count = delta.shape[0] if n is None else n
    grads: list[Layer] = []
    # delta.T @ ones, not ones @ delta: the same matrix-vector product (same bits,
    # same time), and one transpose shared with dW.
    ones = None if column_sums == "reduction" else xp.ones_like(delta[:, 0])
    for i in range(len(params) - 1, -1, -1):
        W = params[i].W
        # delta.T is a view, so matmul takes the transposed operand as is.
        delta_t = delta.T
        gW = delta_t @ trace.inputs[i]
        trace.inputs[i] = None
        if penalised(alpha):
            gW += W * (alpha / count)
        grads.append(Layer(gW, xp.sum(delta, axis=0) if ones is None else delta_t @ ones))
        if i:
            # delta @ W is a fresh array, so the activation may scale it in place.
            delta = plan.hidden.inplace_backward(xp, delta @ W, trace.saved[i - 1])
            trace.saved[i - 1] = None
    grads.reverse()
    return tuple(grads)
