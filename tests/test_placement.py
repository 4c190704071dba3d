"""Dtype and device are kept: every public function on every backend."""

from __future__ import annotations

import numpy as np
import pytest

import mlp_xp
from mlp_xp.backend import device_of
from mlp_xp.backend import to_host as backend_to_host

from . import reference as ref

CASES = [
    ("relu", "squared_error", None),
    ("sigmoid", "binary_cross_entropy", None),
    ("tanh", "cross_entropy", None),
    ("identity", "squared_error", "sigmoid"),
]


def _check(target, a):
    assert mlp_xp.backend.backend_name_of(a) == target.backend
    assert a.dtype == target.dtype, f"{a.dtype} is not {target.dtype}"
    assert device_of(a) == target.device


@pytest.mark.slow_on("jax")
@pytest.mark.parametrize(("activation", "loss", "output"), CASES)
def test_every_output_keeps_namespace_dtype_and_device(target, activation, loss, output):
    host_params, X, Y = ref.random_problem((4, 6, 5, 3), 11, loss, 4)
    params = target.params(host_params)
    X, Y = target.asarray(X), target.asarray(Y)
    kw = {"activation": activation, "loss": loss, "output": output}
    _check(
        target,
        mlp_xp.forward(
            params,
            X,
            activation=activation,
            output=output
            or (
                "softmax"
                if loss == "cross_entropy"
                else "sigmoid"
                if "binary" in loss
                else "identity"
            ),
        ),
    )
    value = mlp_xp.loss(params, X, Y, **kw, alpha=0.1)
    if target.backend != "numpy":  # NumPy reductions return NumPy scalars, not 0-d arrays
        _check(target, value)
        assert value.shape == ()
    else:
        assert value.dtype == np.dtype(target.dtype_name)
    for a in mlp_xp.nn.layers.flatten(mlp_xp.gradients(params, X, Y, **kw, alpha=0.1)):
        _check(target, a)
    for a in mlp_xp.nn.layers.flatten(mlp_xp.step(params, X, Y, 0.1, **kw)):
        _check(target, a)


def test_optimizer_state_is_created_on_the_input_device(target):
    params = mlp_xp.init_params(
        (3, 4, 2), dtype=target.dtype_name, backend=target.backend, device=target.device_name
    )
    for name in ("momentum", "adam"):
        state = mlp_xp.nn.optimizers.OPTIMIZERS[name](0.1).init(params)
        # momentum's state is (velocity,); adam's is (count, mu, nu).
        trees = state[0][1:] if name == "adam" else state[0]
        leaves = [a for tree in trees for layer in tree for a in layer]
        assert leaves
        for a in leaves:
            _check(target, a)


def _stats_and_padding():
    """A set-up computation of the kind fit hands to ``compiled_call``, and its run count.

    A new function each time, so that no earlier test has compiled it.
    """
    runs = [0]

    def fn(placement, a, w, *, rows):
        runs[0] += 1  # once per call eagerly; once per trace where it compiles
        xp = placement.xp
        pad = xp.zeros((rows - a.shape[0], a.shape[1]), dtype=a.dtype, device=placement.device)
        total = xp.sum(a * w, axis=0)
        return xp.concat([a, pad], axis=0), total / xp.sum(w), None

    return fn, runs


def test_compiled_call_gives_what_the_function_gives_where_the_inputs_are(target):
    from mlp_xp.backend import compiled_call

    rng = np.random.default_rng(3)
    a, w = target.asarray(rng.normal(size=(37, 3))), target.asarray(rng.random((37, 1)))
    fn, runs = _stats_and_padding()
    want = fn(target.placement, a, w, rows=40)
    got = [compiled_call(target.placement, fn, a, w, rows=40) for _ in range(2)]
    compiles = target.placement.adapter.compiled_epoch() is not None
    # Where the backend compiles, the second call reuses the first's compilation.
    assert runs[0] - 1 == (1 if compiles else 2)
    for result in got:
        assert result[2] is None
        for g, x in zip(result[:2], want[:2], strict=True):
            _check(target, g)
            # Compiled (XLA may fuse the product into the sum) or not, the same
            # numbers to a few roundings of the 37-row sum.
            np.testing.assert_allclose(
                backend_to_host(g), backend_to_host(x), rtol=37 * target.eps
            )


def test_an_array_moves_to_another_device_of_its_library_without_the_host(monkeypatch):
    """array-api-compat's ``to_device`` moves it; the host copy is only for other libraries."""
    X = mlp_xp.to_backend(np.arange(6.0).reshape(3, 2), "array_api_strict")
    there = mlp_xp.backend.resolve("array_api_strict", "device1")

    def no_host(self, x):  # type: ignore[no-untyped-def]
        raise AssertionError("the move went through the host")

    monkeypatch.setattr(type(there.adapter), "to_host", no_host)
    for dtype in (None, "float64"):
        moved = mlp_xp.backend.move(X, there, dtype)
        assert mlp_xp.backend.is_placed(moved, there)
        assert mlp_xp.backend.dtype_name(moved.dtype) == "float64"
    monkeypatch.undo()
    np.testing.assert_array_equal(mlp_xp.backend.to_host(moved), np.arange(6.0).reshape(3, 2))
    cast = mlp_xp.backend.move(X, there, "float32")  # a cast still goes through the host
    assert mlp_xp.backend.dtype_name(cast.dtype) == "float32"
    assert mlp_xp.backend.is_placed(cast, there)
