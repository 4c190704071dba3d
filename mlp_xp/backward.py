"""Backpropagation through all layers.

With delta_l = dL/dz_l for the batch (rows are samples, already scaled by 1/n so
that the gradients are batch means):

    dL/dW_l = delta_l.T @ a_{l-1}         (shape (out, in), like W_l)
    dL/db_l = sum over rows of delta_l  (computed as ones @ delta_l)
    delta_{l-1} = (delta_l @ W_l) * f'(z_{l-1})

which is the lecture's delta_j = f'(h_j) sum_k delta_k w_jk, written for a batch.
"""

from __future__ import annotations

from ._backend import Array, Namespace
from .forward import Trace
from .layers import Layer, Params
from .plan import Plan


def output_delta(xp: Namespace, trace: Trace, Y: Array, plan: Plan) -> Array:
    """dL/dz of the output layer, with the batch mean's 1/n folded in."""
    output = plan.output
    return plan.loss.delta(xp, trace.y_hat, Y, output, trace.saved[-1], 1.0 / Y.shape[0])


def backward(
    xp: Namespace, params: Params, trace: Trace, delta: Array, plan: Plan, alpha: float = 0.0
) -> Params:
    """Gradients of every layer, given the output delta.

    It consumes ``trace``: each stored activation is dropped once used, so its
    memory can go before the next layer's gradients are made.

    ``alpha`` adds scikit-learn's L2 penalty alpha/(2 n) * sum ||W||^2 (biases
    excluded, n the batch size), whose gradient is (alpha / n) * W.
    """
    grads: list[Layer] = []
    # Column sums as a product with a vector of ones: BLAS does this several times
    # faster than a reduction over axis 0, which strides across narrow rows.
    ones = xp.ones_like(delta[:, 0])
    for i in range(len(params) - 1, -1, -1):
        W = params[i].W
        # delta.T is a view, so matmul takes the transposed operand as is.
        gW = delta.T @ trace.inputs[i]
        trace.inputs[i] = None
        if alpha:
            gW += W * (alpha / delta.shape[0])
        grads.append(Layer(gW, ones @ delta))
        if i:
            # delta @ W is a fresh array, so the activation may scale it in place.
            delta = plan.hidden.backward(xp, delta @ W, trace.saved[i - 1])
            trace.saved[i - 1] = None
    grads.reverse()
    return tuple(grads)
