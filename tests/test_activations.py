"""Activation values, derivatives and numerical stability on every backend."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from mlp_xp.nn.activations import ACTIVATIONS

from . import reference as ref

Z = np.array([[-30.0, -3.0, -0.5, 0.0, 0.5, 3.0, 30.0], [1.0, -1.0, 2.0, -2.0, 0.1, -0.1, 0.0]])


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_values_match_reference(target, host, name):
    z = target.asarray(Z)
    a, _ = ACTIVATIONS[name].forward(target.xp, z)
    assert a.dtype == target.dtype
    np.testing.assert_allclose(host(a), ref.ACTIVATIONS[name](Z), rtol=4 * target.eps, atol=0)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_derivatives_match_central_differences(name):
    z = np.array([[-2.0, -0.7, 0.3, 1.1, 2.5]])
    g = np.array([[0.3, -1.2, 0.8, 2.0, -0.4]])
    act = ACTIVATIONS[name]
    # forward and backward may work in place on their argument: hand them copies.
    _a, saved = act.forward(np, z.copy())
    got = act.backward(np, g.copy(), saved)
    h = 1e-6
    # d/dz of sum(g * f(z)), one entry at a time (softmax couples the entries).
    expected = np.zeros_like(z)
    for k in range(z.shape[1]):
        e = np.zeros_like(z)
        e[0, k] = h
        up, _ = act.forward(np, z + e)  # z + e is a new array
        down, _ = act.forward(np, z - e)
        expected[0, k] = np.sum(g * (up - down)) / (2 * h)
    np.testing.assert_allclose(got, expected, rtol=1e-7, atol=1e-9)


def test_sigmoid_derivative_is_of_the_preactivation():
    # sigma'(z) = sigma(z)(1 - sigma(z)), not sigma(sigma(z))(1 - sigma(sigma(z))).
    z = np.array([[2.0]])
    _a, saved = ACTIVATIONS["sigmoid"].forward(np, z)
    got = ACTIVATIONS["sigmoid"].backward(np, np.ones_like(z), saved)
    s = 1 / (1 + np.exp(-2.0))
    assert got[0, 0] == pytest.approx(s * (1 - s), rel=1e-15)


def test_relu_derivative_at_zero_is_one(target, host):
    z = target.asarray([[-1.0, 0.0, 1.0]])
    _, saved = ACTIVATIONS["relu"].forward(target.xp, z)
    g = ACTIVATIONS["relu"].backward(target.xp, target.asarray([[5.0, 5.0, 5.0]]), saved)
    np.testing.assert_array_equal(host(g), [[0.0, 5.0, 5.0]])


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "softmax"])
def test_saturating_activations_are_stable_at_plus_minus_1e4(target, host, name):
    z = target.asarray([[-1e4, -88.0, 0.0, 88.0, 1e4]])
    act = ACTIVATIONS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a, saved = act.forward(target.xp, z)
        g = act.backward(target.xp, target.asarray([[1.0] * 5]), saved)
    a_host, g_host = host(a), host(g)
    assert np.all(np.isfinite(a_host))
    assert np.all(np.isfinite(g_host))
    if name == "sigmoid":
        np.testing.assert_array_equal(a_host[0, [0, 2, 4]], [0.0, 0.5, 1.0])
    assert a.dtype == target.dtype
