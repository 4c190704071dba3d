"""The public functions' fast checks: same messages, same order, no warnings, no misses."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import mlp_xp
from mlp_xp.nn import checks, network


def _problem(dtype="float64"):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(5, 2)).astype(dtype)
    Y = rng.normal(size=(5, 1)).astype(dtype)
    params = mlp_xp.init_params((2, 3, 1), dtype=dtype)
    return X, Y, params


def test_a_nan_in_X_is_reported_before_a_wrong_shape_of_Y():
    X, Y, params = _problem()
    X[1, 1] = np.nan
    with pytest.raises(ValueError, match="X contains 1 NaN"):
        mlp_xp.step(params, X, Y[:4], 0.1)
    with pytest.raises(ValueError, match="X contains 1 NaN"):
        mlp_xp.step(params, X, np.ones((5, 2)), 0.1)


def test_both_infinities_are_counted_without_a_warning():
    X, Y, params = _problem()
    Y[0, 0], Y[3, 0] = np.inf, -np.inf
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="Y contains 2 NaN or infinite"):
            mlp_xp.gradients(params, X, Y)


def test_huge_finite_values_pass_without_a_warning():
    X, Y, params = _problem("float32")
    X[:] = 3e38  # squares and sums of these overflow float32
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        checks.check_batch(np, params, X, Y)


def test_the_fast_path_returns_the_layers_and_a_list_takes_the_full_check():
    _X, _Y, params = _problem()
    assert checks.check_params(np, params) is params
    as_list = [tuple(layer) for layer in params]
    assert checks.check_params(np, as_list) == params


@pytest.mark.parametrize("i", [0, 1])
def test_a_layer_of_another_dtype_is_named(i):
    _X, _Y, params = _problem()
    bad = list(params)
    bad[i] = mlp_xp.Layer(bad[i].W, bad[i].b.astype(np.float32))
    expected = "params[0].b has dtype float32" if i == 0 else "params[1].b has dtype float32"
    with pytest.raises(TypeError, match=expected.replace("[", r"\[").replace("]", r"\]")):
        checks.check_params(np, tuple(bad))


def test_a_plan_is_built_once_per_names_and_bad_names_still_refused():
    X, Y, params = _problem()
    mlp_xp.step(params, X, Y, 0.1, activation="tanh")
    assert network._plan("tanh", "squared_error", None) is network._plan(
        "tanh", "squared_error", None
    )
    for _ in range(2):  # a bad name is refused every time, never remembered
        with pytest.raises(ValueError, match="unknown activation"):
            network._plan("tanhh", "squared_error", None)
    with pytest.raises(ValueError, match="unknown activation"):
        mlp_xp.step(params, X, Y, 0.1, activation=["tanh"])


def test_step_is_sgd_applied_once():
    X, Y, params = _problem()
    opt = mlp_xp.sgd(0.1)
    grads = mlp_xp.gradients(params, X, Y)
    updates, _ = opt.update(grads, opt.init(params), params)
    expected = mlp_xp.apply_updates(params, updates)
    for got, want in zip(mlp_xp.step(params, X, Y, 0.1), expected, strict=True):
        np.testing.assert_array_equal(got.W, want.W)
        np.testing.assert_array_equal(got.b, want.b)


@pytest.mark.parametrize("lr", [0.0, -1.0, float("nan"), float("inf")])
def test_a_bad_learning_rate_is_refused_first(lr):
    X, Y, params = _problem()
    with pytest.raises(ValueError, match="learning_rate must be a positive finite number"):
        mlp_xp.step(params, X[:, :1], Y, lr)
