"""Hyperparameters are data: a sweep over them compiles the JAX epoch once.

Compilations are counted from JAX's own record (``jax.monitoring``'s
backend-compile events, which name the function compiled), not from a counter
of mlp_xp's, so that what is counted is what XLA compiled.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Iterator

import numpy as np
import pytest

import mlp_xp
from mlp_xp import MLPRegressor, backend
from mlp_xp.backend import from_host, resolve
from mlp_xp.caches import LRU
from mlp_xp.data.builtin import make_bmi
from mlp_xp.nn.layers import Layer
from mlp_xp.nn.optimizers import InjectHyperparamsState, adam, momentum, sgd
from mlp_xp.nn.plan import make_plan
from mlp_xp.training import Batches, Data, compiled, start_position
from mlp_xp.training.driver import Driver

needs_jax = pytest.mark.skipif(
    not backend.backend_info("jax").available, reason="jax is not installed (mlp_xp[jax])"
)

BACKEND_COMPILE = "/jax/core/compile/backend_compile_duration"


@pytest.fixture
def epoch_compiles(monkeypatch) -> Iterator[list[str]]:
    """The names of the compiled epochs XLA compiles meanwhile, from a fresh function cache."""
    import jax.monitoring

    monkeypatch.setattr(compiled, "_FUNCTIONS", LRU(maxsize=16))  # nothing compiled before
    names: list[str] = []

    def listen(event: str, duration: float, **kwargs: object) -> None:
        if event == BACKEND_COMPILE and kwargs.get("fun_name") == "jit(epoch)":
            names.append(str(kwargs["fun_name"]))

    jax.monitoring.register_event_duration_secs_listener(listen)
    try:
        yield names
    finally:
        jax.monitoring.unregister_event_duration_listener(listen)


def _fit(**kwargs: object) -> MLPRegressor:
    X, y = make_bmi(160, seed=1)
    settings = {"hidden_layer_sizes": (8,), "epochs": 2, "batch_size": 32, "backend": "jax"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # JAX's float32 notes
        return MLPRegressor(**{**settings, "dtype": "float32", **kwargs}).fit(X, y)


@needs_jax
def test_a_sweep_of_five_alphas_compiles_the_epoch_once(epoch_compiles):
    fits = []
    for alpha in (0.0, 1e-4, 1e-3, 1e-2, 1e-1):
        fits.append(_fit(alpha=alpha))
        assert len(epoch_compiles) == 1, (alpha, epoch_compiles)
    # Each alpha was trained with its own value: the fits differ.
    losses = [m.history_["loss"][-1] for m in fits]
    assert len(set(losses)) == len(losses)
    assert losses == sorted(losses)  # a stronger penalty, a larger training loss


@needs_jax
def test_a_sweep_of_five_learning_rates_compiles_the_epoch_once(epoch_compiles):
    losses = []
    for lr in (1e-3, 2e-3, 5e-3, 1e-2, 2e-2):
        losses.append(_fit(learning_rate=lr, optimizer="sgd").history_["loss"][-1])
        assert len(epoch_compiles) == 1, (lr, epoch_compiles)
    assert len(set(losses)) == len(losses)


def _epochs(placement, optimizer, alpha: float, *, compiled: bool = True) -> np.ndarray:
    """Two epochs of the driver with ``optimizer`` (compiled or not); the final weights."""
    X, y = make_bmi(96, seed=3)
    X = (X - X.mean(0)) / X.std(0)
    Y = ((y - y.mean()) / y.std()).reshape(-1, 1)
    data = Data(from_host(X, placement, "float64"), from_host(Y, placement, "float64"))
    params = tuple(
        Layer(from_host(W, placement, "float64"), from_host(b, placement, "float64"))
        for W, b in mlp_xp.init_params((2, 6, 1), seed=0)
    )
    driver = Driver(
        placement,
        data,
        plan=make_plan("tanh", "squared_error"),
        alpha=alpha,
        batches=Batches(16, "rows", start_position(np.random.default_rng(5))),
        optimizer=optimizer,
        compiled=compiled,
    )
    *_, last = driver.epochs(params, optimizer.init(params), 2)
    return np.concatenate([np.asarray(a).ravel() for layer in last.params for a in layer])


@pytest.mark.slow
@needs_jax
def test_momentum_betas_and_eps_are_data_too(epoch_compiles):
    jax = resolve("jax", "cpu")
    momenta = [_epochs(jax, momentum(0.05, m), 1e-3) for m in (0.5, 0.8, 0.9)]
    assert len(epoch_compiles) == 1
    nesterov = _epochs(jax, momentum(0.05, 0.9, nesterov=True), 1e-3)
    assert len(epoch_compiles) == 2  # Nesterov's is another rule: another function
    settings = [(0.9, 0.999, 1e-8), (0.8, 0.99, 1e-6), (0.5, 0.9, 1e-3)]
    adams = [_epochs(jax, adam(0.01, b1, b2, eps), 0.0) for b1, b2, eps in settings]
    assert len(epoch_compiles) == 3
    for runs in ([*momenta, nesterov], adams):
        for a, b in itertools.pairwise(runs):
            assert not np.array_equal(a, b)


@pytest.mark.slow
@needs_jax
def test_the_compiled_epoch_trains_each_value_as_the_eager_loop_does():
    # The traced numbers are the eager loop's: the same weights, to rounding.
    jax = resolve("jax", "cpu")
    for optimizer, alpha in ((momentum(0.05, 0.6), 0.3), (adam(0.01, 0.7, 0.95, 1e-4), 0.05)):
        fast = _epochs(jax, optimizer, alpha)
        eager = _epochs(jax, optimizer, alpha, compiled=False)
        np.testing.assert_allclose(fast, eager, rtol=1e-12, atol=1e-14)


def test_named_optimizers_carry_their_numbers_and_one_rule_per_kind():
    a, b = sgd(0.1), sgd(0.2)
    assert a.hyperparams is not None
    assert b.hyperparams is not None
    assert a.hyperparams.rule is b.hyperparams.rule
    assert dict(b.hyperparams.numbers) == {"learning_rate": 0.2}
    numbers = dict(adam(0.01, b1=0.8).hyperparams.numbers)
    assert numbers["b1"] == 0.8
    assert numbers["one_minus_b1"] == 1.0 - 0.8  # the host's float, as the eager step uses
    nesterov = momentum(0.1, nesterov=True).hyperparams
    assert nesterov is not None
    assert nesterov.rule is not momentum(0.1).hyperparams.rule
    state = InjectHyperparamsState({"learning_rate": 0.1}, ())
    assert state.hyperparams["learning_rate"] == 0.1
