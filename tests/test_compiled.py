"""The compiled epoch: the eager loop's numbers, one compilation per configuration and shape."""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pytest

import mlp_xp
from mlp_xp import MLPClassifier, MLPRegressor, backend
from mlp_xp.backend import from_host, resolve, to_host
from mlp_xp.data.builtin import make_bmi
from mlp_xp.nn.layers import Layer
from mlp_xp.nn.optimizers import OPTIMIZERS, chain, scale
from mlp_xp.nn.plan import make_plan
from mlp_xp.parity import tolerance
from mlp_xp.training import Batches, Data, Driver, Observer, start_position
from mlp_xp.training import compiled as compiled_module
from mlp_xp.training import driver as driver_module
from mlp_xp.training.compiled import Layout, bucket, compilations, epoch_index

needs_jax = pytest.mark.skipif(
    not backend.backend_info("jax").available, reason="jax is not installed (mlp_xp[jax])"
)


def test_buckets_grow_by_at_least_a_third_so_a_factor_1_25_spans_two():
    grid = sorted({bucket(k) for k in range(1, 5000)})
    assert grid[:12] == [1, 2, 3, 4, 6, 8, 12, 16, 23, 32, 46, 64]
    assert all(b / a >= 4 / 3 for a, b in itertools.pairwise(grid))
    for k in range(1, 5000):
        assert bucket(k) >= k
        assert bucket(bucket(k)) == bucket(k)
        assert len({bucket(k), bucket(k + 1), bucket(math.ceil(1.25 * k))}) <= 2


def test_epoch_index_holds_the_eager_batches_rows_and_counts():
    layout = Layout(10, 4, 3, 4, True)
    order = np.array([3, 1, 4, 0, 9, 2, 6, 5, 8, 7])
    index, counts = epoch_index(layout, order, None)
    assert counts.tolist() == [4, 4, 2, 0]
    assert index[:2].ravel().tolist() == order[:8].tolist()
    assert index[2, :2].tolist() == [8, 7]
    index, counts = epoch_index(layout, None, np.array([2, 0, 1]))
    assert counts.tolist() == [2, 4, 4, 0]
    assert index[0, :2].tolist() == [8, 9]
    assert index[1].tolist() == [0, 1, 2, 3]
    index, counts = epoch_index(layout, None, None)
    assert index[2, :2].tolist() == [8, 9]
    assert counts.tolist() == [4, 4, 2, 0]


class _Rates(Observer):
    """Each epoch's optimizer at the next rate; each epoch's losses read, as fit reads them."""

    def __init__(self, opt, rates):
        self.opt, self.rates = opt, iter(rates)

    def on_epoch_begin(self, run):
        run.optimizer = self.opt(next(self.rates))

    def on_epoch_end(self, run, epoch):
        return epoch.loss is None and epoch.val_loss is None  # read once, never True


def _train(placement, optimizer, *, compiled, shuffle="rows", weights=False, val=False, epochs=3):
    """Three epochs of the driver on BMI data (a last, smaller batch), compiled or not."""
    X, y = make_bmi(203, seed=3)
    rng = np.random.default_rng(0)
    host = {"X": (X - X.mean(0)) / X.std(0), "Y": ((y - y.mean()) / y.std()).reshape(-1, 1)}
    dtype = "float64"
    arrays = {k: from_host(v, placement, dtype) for k, v in host.items()}
    W = from_host(rng.uniform(0, 2, (203, 1)), placement, dtype) if weights else None
    data = Data(arrays["X"], arrays["Y"], W=W)
    if val:
        data = Data(
            arrays["X"][:180],
            arrays["Y"][:180],
            arrays["X"][180:],
            arrays["Y"][180:],
            None if W is None else W[:180],
            None if W is None else W[180:],
        )
    params = tuple(
        Layer(from_host(Wl, placement, dtype), from_host(b, placement, dtype))
        for Wl, b in mlp_xp.init_params((2, 8, 1), seed=0)
    )
    opt = OPTIMIZERS[optimizer]
    driver = Driver(
        placement,
        data,
        plan=make_plan("relu", "squared_error"),
        alpha=1e-3,
        batches=Batches(16, shuffle, start_position(np.random.default_rng(5))),
        observers=[_Rates(opt, [0.05, 0.02, 0.01, 0.005])],
        compiled=compiled,
    )
    results = list(driver.epochs(params, opt(0.05).init(params), epochs))
    vector = np.concatenate([to_host(a).ravel() for layer in results[-1].params for a in layer])
    return results, vector


def _deviation(a, b):
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


RULE = tolerance("float64", steps=3 * 13, depth=2, width=16)
"""The parity rule for the three epochs of 13 steps :func:`_train` runs: what rounding may do.

The compiled epoch runs the eager loop's kernels, but XLA fuses and reorders
them, and a last, smaller batch is a weighted mean over a full-size batch: the
losses, like the weights, agree to rounding, not bit for bit.
"""


@needs_jax
@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
@pytest.mark.parametrize("shuffle", ["rows", "batches", None])
def test_a_compiled_epoch_trains_as_the_eager_loop_does(optimizer, shuffle):
    jax = resolve("jax", "cpu")
    eager, ref = _train(jax, optimizer, compiled=False, shuffle=shuffle)
    fast, got = _train(jax, optimizer, compiled=True, shuffle=shuffle)
    steps = 3 * 13
    assert _deviation(got, ref) <= RULE
    for a, b in zip(eager, fast):
        assert a.steps == b.steps == 13
        assert b.loss == pytest.approx(a.loss, rel=RULE)
        assert a.position == b.position
    if optimizer == "adam":
        count = fast[-1].state[0].count
        assert type(count) is int
        assert count == steps


@needs_jax
@pytest.mark.parametrize(("weights", "val"), [(True, False), (False, True), (True, True)])
def test_sample_weights_and_the_validation_loss_compile_too(weights, val):
    jax = resolve("jax", "cpu")
    eager, ref = _train(jax, "adam", compiled=False, weights=weights, val=val)
    fast, got = _train(jax, "adam", compiled=True, weights=weights, val=val)
    assert _deviation(got, ref) <= RULE
    for a, b in zip(eager, fast):
        assert b.loss == pytest.approx(a.loss, rel=RULE)
        if val:
            assert b.val_loss == pytest.approx(a.val_loss, rel=RULE)
        else:
            assert a.val_loss is None
            assert b.val_loss is None


@needs_jax
def test_data_too_large_to_pad_compile_for_their_own_shape(monkeypatch):
    monkeypatch.setattr(compiled_module, "BUCKET_BYTES", 0)
    jax = resolve("jax", "cpu")
    _, ref = _train(jax, "sgd", compiled=False, weights=True)
    _, got = _train(jax, "sgd", compiled=True, weights=True)
    assert _deviation(got, ref) <= RULE


@needs_jax
def test_a_hand_made_optimizer_without_a_recipe_trains_eagerly():
    jax = resolve("jax", "cpu")
    X = from_host(np.ones((8, 2)), jax, "float64")
    params = (Layer(from_host(np.ones((1, 2)), jax, "float64"), from_host(np.zeros(1), jax)),)
    before = compilations()
    driver = Driver(
        jax,
        Data(X, X[:, :1]),
        plan=make_plan("identity", "squared_error"),
        alpha=0.0,
        batches=Batches(4, None, start_position(np.random.default_rng(0))),
        optimizer=chain(scale(-0.1)),
    )
    (epoch,) = driver.epochs(params, (), 1)
    assert epoch.steps == 2
    assert compilations() == before


def _regressor(**kwargs):
    settings = {
        "hidden_layer_sizes": (8,),
        "epochs": 6,
        "batch_size": 32,
        "learning_rate": 0.01,
        "backend": "jax",
        "dtype": "float32",
        "schedule": "invscaling",
    }
    return MLPRegressor(**{**settings, **kwargs})


@needs_jax
def test_a_second_fit_and_a_changing_learning_rate_do_not_compile_again():
    X, y = make_bmi(500, seed=2)
    model = _regressor(alpha=3.25e-4)  # an alpha no other test compiles
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, y)
        first = compilations()
        rates = model.history_["learning_rate"]
        assert len(set(rates)) == len(rates)  # every epoch its own rate, one compilation
        again = _regressor(alpha=3.25e-4, shuffle="batches", seed=7).fit(X, y)
    assert compilations() == first
    numpy = _regressor(alpha=3.25e-4, backend="numpy")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        numpy.fit(X, y)
    # 6 epochs of 16 steps (500 rows, batches of 32), float32.
    rule = tolerance("float32", steps=6 * 16, depth=2, width=8)
    np.testing.assert_allclose(model.history_["loss"], numpy.history_["loss"], rtol=rule)
    assert again.n_epochs_ == 6


@pytest.mark.slow
@needs_jax
def test_grid_search_with_five_folds_compiles_at_most_twice():
    from sklearn.model_selection import GridSearchCV

    X, y = make_bmi(803, seed=4)
    before = compilations()
    search = GridSearchCV(_regressor(alpha=7.5e-4, epochs=3), {"batch_size": [32]}, cv=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        search.fit(X, y)  # five folds of 642 or 643 rows, then the refit on 803
    assert compilations() - before <= 2
    assert search.best_estimator_.n_epochs_ == 3


@needs_jax
def test_a_classifier_with_class_weights_and_early_stopping_trains_compiled():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
    settings = {
        "hidden_layer_sizes": (6,),
        "epochs": 5,
        "batch_size": 32,
        "class_weight": "balanced",
        "early_stopping": True,
        "dtype": "float64",
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        on_jax = MLPClassifier(**settings, backend="jax").fit(X, y)
        on_numpy = MLPClassifier(**settings, backend="numpy").fit(X, y)
    rule = tolerance("float64", steps=5 * 9, depth=2, width=6)  # 5 epochs of 9 batches
    np.testing.assert_allclose(on_jax.history_["loss"], on_numpy.history_["loss"], rtol=rule)
    np.testing.assert_allclose(
        on_jax.history_["val_loss"], on_numpy.history_["val_loss"], rtol=rule
    )
    assert on_jax.stop_reason_ == on_numpy.stop_reason_


@pytest.mark.slow
@needs_jax
def test_parity_reports_jax_compiled_beside_jax_eager():
    report = mlp_xp.parity.check(backends="jax", steps=25, optimizer="adam")
    backends = {(r.backend, r.dtype) for r in report.rows}
    assert {("jax", "float32"), ("jax compiled", "float32"), ("jax compiled", "float64")} <= (
        backends
    )
    assert report.passed, report.format()


def _epochs_of(placement, n, *, rows=False, batch_size=16):
    """A CompiledEpochs over n standardised rows, its Data, params and state."""
    rng = np.random.default_rng(1)
    X = from_host(rng.normal(size=(n, 3)), placement, "float64")
    Y = from_host(rng.normal(size=(n, 1)), placement, "float64")
    index = from_host(np.arange(0, n, 2), placement) if rows else None
    data = Data(X, Y, rows=index)
    params = tuple(
        Layer(from_host(Wl, placement, "float64"), from_host(b, placement, "float64"))
        for Wl, b in mlp_xp.init_params((3, 4, 1), seed=0)
    )
    epochs = compiled_module.CompiledEpochs(
        placement, data, plan=make_plan("relu", "squared_error"), batch_size=batch_size, alpha=0.0
    )
    return epochs, data, params


@needs_jax
def test_large_data_are_used_as_they_are_and_never_copied(monkeypatch):
    monkeypatch.setattr(compiled_module, "BUCKET_BYTES", 0)
    jax = resolve("jax", "cpu")
    epochs, data, _ = _epochs_of(jax, 101, rows=True)
    assert not epochs.layout.bucketed
    assert epochs.data[0] is data.X
    assert epochs.data[1] is data.Y
    assert epochs.rows is data.rows


@needs_jax
def test_small_data_are_padded_to_their_bucket_once():
    jax = resolve("jax", "cpu")
    epochs, data, _ = _epochs_of(jax, 101, rows=True)  # 51 training rows: 4 batches of 16
    assert epochs.layout.bucketed
    assert epochs.layout.batches == 4
    assert epochs.layout.slots == bucket(4)
    assert epochs.data[0].shape[0] == bucket(7) * 16  # all 101 rows: 7 batches' worth
    assert epochs.rows.shape[0] == bucket(4) * 16
    np.testing.assert_array_equal(to_host(epochs.data[0][:101]), to_host(data.X))


@needs_jax
def test_an_epoch_is_one_compiled_call_and_one_read_back(monkeypatch):
    # Inside the compiled call nothing can be read back (a traced value has none
    # to read: JAX raises); outside it, the driver reads the epoch's losses once.
    calls = {"compiled": 0, "to_host": 0}
    compile_epoch, read = compiled_module._epoch_function, driver_module.to_host

    def counted(*args):
        fn = compile_epoch(*args)

        def call(*inputs):
            calls["compiled"] += 1
            return fn(*inputs)

        return call

    def counted_read(x):
        calls["to_host"] += 1
        return read(x)

    monkeypatch.setattr(compiled_module, "_epoch_function", counted)
    monkeypatch.setattr(driver_module, "to_host", counted_read)
    _train(resolve("jax", "cpu"), "adam", compiled=True, val=True, epochs=3)
    assert calls == {"compiled": 3, "to_host": 3}


@needs_jax
def test_early_stopping_with_scaling_trains_compiled_as_numpy_does():
    X, y = make_bmi(400, seed=5)
    settings = {
        "hidden_layer_sizes": (8,),
        "epochs": 8,
        "batch_size": 32,
        "early_stopping": True,
        "scale": True,
        "dtype": "float64",
        "learning_rate": 0.01,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        on_jax = MLPRegressor(**settings, backend="jax").fit(X, y)
        on_numpy = MLPRegressor(**settings, backend="numpy").fit(X, y)
    rule = tolerance("float64", steps=8 * 12, depth=2, width=8)  # 8 epochs of 12 batches
    np.testing.assert_allclose(
        on_jax.history_["val_loss"], on_numpy.history_["val_loss"], rtol=rule
    )
    np.testing.assert_allclose(on_jax.predict(X), on_numpy.predict(X), rtol=rule, atol=0)


@needs_jax
def test_the_memory_estimate_counts_the_padded_copy_of_small_data():
    from mlp_xp.estimators.memory import fit_memory

    X = np.ones((1000, 4))
    model = MLPRegressor((8,), batch_size=64, dtype="float64")
    on = {
        b: fit_memory(model, X, 1, resolve(b, "cpu"), "float64", (8,))[0] for b in ["numpy", "jax"]
    }
    padded = bucket(math.ceil(1000 / 64)) * 64  # 16 batches: a bucket already
    moved = 1000 * 4 * 8  # host X is used as it is on NumPy, copied to JAX's device
    assert on["jax"] - on["numpy"] == moved + padded * (4 + 1 + 1) * 8
    assert compiled_module.padding_bytes(10**7, 48, 64) == 0  # too large to pad: no copy


@needs_jax
def test_a_first_fit_and_predict_compile_the_set_up_in_a_few_calls():
    """Checks, scaling, padding and prediction compile once each, not once per operation.

    Before they ran through ``compiled_call``, this fit and score of a new
    shape compiled 53 functions, nearly all single operations (at 17e0279); the guard
    leaves room for the few single operations still eager (reshape, the
    optimizer's zeros, the inverse scaling).
    """
    import jax.monitoring

    events: list[str] = []

    def listen(name: str, _seconds: float, **_: object) -> None:
        if name == "/jax/core/compile/backend_compile_duration":
            events.append(name)

    X, y = make_bmi(611, seed=5)  # a shape no other test uses
    jax.monitoring.register_event_duration_secs_listener(listen)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = _regressor(alpha=6.5e-4).fit(X, y)
        model.score(X, y)
    finally:
        jax.monitoring.unregister_event_duration_listener(listen)
    assert 0 < len(events) <= 20, len(events)
