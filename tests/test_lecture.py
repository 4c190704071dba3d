"""The lecture's gradient_descent_step: agreement, a hand-worked case, and dtypes."""

from __future__ import annotations

import numpy as np
import pytest

import mlp_xp

from . import reference as ref


def _bmi_problem(n: int = 64, seed: int = 0):
    rng = np.random.default_rng(seed)
    height = rng.normal(1.70, 0.1, size=n)
    weight = rng.normal(70.0, 12.0, size=n)
    X = np.stack([(height - 1.7) / 0.1, (weight - 70) / 12], axis=1)
    Y = (weight / height**2)[:, None] / 25.0
    W0 = rng.normal(0, np.sqrt(2 / 10), size=(8, 2))
    b0 = rng.normal(0, 0.1, size=8)
    W1 = rng.normal(0, np.sqrt(2 / 9), size=(1, 8))
    b1 = np.zeros(1)
    return X, Y, W0, b0, W1, b1


def test_agrees_with_the_lecture_within_1e_12_in_float64():
    X, Y, W0, b0, W1, b1 = _bmi_problem()
    for _ in range(50):
        expected = ref.lecture_gradient_descent_step(X, Y, W0, b0, W1, b1, 0.05)
        got = mlp_xp.gradient_descent_step(X, Y, W0, b0, W1, b1, 0.05)
        for g, e in zip(got, expected):
            np.testing.assert_allclose(g, e, rtol=1e-12, atol=0)
        W0, b0, W1, b1 = expected


def test_agrees_with_the_lecture_on_every_backend(target, host):
    X, Y, W0, b0, W1, b1 = _bmi_problem()
    expected = ref.lecture_gradient_descent_step(X, Y, W0, b0, W1, b1, 0.05)
    got = mlp_xp.gradient_descent_step(*(target.asarray(a) for a in (X, Y, W0, b0, W1, b1)), 0.05)
    for g, e in zip(got, expected):
        assert g.dtype == target.dtype
        assert mlp_xp.backend.device_of(g) == target.device
        tol = 1e-12 if target.dtype_name == "float64" else 64 * target.eps
        np.testing.assert_allclose(host(g), e, rtol=tol, atol=tol * np.max(np.abs(e)))


def test_one_tiny_network_worked_by_hand():
    # x = 2; h_ = 0.5 * 2 + 0.5 = 1.5, h = 1.5; y_hat = 2 * 1.5 - 1 = 2; y = 1.
    # delta = y_hat - y = 1; dW1 = delta * h = 1.5; db1 = 1;
    # delta_h = delta * W1 * ReLU'(1.5) = 2; dW0 = delta_h * x = 4; db0 = 2.
    # With learning rate 0.1: W0 = 0.5 - 0.4, b0 = 0.5 - 0.2, W1 = 2 - 0.15, b1 = -1 - 0.1.
    X, Y = np.array([[2.0]]), np.array([[1.0]])
    W0, b0, W1, b1 = np.array([[0.5]]), np.array([0.5]), np.array([[2.0]]), np.array([-1.0])
    got = mlp_xp.gradient_descent_step(X, Y, W0, b0, W1, b1, 0.1)
    for g, e in zip(got, ([[0.1]], [0.3], [[1.85]], [-1.1])):
        np.testing.assert_allclose(g, e, rtol=1e-15)
    assert float(mlp_xp.loss((mlp_xp.Layer(W0, b0), mlp_xp.Layer(W1, b1)), X, Y)) == 0.5


def test_relu_derivative_at_zero_is_one():
    # z = 1 * 1 + 1 * (-1) + 0 = 0 exactly: ReLU(0) = 0 but ReLU'(0) = 1, so the
    # hidden unit still passes delta * W1 = (0.5 - 1) * 3 = -1.5 back to W0.
    X, Y = np.array([[1.0, -1.0]]), np.array([[1.0]])
    W0, b0, W1, b1 = np.array([[1.0, 1.0]]), np.array([0.0]), np.array([[3.0]]), np.array([0.5])
    grads = mlp_xp.gradients((mlp_xp.Layer(W0, b0), mlp_xp.Layer(W1, b1)), X, Y)
    np.testing.assert_array_equal(grads[0].W, [[-1.5, 1.5]])
    np.testing.assert_array_equal(grads[0].b, [-1.5])
    np.testing.assert_array_equal(grads[1].W, [[0.0]])


def test_float32_stays_float32_where_the_lecture_promotes():
    X, Y, W0, b0, W1, b1 = (a.astype(np.float32) for a in _bmi_problem())
    lecture = ref.lecture_gradient_descent_step(X, Y, W0, b0, W1, b1, 0.05)
    # The lecture's np.where(H_ >= 0.0, 1.0, 0.0) is float64 and drags W0 with it.
    assert lecture[0].dtype == np.float64
    got = mlp_xp.gradient_descent_step(X, Y, W0, b0, W1, b1, 0.05)
    assert all(a.dtype == np.float32 for a in got)
    # A NumPy float64 learning rate would promote too; it is taken as a Python float.
    got = mlp_xp.gradient_descent_step(X, Y, W0, b0, W1, b1, np.float64(0.05))
    assert all(a.dtype == np.float32 for a in got)


def test_inputs_are_not_modified(target, host):
    arrays = [target.asarray(a) for a in _bmi_problem(16)]
    before = [host(a).copy() for a in arrays]
    mlp_xp.gradient_descent_step(*arrays, 0.1)
    for a, b in zip(arrays, before):
        np.testing.assert_array_equal(host(a), b)


@pytest.mark.parametrize("lr", [0.0, -0.1, float("nan"), float("inf"), "0.1", True, None])
def test_learning_rate_must_be_positive_and_finite(lr):
    with pytest.raises((TypeError, ValueError), match="learning_rate"):
        mlp_xp.gradient_descent_step(*_bmi_problem(4), lr)
