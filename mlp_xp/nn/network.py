"""The public maths: ``forward``, ``loss``, ``gradients`` and ``step`` for any depth.

Each public function finds the namespace of its arrays once, validates them, and
then calls kernels that take ``xp`` explicitly.  The kernels (``value_and_grad``,
``grad``) are what the training loop (:func:`mlp_xp.training.step.train_step`) calls
on every step, with no checks and no namespace lookup.
"""

from __future__ import annotations

import contextlib
import math

from ..backend import Array, Namespace, column_sums_of, device_scope, namespace_of
from ..caches import remember
from ..tree import tree_map
from ..validation import check_nonnegative_float, check_positive_float
from .backprop import backward, forward_output, forward_trace, penalised
from .checks import check_batch, check_params
from .layers import Params
from .plan import Plan, make_plan


def _namespace(params: object, X: Array, Y: Array | None) -> tuple[Namespace, Params]:
    """The one namespace of ``params``, ``X`` and ``Y``, and the checked parameters.

    Arrays of one Python type belong to one library, so when every array has the
    type of ``X`` the namespace is X's (one lookup instead of one per array, which
    the lecture's small step notices); otherwise every array is asked, so that
    the message names the odd one out.
    """
    if (Y is None or type(Y) is type(X)) and _all_of_type(params, type(X)):
        xp = _namespace_of_x(X)
        return xp, check_params(xp, params)
    named: dict[str, Array] = {"X": X}
    if Y is not None:
        named["Y"] = Y
    if isinstance(params, tuple):
        for i, layer in enumerate(params):
            if isinstance(layer, tuple) and len(layer) == 2:
                named[f"params[{i}].W"], named[f"params[{i}].b"] = layer
    xp = namespace_of(**named)
    return xp, check_params(xp, params)


_NAMESPACES: dict[tuple[type, object], Namespace] = {}
"""The namespace of arrays by (type, dtype), found once by :func:`namespace_of` each
(at most 64 kept, :func:`mlp_xp.caches.remember`).

Which library owns an array depends on its type alone, except for JAX's float0
gradients, which are NumPy arrays of a dtype of JAX's; the dtype is in the key.
"""


def _namespace_of_x(X: Array) -> Namespace:
    """``namespace_of(X=X)``, remembered by X's type and dtype."""
    try:
        key = (type(X), X.dtype)
        return _NAMESPACES[key]
    except (AttributeError, KeyError, TypeError):  # not seen yet, not an array, or unhashable
        pass
    xp = namespace_of(X=X)
    with contextlib.suppress(TypeError):  # a dtype that cannot be hashed is looked up each time
        remember(_NAMESPACES, (type(X), X.dtype), xp, 64)
    return xp


def _all_of_type(params: object, kind: type) -> bool:
    """Whether ``params`` is a tuple of (W, b) pairs whose arrays all have type ``kind``."""
    if type(params) is not tuple:
        return False
    for layer in params:
        if not isinstance(layer, tuple) or len(layer) != 2:
            return False
        if type(layer[0]) is not kind or type(layer[1]) is not kind:
            return False
    return True


_PLANS: dict[tuple[str, str, str | None], Plan] = {}
"""Plans by their names, each built (and its names checked) once; at most 64 kept."""


def _plan(activation: str, loss: str, output: str | None) -> Plan:
    """``make_plan(activation, loss, output)``, remembered for names that are strings."""
    names = type(activation) is str and type(loss) is str and type(output) in (str, type(None))
    if not names:  # anything else is refused by make_plan, with its message
        return make_plan(activation, loss, output)
    key = (activation, loss, output)
    plan = _PLANS.get(key)
    if plan is None:
        plan = remember(_PLANS, key, make_plan(activation, loss, output), 64)
    return plan


def _prepare(
    params: object,
    X: Array,
    Y: Array,
    activation: str,
    loss: str,
    output: str | None,
    alpha: float,
) -> tuple[Namespace, Params, Plan, float]:
    """The public functions' shared checks: namespace, parameters, plan, alpha, data."""
    xp, layers = _namespace(params, X, Y)
    plan = _plan(activation, loss, output)
    a = check_nonnegative_float("alpha", alpha)
    check_batch(xp, layers, X, Y)
    return xp, layers, plan, a


def l2_penalty(xp: Namespace, params: Params, alpha: float | Array, n: float | Array) -> Array:
    """alpha/(2 n) * sum of squared weights (biases excluded), as a 0-d array.

    This is scikit-learn's convention: the penalty is divided by the batch size n
    (with sample weights, by the batch's weight sum, so that an integer weight
    is the same as repeating the row).
    """
    return sum(
        (xp.sum(layer.W * layer.W) for layer in params[1:]), xp.sum(params[0].W * params[0].W)
    ) * (0.5 * alpha / n)


def weight_scale(xp: Namespace, w: Array) -> tuple[Array, Array]:
    """Row weights ``w`` (n, 1) as (w / sum w, sum w), for the weighted batch mean.

    A batch whose weights are all zero contributes nothing: its rows scale by 0
    and its weight sum counts as infinite in the L2 term, so its gradient is 0.
    """
    total = xp.sum(w)
    ones = xp.ones_like(total)
    some = total > 0
    return w / xp.where(some, total, ones), xp.where(some, total, ones * math.inf)


def value_and_grad(
    xp: Namespace,
    params: Params,
    X: Array,
    Y: Array,
    plan: Plan,
    alpha: float | Array = 0.0,
    w: Array | None = None,
    column_sums: str = "product",
) -> tuple[Array, Params]:
    """Kernel: the batch loss (0-d array) and the gradients of every layer.

    ``w`` is None, or the batch's sample weights as a column (n, 1): the loss is
    then the weighted mean, and the L2 term is divided by the weight sum.
    ``column_sums`` is the backward pass's kernel for the bias gradients, the
    library's ``Adapter.column_sums`` (see :func:`mlp_xp.nn.backprop.backward`),
    chosen by the caller at its boundary rather than asked on every pass.
    """
    trace = forward_trace(xp, params, X, plan)
    if w is None:
        scale: float | Array = 1.0 / Y.shape[0]
        n: float | Array = X.shape[0]
    else:
        scale, n = weight_scale(xp, w)
    value, delta = plan.loss.value_and_delta(
        xp, trace.z, trace.y_hat, Y, plan.output, trace.saved[-1], scale
    )
    if penalised(alpha):
        value = value + l2_penalty(xp, params, alpha, n)
    n_or_none = None if w is None else n
    return value, backward(xp, params, trace, delta, plan, alpha, n_or_none, column_sums)


def grad(
    xp: Namespace,
    params: Params,
    X: Array,
    Y: Array,
    plan: Plan,
    alpha: float = 0.0,
    w: Array | None = None,
    column_sums: str = "product",
) -> Params:
    """Kernel: the gradients of every layer (the loss value is dropped)."""
    return value_and_grad(xp, params, X, Y, plan, alpha, w, column_sums)[1]


def forward(
    params: Params, X: Array, *, activation: str = "relu", output: str = "identity"
) -> Array:
    """Run the network on a batch.

    Parameters
    ----------
    params : tuple of Layer
        ``Layer(W, b)`` with W of shape (out, in).
    X : array, shape (n_samples, n_features)
    activation : {"relu", "sigmoid", "tanh", "identity"}
        The activation between layers.
    output : {"identity", "relu", "sigmoid", "tanh", "softmax"}
        The output activation.

    Returns
    -------
    array, shape (n_samples, n_outputs)
        In the namespace, on the device and in the dtype of ``X``.
    """
    xp, params = _namespace(params, X, None)
    plan = _plan(activation, "squared_error", output)
    check_batch(xp, params, X, finite=False)
    with device_scope(X):
        return forward_output(xp, params, X, plan)[1]


def loss(
    params: Params,
    X: Array,
    Y: Array,
    *,
    activation: str = "relu",
    loss: str = "squared_error",
    output: str | None = None,
    alpha: float = 0.0,
) -> Array:
    """The batch-mean loss, plus the L2 penalty alpha/(2 n) * sum ||W||^2.

    Parameters
    ----------
    params : tuple of Layer
    X : array, shape (n_samples, n_features)
    Y : array, shape (n_samples, n_outputs)
    activation, loss, output : str
        See :func:`mlp_xp.plan.make_plan`.
    alpha : float
        L2 strength, as in scikit-learn: alpha/(2 n) * sum ||W||^2 with n the
        batch size; biases are not penalised.

    Returns
    -------
    array, shape ()
        A 0-d array of the dtype of ``X``, on its device.
    """
    xp, params, plan, a = _prepare(params, X, Y, activation, loss, output, alpha)
    with device_scope(X):
        z, y_hat = forward_output(xp, params, X, plan)
        value = plan.loss.value(xp, z, y_hat, Y, None)
        return value + l2_penalty(xp, params, a, X.shape[0]) if a else value


def gradients(
    params: Params,
    X: Array,
    Y: Array,
    *,
    activation: str = "relu",
    loss: str = "squared_error",
    output: str | None = None,
    alpha: float = 0.0,
) -> Params:
    """Backpropagation: the gradient of :func:`loss` for every layer.

    Returns
    -------
    tuple of Layer
        ``Layer(dL/dW, dL/db)`` for each layer, shaped like ``params``.
    """
    xp, params, plan, a = _prepare(params, X, Y, activation, loss, output, alpha)
    with device_scope(X):
        return grad(xp, params, X, Y, plan, a, None, column_sums_of(X))


def step(
    params: Params,
    X: Array,
    Y: Array,
    learning_rate: float,
    *,
    activation: str = "relu",
    loss: str = "squared_error",
    output: str | None = None,
    alpha: float = 0.0,
) -> Params:
    """One gradient-descent step: ``p - learning_rate * dL/dp`` for every array.

    For other optimizers use :func:`gradients` with :mod:`mlp_xp.optimizers`.

    Returns
    -------
    tuple of Layer
        New arrays; ``params`` is not modified.
    """
    lr = check_positive_float("learning_rate", learning_rate)  # as mlp_xp.sgd checks it
    xp, params, plan, a = _prepare(params, X, Y, activation, loss, output, alpha)
    with device_scope(X):
        grads = grad(xp, params, X, Y, plan, a, None, column_sums_of(X))
        # mlp_xp.sgd's update and apply_updates, p + g * (-lr), in one pass over the tree.
        return tree_map(lambda p, g: p + g * (-lr), params, grads)
