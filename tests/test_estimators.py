"""The scikit-learn-style estimators: API, placement, stopping, resume and bad input."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import mlp_xp
from mlp_xp import MLPClassifier, MLPRegressor
from mlp_xp.backend import backend_name_of, device_of
from mlp_xp.data.builtin import make_bmi, make_xor


def _bmi(n=400):
    return make_bmi(n, seed=1)


def _small(**kw):
    defaults = dict(hidden_layer_sizes=(8,), learning_rate=0.01, batch_size=32, epochs=5)
    defaults.update(kw)
    return defaults


# ---------------------------------------------------------------------- the estimator API


def test_init_only_stores_parameters():
    model = MLPRegressor(hidden_layer_sizes="nonsense", learning_rate=-1)
    assert model.hidden_layer_sizes == "nonsense"
    assert not any(k.endswith("_") for k in vars(model))


def test_get_params_and_set_params():
    model = MLPRegressor((8,), epochs=3)
    params = model.get_params()
    assert params["hidden_layer_sizes"] == (8,)
    assert params["epochs"] == 3
    assert set(params) >= {
        "optimizer",
        "learning_rate",
        "batch_size",
        "shuffle",
        "seed",
        "alpha",
        "early_stopping",
        "validation_fraction",
        "patience",
        "tol",
        "init",
        "dtype",
        "backend",
        "device",
    }
    assert model.set_params(epochs=7) is model
    assert model.epochs == 7
    # scikit-learn's own set_params and repr (BaseEstimator).
    with pytest.raises(ValueError, match="Invalid parameter 'epoch' for estimator MLPRegressor"):
        model.set_params(epoch=1)
    clone = MLPRegressor(**model.get_params())
    assert clone.get_params() == model.get_params()
    assert repr(model) == "MLPRegressor(epochs=7, hidden_layer_sizes=(8,))"


def test_fit_returns_self_and_sets_fitted_attributes():
    X, y = _bmi()
    model = MLPRegressor(**_small())
    assert model.fit(X, y) is model
    for name in (
        "params_",
        "history_",
        "n_epochs_",
        "loss_",
        "n_features_in_",
        "n_outputs_",
        "backend_",
        "dtype_",
    ):
        assert hasattr(model, name), name
    assert model.n_epochs_ == 5
    assert len(model.history_["loss"]) == 5
    assert model.history_["val_loss"] == [None] * 5
    assert model.n_features_in_ == 2
    assert model.dtype_ == "float64"  # X's dtype is kept


def test_not_fitted():
    with pytest.raises(mlp_xp.NotFittedError, match="not fitted yet; call fit"):
        MLPRegressor().predict(np.ones((2, 2)))


def test_regression_learns_bmi():
    X, y = make_bmi(2000, seed=0)
    model = MLPRegressor(**_small(epochs=60, tol=0.0)).fit(X[:1600], y[:1600])
    assert model.score(X[1600:], y[1600:]) > 0.995
    pred = model.predict(X[1600:])
    assert pred.shape == (400,)


def test_multi_output_regression():
    X, y = _bmi()
    Y = np.stack([y, y * 2 + X[:, 0]], axis=1)
    model = MLPRegressor(**_small(epochs=30)).fit(X, Y)
    assert model.n_outputs_ == 2
    assert model.predict(X).shape == (len(X), 2)
    assert model.score(X, Y) > 0.9


def test_score_is_r2():
    X, y = _bmi()
    model = MLPRegressor(**_small(epochs=20)).fit(X, y)
    pred = model.predict(X)
    r2 = 1 - np.sum((y - pred) ** 2) / np.sum((y - y.mean()) ** 2)
    assert model.score(X, y) == pytest.approx(r2, rel=1e-12)


@pytest.mark.parametrize("labels", [np.array([0, 1]), np.array(["no", "yes"])])
def test_binary_classification_with_int_or_string_labels(labels):
    X, y = make_xor(32, noise=0.05, seed=0)
    y = labels[y]
    model = MLPClassifier((8,), learning_rate=0.05, batch_size=16, epochs=150, tol=0.0)
    model.fit(X, y)
    np.testing.assert_array_equal(model.classes_, np.sort(labels))
    assert model.n_outputs_ == 1  # one sigmoid unit
    proba = model.predict_proba(X)
    assert proba.shape == (len(X), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert model.score(X, y) == 1.0
    assert model.predict(X).dtype == labels.dtype


def test_multiclass_classification():
    rng = np.random.default_rng(0)
    centers = np.array([[0, 0], [3, 0], [0, 3]])
    y = rng.integers(0, 3, 300)
    X = centers[y] + rng.normal(0, 0.5, (300, 2))
    model = MLPClassifier((16,), learning_rate=0.01, epochs=50).fit(X, y)
    assert model.n_outputs_ == 3  # softmax
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    assert model.score(X, y) > 0.95


def test_partial_fit():
    X, y = _bmi()
    model = MLPRegressor(**_small())
    model.partial_fit(X, y).partial_fit(X, y)
    assert model.n_epochs_ == 2
    clf = MLPClassifier((4,))
    with pytest.raises(ValueError, match="needs classes="):
        clf.partial_fit(X, (y > 25).astype(int))
    clf.partial_fit(X[:10], np.zeros(10, dtype=int), classes=[0, 1])
    assert list(clf.classes_) == [0, 1]


def test_history_is_read_back_once_per_epoch(monkeypatch):
    import mlp_xp.training.driver as est

    calls = []
    original = est.to_host
    monkeypatch.setattr(est, "to_host", lambda a: calls.append(1) or original(a))
    X, y = _bmi()
    MLPRegressor(**_small(epochs=6, early_stopping=True)).fit(X, y)
    assert len(calls) == 6


def test_two_fits_are_bit_identical():
    X, y = _bmi()
    a = MLPRegressor(**_small(optimizer="adam")).fit(X, y)
    b = MLPRegressor(**_small(optimizer="adam")).fit(X, y)
    for p, q in zip(mlp_xp.nn.layers.flatten(a.params_), mlp_xp.nn.layers.flatten(b.params_)):
        np.testing.assert_array_equal(p, q)


def test_early_stopping_restores_the_best_weights():
    X, y = _bmi(600)
    # A large learning rate makes the validation loss bounce, so the best epoch is
    # not the last one.
    model = MLPRegressor(
        (8,),
        learning_rate=0.2,
        optimizer="sgd",
        batch_size=16,
        epochs=40,
        early_stopping=True,
        patience=5,
        tol=0.0,
    ).fit(X, y)
    val = model.history_["val_loss"]
    assert model.best_epoch_ == int(np.argmin(val)) + 1
    assert model.n_epochs_ >= model.best_epoch_
    # The restored weights reproduce the best validation loss.
    assert model._state["best"] is model.params_


def test_stops_when_the_loss_stalls():
    X, y = _bmi()
    model = MLPRegressor(**_small(epochs=500, tol=10.0, patience=3)).fit(X, y)
    # The first epoch improves on "no loss yet"; the next three miss tol = 10.
    assert model.n_epochs_ == 1 + 3


def test_divergence_keeps_the_last_finite_weights():
    X, y = _bmi()
    model = MLPRegressor((8,), "identity", optimizer="sgd", learning_rate=50.0, epochs=20)
    with pytest.raises(
        mlp_xp.DivergenceError, match=r"diverged in epoch \d+.*smaller learning_rate"
    ):
        model.fit(X, y)
    for a in mlp_xp.nn.layers.flatten(model.params_):
        assert np.all(np.isfinite(a))


# ---------------------------------------------------------------------- placement


def test_trains_where_X_lives_and_predicts_in_the_inputs_namespace(target, host):
    X, y = make_bmi(128, seed=2)
    Xt, yt = target.asarray(X), target.asarray(y)
    model = MLPRegressor(**_small(epochs=2, batch_size=64)).fit(Xt, yt)
    assert model.backend_ == target.backend
    for a in mlp_xp.nn.layers.flatten(model.params_):
        assert backend_name_of(a) == target.backend
        assert a.dtype == target.dtype
        assert device_of(a) == target.device
    pred = model.predict(Xt)
    assert backend_name_of(pred) == target.backend
    assert device_of(pred) == target.device
    assert pred.dtype == target.dtype
    # NumPy input to the same model gives NumPy output.
    assert isinstance(model.predict(X), np.ndarray)


def test_backend_parameter_moves_numpy_input(target, host):
    X, y = make_xor(8)
    model = MLPClassifier(
        (4,), epochs=2, backend=target.backend, device=target.device_name, dtype=target.dtype_name
    ).fit(X, y)
    assert model.backend_ == target.backend
    assert device_of(model.params_[0].W) == target.device
    proba = model.predict_proba(X)
    assert isinstance(proba, np.ndarray)
    labels = model.predict(target.asarray(X))
    assert backend_name_of(labels) == target.backend


def test_same_results_on_every_backend(target, host):
    X, y = make_bmi(256, seed=3)
    ref = MLPRegressor(**_small(epochs=3, dtype="float64")).fit(X, y)
    got = MLPRegressor(
        **_small(
            epochs=3, dtype=target.dtype_name, backend=target.backend, device=target.device_name
        )
    ).fit(X, y)
    for a, b in zip(mlp_xp.nn.layers.flatten(got.params_), mlp_xp.nn.layers.flatten(ref.params_)):
        scale = float(np.max(np.abs(b)))
        # 3 epochs x 8 batches of adam from identical numbers; see tests/test_parity.py
        # for the derivation of cross-backend tolerances.
        np.testing.assert_allclose(
            host(a),
            b,
            rtol=0,
            atol=1e-3 * scale if target.dtype_name == "float32" else 1e-11 * scale,
        )


# ---------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"activation": "gelu"}, ValueError, "unknown activation 'gelu'; valid values are"),
        ({"optimizer": "rmsprop"}, ValueError, "unknown optimizer 'rmsprop'; valid values"),
        ({"init": "xavier"}, ValueError, "unknown init 'xavier'"),
        ({"epochs": 0}, ValueError, "epochs must be a positive integer"),
        ({"epochs": 2.5}, TypeError, "epochs must be a positive integer"),
        ({"batch_size": -1}, ValueError, "batch_size must be a positive integer"),
        ({"learning_rate": 0.0}, ValueError, "learning_rate must be a positive finite"),
        ({"learning_rate": float("nan")}, ValueError, "learning_rate must be a positive"),
        ({"hidden_layer_sizes": (8, 0)}, ValueError, r"hidden_layer_sizes\[1\]"),
        ({"validation_fraction": 1.5}, ValueError, "validation_fraction must be in"),
        ({"backend": "jax2"}, ValueError, "unknown backend 'jax2'; valid names are: auto"),
        ({"dtype": "float16"}, ValueError, "unknown dtype 'float16'"),
        ({"seed": -1}, ValueError, r"seed must be a non-negative integer \(>= 0\), got -1"),
        ({"seed": 1.5}, TypeError, "seed must be a non-negative integer"),
        ({"device": "device7"}, ValueError, "device='device7' is not a numpy device"),
    ],
)
def test_bad_hyperparameters(kwargs, error, match):
    X, y = _bmi(20)
    with pytest.raises(error, match=match):
        MLPRegressor(**{**_small(), **kwargs}).fit(X, y)


def test_cupy_without_a_gpu():
    if mlp_xp.available_backends()["cupy"].available:
        pytest.skip("a CUDA GPU is usable here")
    X, y = _bmi(20)
    with pytest.raises(mlp_xp.BackendUnavailableError, match=r"cuda12"):
        MLPRegressor(backend="cupy").fit(X, y)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_or_inf_in_features_or_target(bad):
    X, y = _bmi(20)
    X2 = X.copy()
    X2[3, 1] = bad
    with pytest.raises(ValueError, match="X contains 1 NaN or infinite"):
        MLPRegressor(**_small()).fit(X2, y)
    y2 = y.copy()
    y2[5] = bad
    with pytest.raises(ValueError, match="y contains 1 NaN or infinite"):
        MLPRegressor(**_small()).fit(X, y2)


def test_rows_must_match():
    X, y = _bmi(20)
    with pytest.raises(ValueError, match="X has 20 rows but y has 19"):
        MLPRegressor(**_small()).fit(X, y[:19])


def test_feature_count_at_predict_time():
    X, y = _bmi(20)
    model = MLPRegressor(**_small(epochs=1)).fit(X, y)
    expected = "X has 3 features, but MLPRegressor is expecting 2 features as input"
    with pytest.raises(ValueError, match=expected):
        model.predict(np.ones((4, 3)))


def test_text_features_are_refused():
    with pytest.raises(TypeError, match="numeric features are needed"):
        MLPRegressor(**_small()).fit(np.array([["a", "b"]]), [1.0])
    with pytest.raises(ValueError, match="must be 2-D"):
        MLPRegressor(**_small()).fit(np.ones(5), np.ones(5))


def test_unknown_label_in_partial_fit():
    clf = MLPClassifier((4,)).partial_fit(np.ones((4, 2)), [0, 1, 0, 1], classes=[0, 1])
    with pytest.raises(ValueError, match=r"labels \[7\] that are not among the classes"):
        clf.partial_fit(np.ones((2, 2)), [0, 7])


# ---------------------------------------------------------------------- resume


class _Interrupt:
    def __init__(self, at: int) -> None:
        self.at = at

    def __call__(self, epoch, info):
        if info["epoch"] == self.at:
            raise KeyboardInterrupt


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
@pytest.mark.parametrize("suffix", [".npz", ".safetensors"])
def test_interrupted_run_resumes_to_the_same_result(tmp_path, optimizer, suffix):
    if suffix == ".safetensors":
        pytest.importorskip("safetensors", reason="safetensors is not installed")
    X, y = _bmi()
    kw = _small(epochs=6, optimizer=optimizer, early_stopping=True, tol=0.0)
    full = MLPRegressor(**kw).fit(X, y)
    model = MLPRegressor(**kw)
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, y, callbacks=[_Interrupt(at=3)])
    assert model.interrupted_
    assert model.n_epochs_ == 3
    path = tmp_path / f"ckpt{suffix}"
    model.save(path)
    resumed = mlp_xp.load(path).fit(X, y, resume=True)
    assert resumed.n_epochs_ == 6
    assert resumed.history_ == full.history_
    for a, b in zip(
        mlp_xp.nn.layers.flatten(resumed.params_), mlp_xp.nn.layers.flatten(full.params_)
    ):
        np.testing.assert_array_equal(a, b)


def test_a_format_1_checkpoint_resumes_to_the_same_result(tmp_path):
    # Format 1 saved the shuffle generator's state alone, as drawn in line after
    # each epoch: the position after epoch 1 is exactly that.
    X, y = _bmi()
    kw = _small(epochs=6)
    full = MLPRegressor(**kw).fit(X, y)
    model = MLPRegressor(**kw)
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, y, callbacks=[_Interrupt(at=1)])
    path = tmp_path / "ckpt.npz"
    model.save(path)
    with np.load(path) as saved:
        arrays = dict(saved)
    meta = json.loads(str(arrays["__mlp_xp__"]))
    position = meta["training"]["rng"]
    assert position["drawn"] == 0
    meta["format_version"] = 1
    meta["training"]["rng"] = position["state"]
    arrays["__mlp_xp__"] = np.array(json.dumps(meta))
    np.savez(path, **arrays)
    resumed = mlp_xp.load(path).fit(X, y, resume=True)
    assert resumed.history_ == full.history_
    for a, b in zip(
        mlp_xp.nn.layers.flatten(resumed.params_), mlp_xp.nn.layers.flatten(full.params_)
    ):
        np.testing.assert_array_equal(a, b)


def test_resume_needs_a_fitted_model():
    with pytest.raises(ValueError, match="resume=True needs a fitted or loaded model"):
        MLPRegressor().fit(np.ones((2, 2)), np.ones(2), resume=True)


def test_alpha_shrinks_the_weights():
    X, y = _bmi()
    small = MLPRegressor(**_small(alpha=0.0, epochs=10)).fit(X, y)
    large = MLPRegressor(**_small(alpha=50.0, epochs=10)).fit(X, y)
    norm = lambda m: math.fsum(float(np.sum(L.W**2)) for L in m.params_)  # noqa: E731
    assert norm(large) < norm(small)
