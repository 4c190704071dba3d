"""The one training driver: fit and the parity suite run the same code, schedules included."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from mlp_xp import MLPRegressor, parity
from mlp_xp.backend import backend_info, resolve, to_host
from mlp_xp.data.builtin import make_bmi
from mlp_xp.nn.layers import Layer, flatten
from mlp_xp.nn.optimizers import sgd
from mlp_xp.nn.plan import make_plan
from mlp_xp.training import (
    Batches,
    Compiled,
    Data,
    Driver,
    Eager,
    Lazy,
    Observer,
    choose_strategy,
    start_position,
)

ROWS, BATCH, EPOCHS = 203, 32, 4
"""The runs below: 4 epochs of 7 batches, the last one smaller (11 rows)."""


def _fit_and_parity(**recipe):
    """The final weights of one recipe through ``fit`` and through parity, on NumPy float64."""
    X, y = make_bmi(ROWS, seed=3)
    # Standardised here, once: both runs then train on these very numbers.
    X, y = (X - X.mean(0)) / X.std(0), (y - y.mean()) / y.std()
    weighted = recipe.pop("sample_weight", False)
    recipe.setdefault("alpha", 0.0)  # the estimators' default is 1e-4, parity's 0
    steps = EPOCHS * math.ceil(ROWS / BATCH)
    config = parity.ParityConfig(
        layer_sizes=(2, 8, 1), batch_size=BATCH, steps=steps, seed=4, scale=False,
        sample_weight=weighted, **recipe,
    )  # fmt: skip
    problem = parity.problem_from_data(X, y, config)
    *_, last = parity.trajectory(problem, config, resolve("numpy"), "float64")
    model = MLPRegressor(
        (8,), batch_size=BATCH, epochs=EPOCHS, seed=4, scale=False, dtype="float64",
        backend="numpy", **recipe,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the epochs run out before it converges
        model.fit(X, y, sample_weight=None if problem.W is None else problem.W[:, 0])
    assert model.n_epochs_ == EPOCHS
    return [to_host(a) for a in flatten(model.params_)], [to_host(a) for a in flatten(last.params)]


@pytest.mark.parametrize(
    "recipe",
    [
        {"optimizer": "sgd", "learning_rate": 0.05},
        {"optimizer": "adam", "learning_rate": 0.01, "alpha": 1e-3, "sample_weight": True},
        {"optimizer": "momentum", "learning_rate": 0.05, "schedule": "invscaling", "power_t": 0.3},
        {"optimizer": "sgd", "learning_rate": 0.05, "schedule": "cosine"},
        # tol so large that no epoch improves: the rule asks to stop after every
        # epoch from the second, and adapt() divides the rate by 5 instead.
        {"optimizer": "sgd", "learning_rate": 0.05, "schedule": "adaptive", "tol": 1e9,
         "patience": 1},
    ],
    ids=["sgd", "adam-weighted-l2", "momentum-invscaling-power_t", "cosine", "adaptive"],
)  # fmt: skip
def test_fit_and_parity_give_bit_identical_weights_on_numpy(recipe):
    fitted, checked = _fit_and_parity(**recipe)
    for a, b in zip(fitted, checked, strict=True):
        np.testing.assert_array_equal(a, b)


def test_parity_runs_the_adaptive_schedule_and_its_rule():
    """Parity's adaptive run follows the constant one until adapt() divides the rate."""
    settings = {"steps": 30, "batch_size": 100, "n_samples": 1000, "tol": 1e9, "patience": 1}
    host = resolve("numpy")
    runs = {}
    for schedule, dtype in (
        ("constant", "float64"),
        ("adaptive", "float64"),
        ("adaptive", "float32"),
    ):
        config = parity.ParityConfig(schedule=schedule, **settings)
        steps = parity.trajectory(parity.make_problem(config), config, host, dtype)
        runs[schedule, dtype] = [
            np.concatenate([to_host(a).astype(np.float64).ravel() for a in flatten(s.params)])
            for s in steps
        ]
    adaptive, constant = runs["adaptive", "float64"], runs["constant", "float64"]
    # Epochs 1 and 2 at the same rate; the rule stops after epoch 2, so epoch 3 runs at a fifth.
    for k in range(20):
        np.testing.assert_array_equal(adaptive[k], constant[k])
    assert not np.array_equal(adaptive[20], constant[20])
    # float32 follows the float64 reference within the parity rule, step by step.
    for k, (low, ref) in enumerate(zip(runs["adaptive", "float32"], adaptive, strict=True), 1):
        deviation = np.linalg.norm(low - ref) / np.linalg.norm(ref)
        assert deviation <= config.tolerance("float32", k)


def test_the_strategy_comes_from_the_backends_capabilities():
    X = np.ones((8, 2))
    data = Data(X, X[:, :1])
    settings = {"plan": make_plan("identity", "squared_error"), "batch_size": 4, "alpha": 0.0}
    assert type(choose_strategy(resolve("numpy"), data, **settings)) is Eager
    if backend_info("dask").available:
        dask = resolve("dask")
        lazy = Data(*(dask.adapter.from_host(a, dask.xp, None, None) for a in (X, X[:, :1])))
        assert type(choose_strategy(dask, lazy, **settings)) is Lazy
    if backend_info("jax").available:
        jax = resolve("jax", "cpu")
        placed = Data(*(jax.adapter.from_host(a, jax.xp, jax.device, None) for a in (X, X[:, :1])))
        assert type(choose_strategy(jax, placed, **settings)) is Compiled
        assert type(choose_strategy(jax, placed, compiled=False, **settings)) is Eager


class _Log(Observer):
    """Records the hooks it sees; asks to stop after epoch ``stop_after`` (1-based)."""

    reads_losses = False

    def __init__(self, name, log, stop_after=None, end_at_step=None):
        self.name, self.log, self.stop_after, self.end_at_step = name, log, stop_after, end_at_step
        self.steps = 0

    def on_epoch_begin(self, run):
        self.log.append((self.name, "begin", run.epoch))
        run.optimizer = sgd(0.1)

    def on_epoch_end(self, run, epoch):
        self.log.append((self.name, "end", run.epoch))
        return self.stop_after == run.epoch + 1


class _Steps(_Log):
    def on_step_end(self, run, step):
        self.steps += 1
        return self.steps == self.end_at_step


def _driver(*observers):
    placement = resolve("numpy")
    X = np.linspace(-1, 1, 40).reshape(-1, 2)
    params = (Layer(np.ones((1, 2)), np.zeros(1)),)
    driver = Driver(
        placement,
        Data(X, X[:, :1]),
        plan=make_plan("identity", "squared_error"),
        alpha=0.0,
        batches=Batches(8, "rows", start_position(np.random.default_rng(0))),
        observers=observers,
    )
    return driver, params


def test_observers_are_called_in_order_and_a_stop_ends_the_run_after_the_epoch():
    log = []
    driver, params = _driver(_Log("a", log, stop_after=2), _Log("b", log))
    run = driver.run(params, (), 5)
    assert run.epoch == 1  # the second epoch, counted from 0
    assert log == [
        ("a", "begin", 0), ("b", "begin", 0), ("a", "end", 0), ("b", "end", 0),
        ("a", "begin", 1), ("b", "begin", 1), ("a", "end", 1), ("b", "end", 1),
    ]  # fmt: skip
    # Stepping through epochs, the caller stops: every epoch comes.
    log.clear()
    driver, params = _driver(_Log("a", log, stop_after=2))
    assert len(list(driver.epochs(params, (), 5))) == 5


def test_a_step_observer_sees_every_step_and_may_end_the_run_mid_epoch():
    log = []
    watcher = _Steps("s", log, end_at_step=7)  # 20 rows in batches of 8: 3 steps an epoch
    driver, params = _driver(watcher)
    assert len(list(driver.epochs(params, (), 5))) == 2  # the third epoch was cut
    assert watcher.steps == 7
    assert log[-1] == ("s", "begin", 2)


class _Reads(Observer):
    def on_epoch_end(self, run, epoch):
        return epoch.loss < 0


def test_an_epochs_losses_are_read_back_once_and_only_when_asked(monkeypatch):
    import mlp_xp.training.driver as driver_module

    reads = []
    real = driver_module.to_host
    monkeypatch.setattr(driver_module, "to_host", lambda a: reads.append(1) or real(a))
    driver, params = _driver(_Log("a", []))  # no observer reads the losses
    epochs = list(driver.epochs(params, (), 3))
    assert reads == []
    assert epochs[0].loss > 0
    assert epochs[0].val_loss is None
    assert reads == [1]
    reads.clear()
    driver, params = _driver(_Log("a", []), _Reads())
    epochs = list(driver.epochs(params, (), 3))
    assert len(reads) == 3  # once an epoch, as it ends
    assert [e.loss > 0 for e in epochs] == [True] * 3
    assert len(reads) == 3
