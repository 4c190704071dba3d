"""Sample and class weights: everything that reads rows weighs them.

The equivalences are exact in exact arithmetic (full-batch gradient descent:
repeating a row k times is the same as weighting it k), so the tolerance is
the parity rule's for the run, on every backend the ``target`` fixture gives.
"""

from __future__ import annotations

import numpy as np
import pytest

import mlp_xp
from mlp_xp import MLPClassifier, MLPRegressor
from mlp_xp.backend import to_host
from mlp_xp.parity import tolerance


def _data(n=40, seed=3):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = np.sin(X[:, 0]) + X[:, 1] * X[:, 2]
    w = rng.integers(0, 4, size=n)
    w[0] = 2  # at least one row repeated
    return X, y, w


def _full_batch(target, **extra):
    """Full-batch plain gradient descent, unshuffled: duplicates and weights then agree."""
    params = dict(
        hidden_layer_sizes=(6,),
        optimizer="sgd",
        learning_rate=0.05,
        batch_size=10_000,
        epochs=25,
        shuffle=False,
        alpha=1e-2,
        tol=0.0,
        backend=target.backend,
        device=target.device_name,
        dtype=target.dtype_name,
    )
    params.update(extra)
    return params


def _weights(model):
    return np.concatenate([to_host(a).ravel() for layer in model.params_ for a in layer])


def _deviation(a, b):
    wa, wb = _weights(a), _weights(b)
    return float(np.linalg.norm(wa - wb) / np.linalg.norm(wb))


def _limit(target, model, n):
    steps = int(model.n_epochs_)
    return tolerance(target.dtype_name, steps=steps, depth=2, width=max(6, n))


@pytest.mark.slow_on("jax")
def test_integer_weights_equal_repeated_rows(target):
    X, y, w = _data()
    weighted = MLPRegressor(**_full_batch(target)).fit(
        target.asarray(X), target.asarray(y), sample_weight=target.asarray(w.astype(float))
    )
    Xr, yr = np.repeat(X, w, axis=0), np.repeat(y, w)
    repeated = MLPRegressor(**_full_batch(target)).fit(target.asarray(Xr), target.asarray(yr))
    assert _deviation(weighted, repeated) <= _limit(target, weighted, len(yr))
    # The scaler counted the weights as copies.
    np.testing.assert_allclose(
        to_host(weighted.x_scaler_.mean),
        to_host(repeated.x_scaler_.mean),
        rtol=0,
        atol=64 * target.eps,
    )


@pytest.mark.slow_on("jax")
def test_zero_weights_equal_dropped_rows(target):
    X, y, _ = _data()
    w = np.ones(len(y))
    w[::3] = 0.0
    kept = w > 0
    weighted = MLPRegressor(**_full_batch(target)).fit(
        target.asarray(X), target.asarray(y), sample_weight=target.asarray(w)
    )
    dropped = MLPRegressor(**_full_batch(target)).fit(
        target.asarray(X[kept]), target.asarray(y[kept])
    )
    assert _deviation(weighted, dropped) <= _limit(target, weighted, int(kept.sum()))


def test_weighted_classifier_equals_repeated_rows_and_scores_weighted():
    X, y, w = _data()
    labels = np.where(y > 0, "pos", "neg")
    params = dict(
        hidden_layer_sizes=(5,),
        optimizer="sgd",
        learning_rate=0.1,
        batch_size=10_000,
        epochs=20,
        shuffle=False,
        tol=0.0,
    )
    weighted = MLPClassifier(**params).fit(X, labels, sample_weight=w)
    repeated = MLPClassifier(**params).fit(np.repeat(X, w, axis=0), np.repeat(labels, w))
    np.testing.assert_allclose(
        weighted.predict_proba(X), repeated.predict_proba(X), rtol=1e-12, atol=1e-12
    )
    right = weighted.predict(X) == labels
    assert weighted.score(X, labels, sample_weight=w) == pytest.approx(
        np.sum(w * right) / np.sum(w)
    )


def test_the_validation_loss_is_weighted():
    X, y, w = _data(200)
    model = MLPRegressor((4,), epochs=3, early_stopping=True, scale=False)
    model.fit(X, y, sample_weight=w)
    # The validation rows are those of the seeded split; weigh them by hand.
    from mlp_xp.seeds import seeded_split

    n_val = max(1, round(200 * model.validation_fraction))
    _, val = seeded_split(200, n_val, [int(model.seed), 1])
    pred = np.asarray(model.predict(X[val]))
    expected = 0.5 * np.sum(w[val] * (pred - y[val]) ** 2) / np.sum(w[val])
    # The recorded value is the validation loss of the final (best) epoch's weights.
    best = model.history_["val_loss"][model.best_epoch_ - 1]
    assert best == pytest.approx(expected, rel=1e-10)


def test_sample_weight_is_checked():
    X, y, w = _data()
    model = MLPRegressor((4,), epochs=2)
    with pytest.raises(ValueError, match="one weight per sample"):
        model.fit(X, y, sample_weight=w[:-1])
    with pytest.raises(ValueError, match="negative"):
        model.fit(X, y, sample_weight=-np.ones(len(y)))
    with pytest.raises(ValueError, match="zero for every sample"):
        model.fit(X, y, sample_weight=np.zeros(len(y)))
    with pytest.raises(ValueError, match="sample_weight contains 1 NaN"):
        model.fit(X, y, sample_weight=np.where(np.arange(len(y)) == 4, np.nan, 1.0))
    original = w.copy()
    model.fit(X, y, sample_weight=w)
    np.testing.assert_array_equal(w, original)  # never written to


def test_the_model_file_records_the_weights_fingerprint_not_the_weights(tmp_path):
    X, y, w = _data()
    model = MLPRegressor((4,), epochs=3).fit(X, y, sample_weight=w)
    recorded = model.provenance_["segments"][0]["data"]["sample_weight"]
    assert set(recorded) >= {"sha256", "shape", "dtype"}
    model.save(tmp_path / "m.npz")
    loaded = mlp_xp.load(tmp_path / "m.npz")
    assert loaded.provenance_["segments"][0]["data"]["sample_weight"] == recorded
    with np.load(tmp_path / "m.npz") as arrays:
        assert not any("weight" in name and "sample" in name for name in arrays.files)


def test_verify_and_compare_take_the_weights():
    X, y, w = _data(60)
    model = MLPRegressor((4,), epochs=6, batch_size=16).fit(X, y, sample_weight=w)
    assert mlp_xp.verify(model, X, y, sample_weight=w).passed
    with pytest.raises(ValueError, match="pass the same weights"):
        mlp_xp.verify(model, X, y)
    with pytest.raises(ValueError, match="sample_weight is not the training data"):
        mlp_xp.verify(model, X, y, sample_weight=w + 1)
    twin = MLPRegressor((4,), epochs=6, batch_size=16, dtype="float32")
    twin.fit(X, y, sample_weight=w)
    assert mlp_xp.compare(model, twin, X, y, sample_weight=w).passed


# ---------------------------------------------------------------------- class weights


def _imbalanced(n=90):
    rng = np.random.default_rng(5)
    X = rng.normal(size=(n, 2))
    y = np.where(np.arange(n) < n // 6, "rare", "common")
    X[y == "rare"] += 1.5
    return X, y


def test_balanced_class_weight_is_scikit_learns_formula():
    X, y = _imbalanced()
    model = MLPClassifier((4,), epochs=2, class_weight="balanced").fit(X, y)
    n, counts = len(y), {"common": 75, "rare": 15}
    assert model.class_weight_ == {c: n / (2 * k) for c, k in counts.items()}


def test_a_class_weight_dict_equals_the_same_sample_weights():
    X, y = _imbalanced()
    params = dict(hidden_layer_sizes=(4,), epochs=5, batch_size=32)
    by_class = MLPClassifier(**params, class_weight={"rare": 3.0}).fit(X, y)
    by_row = MLPClassifier(**params).fit(X, y, sample_weight=np.where(y == "rare", 3.0, 1.0))
    assert by_class.class_weight_ == {"common": 1.0, "rare": 3.0}
    np.testing.assert_array_equal(by_class.predict_proba(X), by_row.predict_proba(X))
    with pytest.raises(ValueError, match=r"labels \['unknown'\] that are not among"):
        MLPClassifier(**params, class_weight={"unknown": 2.0}).fit(X, y)


def test_class_weights_survive_save_and_resume(tmp_path):
    X, y = _imbalanced()
    params = dict(hidden_layer_sizes=(4,), epochs=6, batch_size=32, class_weight="balanced")
    whole = MLPClassifier(**params).fit(X, y)
    half = MLPClassifier(**{**params, "epochs": 3}).fit(X, y)
    half.save(tmp_path / "half.safetensors")
    resumed = mlp_xp.load(tmp_path / "half.safetensors")
    assert resumed.class_weight == "balanced"
    assert resumed.class_weight_ == half.class_weight_
    resumed.set_params(epochs=6).fit(X, y, resume=True)
    np.testing.assert_array_equal(resumed.predict_proba(X), whole.predict_proba(X))
    ints = MLPClassifier((4,), epochs=2, class_weight={0: 1.0, 1: 2.0})
    ints.fit(X, (y == "rare").astype(int)).save(tmp_path / "ints.npz")
    assert mlp_xp.load(tmp_path / "ints.npz").class_weight == {0: 1.0, 1: 2.0}


def test_balanced_is_refused_by_partial_fit():
    X, y = _imbalanced()
    with pytest.raises(ValueError, match="partial_fit never sees"):
        MLPClassifier((4,), class_weight="balanced").partial_fit(X, y, classes=["common", "rare"])
