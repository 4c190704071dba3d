"""No mutation across a boundary: public entries leave their arguments alone."""

from __future__ import annotations

import numpy as np
import pytest

from mlp_xp.nn.activations import ACTIVATIONS
from mlp_xp.nn.backprop import forward_output, forward_trace
from mlp_xp.nn.layers import Layer
from mlp_xp.nn.network import value_and_grad
from mlp_xp.nn.plan import make_plan


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_public_activations_leave_their_arguments_alone(target, host, name):
    act = ACTIVATIONS[name]
    z_host = [[-2.0, -0.5, 0.0, 0.5, 2.0]]
    z = target.asarray(z_host)
    a, saved = act.forward(target.xp, z)
    np.testing.assert_array_equal(host(z), z_host)
    g = target.asarray([[1.0, 2.0, 3.0, 4.0, 5.0]])
    act.backward(target.xp, g, saved)
    np.testing.assert_array_equal(host(g), [[1.0, 2.0, 3.0, 4.0, 5.0]])
    # The in-place versions compute the same values, used as returned.
    a2, saved2 = act.inplace_forward(target.xp, target.asarray(z_host))
    np.testing.assert_array_equal(host(a2), host(a))
    g2 = act.inplace_backward(target.xp, target.asarray([[1.0, 2.0, 3.0, 4.0, 5.0]]), saved2)
    np.testing.assert_array_equal(host(g2), host(act.backward(target.xp, g, saved)))


def _net(target):
    W0 = target.asarray([[1.0, -1.0], [0.5, 2.0], [-1.0, 0.25]])
    W1 = target.asarray([[1.0, -2.0, 0.5]])
    return (Layer(W0, target.asarray([0.1, -0.2, 0.0])), Layer(W1, target.asarray([-3.0])))


def test_trace_z_is_the_preactivation_even_after_an_inplace_output(target, host):
    """A ReLU output must not overwrite the logits on a namespace that writes in place."""
    params = _net(target)
    X = target.asarray([[1.0, 2.0], [-1.0, 0.5]])
    plan = make_plan("relu", "squared_error", "relu")
    trace = forward_trace(target.xp, params, X, plan)
    z, y_hat = forward_output(target.xp, params, X, plan)
    assert float(np.min(host(trace.z))) < 0  # the logits keep their negative entries
    np.testing.assert_array_equal(host(trace.z), host(z))
    np.testing.assert_array_equal(host(trace.y_hat), np.maximum(host(z), 0.0))
    np.testing.assert_array_equal(host(y_hat), host(trace.y_hat))


def test_the_kernels_leave_params_and_data_alone(target, host):
    params = _net(target)
    before = [host(a) for layer in params for a in layer]
    X = target.asarray([[1.0, 2.0], [-1.0, 0.5]])
    Y = target.asarray([[0.5], [-0.5]])
    for activation in ("relu", "sigmoid", "tanh"):
        value_and_grad(target.xp, params, X, Y, make_plan(activation), alpha=0.1)
    after = [host(a) for layer in params for a in layer]
    for b, a in zip(before, after):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(host(X), [[1.0, 2.0], [-1.0, 0.5]])
    np.testing.assert_array_equal(host(Y), [[0.5], [-0.5]])


@pytest.mark.parametrize("choice", ["product", "reduction"])
def test_both_ways_of_summing_rows_give_the_bias_gradients(target, host, choice):
    """The caller hands the backward pass its kernel for the column sums; both give them.

    The weight gradients do not depend on it, and the bias gradients are the float64
    column sums of the deltas to within the rounding of a sum of 64 rows.
    """
    rng = np.random.default_rng(3)
    Xh, Yh = rng.standard_normal((64, 2)), rng.standard_normal((64, 1))
    params = _net(target)
    X, Y = target.asarray(Xh), target.asarray(Yh)
    plan = make_plan("tanh")
    _, theirs = value_and_grad(target.xp, params, X, Y, plan)
    _, grads = value_and_grad(target.xp, params, X, Y, plan, column_sums=choice)
    # The reference: the float64 deltas of the same network, on the host.
    W0, b0 = (host(a).astype(np.float64) for a in params[0])
    W1, b1 = (host(a).astype(np.float64) for a in params[1])
    h = np.tanh(Xh @ W0.T + b0)
    d1 = (h @ W1.T + b1 - Yh) / len(Xh)
    d0 = (d1 @ W1) * (1.0 - h**2)
    tol = 64 * target.eps * (np.abs(d0).sum(axis=0).max() + np.abs(d1).sum())
    np.testing.assert_allclose(host(grads[1].b), d1.sum(axis=0), rtol=0, atol=tol)
    np.testing.assert_allclose(host(grads[0].b), d0.sum(axis=0), rtol=0, atol=tol)
    for mine, other in zip(grads, theirs):
        np.testing.assert_array_equal(host(mine.W), host(other.W))


def test_the_column_sums_kernel_is_the_callers_choice_not_asked_per_pass(monkeypatch):
    """The maths sums rows as it is told, without asking the backend on each pass.

    On NumPy, ``"product"`` is ``delta.T @ ones`` and ``"reduction"`` is
    ``sum(delta, axis=0)``, bit for bit; the backward pass looks nothing up.
    """
    import mlp_xp.backend.registry as registry

    rng = np.random.default_rng(5)
    X, Y = rng.standard_normal((33, 3)), rng.standard_normal((33, 2))
    params = (Layer(rng.standard_normal((2, 3)), rng.standard_normal(2)),)
    plan = make_plan("relu", "squared_error", "identity")
    delta = (X @ params[0].W.T + params[0].b - Y) * (1.0 / len(X))

    def no_lookups(x: object) -> None:
        raise AssertionError("the backward pass asked the backend")

    monkeypatch.setattr(registry, "adapter_of", no_lookups)
    monkeypatch.setattr(registry, "_OWNER", {})
    _, by_product = value_and_grad(np, params, X, Y, plan, column_sums="product")
    _, by_reduction = value_and_grad(np, params, X, Y, plan, column_sums="reduction")
    np.testing.assert_array_equal(by_product[0].b, delta.T @ np.ones(len(X)))
    np.testing.assert_array_equal(by_reduction[0].b, np.sum(delta, axis=0))
    np.testing.assert_array_equal(by_product[0].W, by_reduction[0].W)
