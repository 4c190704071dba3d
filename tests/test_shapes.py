"""Hypothesis over shapes: any depth, width and batch size, on every backend."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mlp_xp

from . import reference as ref

sizes = st.lists(st.integers(1, 7), min_size=2, max_size=5)


@pytest.mark.slow_on("jax")
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(sizes=sizes, n=st.integers(1, 9), seed=st.integers(0, 2**16))
def test_shapes_follow_the_layers(target, host, sizes, n, seed):
    host_params, X, Y = ref.random_problem(sizes, n, "squared_error", seed)
    params = target.params(host_params)
    X, Y = target.asarray(X), target.asarray(Y)
    out = mlp_xp.forward(params, X)
    assert tuple(out.shape) == (n, sizes[-1])
    grads = mlp_xp.gradients(params, X, Y)
    for g, p in zip(mlp_xp.nn.layers.flatten(grads), mlp_xp.nn.layers.flatten(params)):
        assert tuple(g.shape) == tuple(p.shape)
        assert g.dtype == target.dtype
    new = mlp_xp.step(params, X, Y, 0.01)
    assert mlp_xp.nn.layers.layer_sizes(new) == tuple(sizes)
    expected = mlp_xp.gradients(tuple(host_params), ref.as_float(host(X)), ref.as_float(host(Y)))
    for g, e in zip(mlp_xp.nn.layers.flatten(grads), mlp_xp.nn.layers.flatten(expected)):
        scale = max(1.0, float(np.max(np.abs(e))))
        np.testing.assert_allclose(host(g), e, rtol=0, atol=256 * target.eps * scale)
