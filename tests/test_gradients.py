"""Backpropagation against central finite differences, and across backends."""

from __future__ import annotations

import numpy as np
import pytest

import mlp_xp
from mlp_xp.nn.activations import HIDDEN_ACTIVATIONS

from . import reference as ref

# Every loss with every output activation it accepts.
LOSS_OUTPUTS = [
    ("squared_error", "identity"),
    ("squared_error", "relu"),
    ("squared_error", "sigmoid"),
    ("squared_error", "tanh"),
    ("squared_error", "softmax"),
    ("binary_cross_entropy", "sigmoid"),
    ("cross_entropy", "softmax"),
]
DEPTHS = (1, 2, 3, 4)


def _sizes(depth: int) -> tuple[int, ...]:
    """depth layers: 3 inputs, hidden widths 5, 4, 6, and 3 outputs."""
    return (*(3, 5, 4, 6)[:depth], 3)


def _min_abs_preactivation(params: list, X: np.ndarray, hidden: str) -> float:
    """The smallest |z| of any unit, to keep finite differences off ReLU's kink."""
    a, smallest = X, np.inf
    for W, b in params:
        z = a @ W.T + b
        smallest = min(smallest, float(np.min(np.abs(z))))
        a = ref.ACTIVATIONS[hidden](z)
    return smallest


@pytest.mark.parametrize("depth", DEPTHS)
@pytest.mark.parametrize(("loss", "output"), LOSS_OUTPUTS)
@pytest.mark.parametrize("activation", HIDDEN_ACTIVATIONS)
def test_gradients_match_central_differences(activation, loss, output, depth):
    h = 1e-6
    for seed in range(20):
        params, X, Y = ref.random_problem(_sizes(depth), 7, loss, seed)
        if _min_abs_preactivation(params, X, activation) > 100 * h:
            break
    host = [mlp_xp.Layer(W, b) for W, b in params]
    got = mlp_xp.gradients(tuple(host), X, Y, activation=activation, loss=loss, output=output)
    arrays = [a for layer in host for a in layer]

    def value() -> float:
        return float(
            mlp_xp.loss(tuple(host), X, Y, activation=activation, loss=loss, output=output)
        )

    expected = ref.finite_difference(value, arrays, h)
    for g, e in zip(mlp_xp.nn.layers.flatten(got), expected):
        # Central differences are accurate to O(h^2) + O(eps / h) ~ 1e-10 here.
        np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize(("loss", "output"), LOSS_OUTPUTS)
@pytest.mark.parametrize("activation", HIDDEN_ACTIVATIONS)
def test_loss_value_matches_independent_reference(activation, loss, output):
    params, X, Y = ref.random_problem((3, 5, 4, 3), 9, loss, 1)
    got = mlp_xp.loss(
        tuple(mlp_xp.Layer(W, b) for W, b in params),
        X,
        Y,
        activation=activation,
        loss=loss,
        output=output,
    )
    expected = ref.loss(params, X, Y, activation, loss, output)
    np.testing.assert_allclose(float(got), expected, rtol=1e-13)


@pytest.mark.parametrize(("loss", "output"), LOSS_OUTPUTS)
@pytest.mark.parametrize("activation", HIDDEN_ACTIVATIONS)
def test_gradients_agree_on_every_backend(target, host, activation, loss, output):
    """Each backend's gradients match float64 NumPy within its dtype's rounding."""
    params, X, Y = ref.random_problem((3, 6, 5, 3), 16, loss, 2)
    expected = mlp_xp.gradients(
        tuple(mlp_xp.Layer(W, b) for W, b in params),
        X,
        Y,
        activation=activation,
        loss=loss,
        output=output,
    )
    got = mlp_xp.gradients(
        target.params(params),
        target.asarray(X),
        target.asarray(Y),
        activation=activation,
        loss=loss,
        output=output,
    )
    scale = max(float(np.max(np.abs(a))) for a in mlp_xp.nn.layers.flatten(expected))
    for g, e in zip(mlp_xp.nn.layers.flatten(got), mlp_xp.nn.layers.flatten(expected)):
        assert g.dtype == target.dtype
        # Inputs are rounded to the dtype (relative eps/2) and three layers of
        # short dot products follow: 64 eps relative to the largest gradient.
        np.testing.assert_allclose(host(g), e, rtol=0, atol=64 * target.eps * scale)


def test_l2_penalty_gradient_matches_central_differences():
    params, X, Y = ref.random_problem((3, 4, 2), 6, "squared_error", 3)
    host = tuple(mlp_xp.Layer(W, b) for W, b in params)
    got = mlp_xp.gradients(host, X, Y, alpha=0.3)
    expected = ref.finite_difference(
        lambda: float(mlp_xp.loss(host, X, Y, alpha=0.3)),
        [a for layer in host for a in layer],
    )
    for g, e in zip(mlp_xp.nn.layers.flatten(got), expected):
        np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize(("loss", "output"), LOSS_OUTPUTS)
def test_training_kernel_reports_the_same_loss_and_gradients(target, host, loss, output):
    """value_and_grad (the training loop's kernel) agrees with loss() and gradients()."""
    params, X, Y = ref.random_problem((3, 6, 3), 16, loss, 5)
    p, Xt, Yt = target.params(params), target.asarray(X), target.asarray(Y)
    plan = mlp_xp.nn.plan.make_plan("tanh", loss, output)
    sums = target.placement.adapter.column_sums  # as training's step hands it over
    value, grads = mlp_xp.nn.network.value_and_grad(
        target.xp, p, Xt, Yt, plan, alpha=0.2, column_sums=sums
    )
    expected = mlp_xp.loss(p, Xt, Yt, activation="tanh", loss=loss, output=output, alpha=0.2)
    tol = 64 * target.eps
    np.testing.assert_allclose(float(host(value)), float(host(expected)), rtol=tol)
    again = mlp_xp.gradients(p, Xt, Yt, activation="tanh", loss=loss, output=output, alpha=0.2)
    for g, e in zip(mlp_xp.nn.layers.flatten(grads), mlp_xp.nn.layers.flatten(again)):
        np.testing.assert_array_equal(host(g), host(e))
