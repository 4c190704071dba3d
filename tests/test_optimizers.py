"""Optimizers: pure (init, update) pairs that match PyTorch's definitions."""

from __future__ import annotations

import numpy as np
import pytest

import mlp_xp
from mlp_xp.nn.optimizers import OPTIMIZERS, apply_updates, tree_map


def _grads_sequence(steps: int, seed: int = 0) -> list[tuple[mlp_xp.Layer, ...]]:
    rng = np.random.default_rng(seed)
    return [
        (
            mlp_xp.Layer(rng.normal(size=(3, 2)), rng.normal(size=3)),
            mlp_xp.Layer(rng.normal(size=(1, 3)), rng.normal(size=1)),
        )
        for _ in range(steps)
    ]


def _start() -> tuple[mlp_xp.Layer, ...]:
    return mlp_xp.init_params((2, 3, 1), seed=1, init="glorot_uniform")


def _run(optimizer, params, grads_seq):
    state = optimizer.init(params)
    for grads in grads_seq:
        updates, state = optimizer.update(grads, state, params)
        params = apply_updates(params, updates)
    return params


@pytest.mark.parametrize(
    ("name", "torch_kwargs"),
    [
        ("sgd", {}),
        ("momentum", {"momentum": 0.9}),
        ("nesterov", {"momentum": 0.9, "nesterov": True}),
        ("adam", {}),
    ],
)
def test_matches_torch_optim(name, torch_kwargs):
    torch = pytest.importorskip("torch", reason="torch is not installed; pip install torch")
    lr = 0.01
    grads_seq = _grads_sequence(25)
    got = _run(OPTIMIZERS[name](lr), _start(), grads_seq)

    tensors = [torch.tensor(a, dtype=torch.float64) for layer in _start() for a in layer]
    cls = torch.optim.Adam if name == "adam" else torch.optim.SGD
    opt = cls(tensors, lr=lr, **torch_kwargs)
    for grads in grads_seq:
        for t, g in zip(tensors, [a for layer in grads for a in layer]):
            t.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
    for g, t in zip(mlp_xp.nn.layers.flatten(got), tensors):
        np.testing.assert_allclose(g, t.numpy(), rtol=1e-13, atol=1e-15)


def test_sgd_is_the_lecture_update():
    params = _start()
    grads = _grads_sequence(1)[0]
    got = _run(mlp_xp.sgd(0.1), params, [grads])
    for p, g, new in zip(
        mlp_xp.nn.layers.flatten(params),
        mlp_xp.nn.layers.flatten(grads),
        mlp_xp.nn.layers.flatten(got),
    ):
        np.testing.assert_array_equal(new, p - 0.1 * g)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_keeps_dtype_device_and_inputs(target, host, name):
    params = target.params([(np.ones((3, 2)), np.zeros(3)), (np.ones((1, 3)), np.zeros(1))])
    grads = target.params([(np.full((3, 2), 0.5), np.ones(3)), (np.ones((1, 3)), np.ones(1))])
    before = [host(a).copy() for a in mlp_xp.nn.layers.flatten(params)]
    optimizer = OPTIMIZERS[name](0.1)
    state = optimizer.init(params)
    for _ in range(2):
        updates, state = optimizer.update(grads, state, params)
        new = apply_updates(params, updates)
    for a, b in zip(mlp_xp.nn.layers.flatten(params), before):
        np.testing.assert_array_equal(host(a), b)
    for a in mlp_xp.nn.layers.flatten(new):
        assert a.dtype == target.dtype
        assert mlp_xp.backend.device_of(a) == target.device
    assert isinstance(new[0], mlp_xp.Layer)


def test_tree_map_keeps_named_tuples():
    tree = (mlp_xp.Layer(1, 2), (3, 4))
    assert tree_map(lambda x: x * 10, tree) == (mlp_xp.Layer(10, 20), (30, 40))


@pytest.mark.parametrize(
    ("factory", "kwargs", "match"),
    [
        (mlp_xp.sgd, {"learning_rate": 0.0}, "learning_rate"),
        (mlp_xp.momentum, {"learning_rate": 0.1, "momentum": 1.0}, "momentum"),
        (mlp_xp.adam, {"learning_rate": 0.1, "b1": 1.5}, "b1"),
        (mlp_xp.adam, {"learning_rate": float("nan")}, "learning_rate"),
    ],
)
def test_bad_hyperparameters(factory, kwargs, match):
    with pytest.raises((TypeError, ValueError), match=match):
        factory(**kwargs)
