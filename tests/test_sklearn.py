"""scikit-learn's own estimator checks, its meta-estimators, and DataFrames.

The checks run on default-constructed estimators.  One is an expected failure,
deliberately (see EXPECTED_FAILED_CHECKS and the README).  scikit-learn's
array-API checks run too: SCIPY_ARRAY_API is set in conftest.py.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.compose import TransformedTargetRegressor
from sklearn.exceptions import ConvergenceWarning, DataConversionWarning
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV, cross_val_score
from sklearn.multioutput import MultiOutputRegressor
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import mlp_xp
from mlp_xp import MLPClassifier, MLPRegressor

EXPECTED_FAILED_CHECKS = {
    "check_array_api_same_namespace": (
        "deliberate: predict accepts X of another namespace or device than fit's and "
        "returns its result in X's own, so that a model trained on CuPy or torch CUDA "
        "predicts NumPy input on a laptop; cross-backend verification relies on it"
    ),
}
"""The checks that fail on purpose, with the reason (the README repeats it)."""


@parametrize_with_checks(
    [MLPRegressor(), MLPClassifier()],
    expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS,
)
def test_scikit_learn_estimator_checks(estimator, check):
    # The checks fit on tiny data sets for the default 200 epochs; some of those
    # runs end with a ConvergenceWarning, which pyproject's filter lets pass.
    check(estimator)


def _regression(n=120, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = X @ np.array([1.5, -2.0, 0.5]) + 0.1 * rng.normal(size=n)
    return X, y


def _classification(n=120, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    y = np.where(X[:, 0] + X[:, 1] > 0, "yes", "no")
    return X, y


BACKENDS = ["numpy", "array_api_strict", "torch"]


def _available(backend):
    info = mlp_xp.available_backends()[backend]
    if not info.available:
        pytest.skip(f"{backend}: {info.reason}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_pipeline_with_a_scaler_predicts_and_scores(backend):
    _available(backend)
    X, y = _regression()
    model = MLPRegressor((16,), epochs=60, learning_rate=1e-2, backend=backend)
    pipe = make_pipeline(StandardScaler(), model)
    pipe.fit(X, y)
    assert pipe.score(X, y) > 0.9
    assert np.asarray(pipe.predict(X)).shape == (len(y),)


@pytest.mark.parametrize("backend", BACKENDS)
def test_grid_search_over_a_pipeline_gets_real_scores(backend):
    _available(backend)
    X, y = _regression()
    pipe = Pipeline([("scale", StandardScaler()), ("mlp", MLPRegressor((8,), epochs=40))])
    grid = GridSearchCV(
        pipe,
        {"mlp__learning_rate": [1e-3, 1e-2], "mlp__backend": [backend]},
        cv=3,
    )
    grid.fit(X, y)
    scores = grid.cv_results_["mean_test_score"]
    assert np.all(np.isfinite(scores)), scores
    assert grid.best_params_["mlp__learning_rate"] == 1e-2
    assert grid.best_score_ > 0.5


def test_randomized_search_and_cross_val_score_on_the_classifier():
    X, y = _classification()
    search = RandomizedSearchCV(
        MLPClassifier((8,), epochs=30),
        {"alpha": [1e-4, 1e-3, 1e-2], "learning_rate": [3e-3, 1e-2]},
        n_iter=3,
        cv=3,
        random_state=0,
    )
    search.fit(X, y)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    scores = cross_val_score(MLPClassifier((8,), epochs=30, learning_rate=1e-2), X, y, cv=3)
    assert scores.shape == (3,)
    assert np.all(scores > 0.8), scores


def test_clone_and_the_estimator_types():
    model = MLPClassifier((4,), class_weight="balanced", schedule="cosine")
    twin = clone(model)
    assert twin is not model
    assert twin.get_params() == model.get_params()
    assert is_classifier(model)
    assert not is_regressor(model)
    assert is_regressor(MLPRegressor())
    assert not is_classifier(MLPRegressor())
    assert "<div" in model._repr_html_()


def test_transformed_target_and_multi_output_regressors():
    X, y = _regression()
    wrapped = TransformedTargetRegressor(
        regressor=MLPRegressor((8,), epochs=60, learning_rate=1e-2, scale=False),
        transformer=StandardScaler(),
    )
    assert wrapped.fit(X, y).score(X, y) > 0.9
    Y = np.column_stack([y, -y])
    multi = MultiOutputRegressor(MLPRegressor((8,), epochs=60, learning_rate=1e-2)).fit(X, Y)
    assert multi.predict(X).shape == (len(y), 2)
    # Our regressor is multi-output itself: one network, two outputs.
    native = MLPRegressor((8,), epochs=60, learning_rate=1e-2).fit(X, Y)
    assert native.predict(X).shape == (len(y), 2)
    assert native.score(X, Y) > 0.9


def test_the_tags_that_hold():
    reg, clf = MLPRegressor().__sklearn_tags__(), MLPClassifier().__sklearn_tags__()
    assert reg.target_tags.multi_output
    assert not clf.target_tags.multi_output
    assert reg.array_api_support
    assert clf.array_api_support
    assert not reg.input_tags.allow_nan
    assert not reg.input_tags.sparse
    assert not reg.non_deterministic


# ---------------------------------------------------------------------- DataFrames

pd = pytest.importorskip("pandas")


def _frame():
    X, y = _regression()
    return pd.DataFrame(X, columns=["height", "weight", "age"]), y


def test_a_dataframe_records_its_names_and_predict_matches_columns_by_name():
    frame, y = _frame()
    model = MLPRegressor((8,), epochs=30).fit(frame, y)
    assert list(model.feature_names_in_) == ["height", "weight", "age"]
    shuffled = frame[["age", "height", "weight"]]
    np.testing.assert_array_equal(model.predict(shuffled), model.predict(frame))
    np.testing.assert_array_equal(model.predict(frame.to_numpy()), model.predict(frame))


def test_a_dataframe_with_other_names_is_refused_with_the_names():
    frame, y = _frame()
    model = MLPRegressor((8,), epochs=5).fit(frame, y)
    other = frame.rename(columns={"age": "years"})
    with pytest.raises(ValueError, match=r"unseen at fit time: \['years'\].*missing: \['age'\]"):
        model.predict(other)
    with pytest.raises(ValueError, match=r"missing: \['age'\]"):
        model.predict(frame[["height", "weight"]])


def test_names_given_to_a_model_fitted_without_names_warn():
    frame, y = _frame()
    model = MLPRegressor((8,), epochs=5).fit(frame.to_numpy(), y)
    with pytest.warns(UserWarning, match="X has feature names, but MLPRegressor was fitted"):
        model.predict(frame)


def test_duplicate_and_mixed_column_names_are_refused():
    frame, y = _frame()
    dup = frame.set_axis(["a", "b", "a"], axis=1)
    with pytest.raises(ValueError, match=r"duplicate column names \['a'\]"):
        MLPRegressor((4,), epochs=2).fit(dup, y)
    mixed = frame.set_axis(["a", 1, "c"], axis=1)
    with pytest.raises(TypeError, match="mixed types"):
        MLPRegressor((4,), epochs=2).fit(mixed, y)


def test_a_saved_model_keeps_its_feature_names(tmp_path):
    frame, y = _frame()
    model = MLPRegressor((8,), epochs=5).fit(frame, y)
    model.save(tmp_path / "m.safetensors")
    loaded = mlp_xp.load(tmp_path / "m.safetensors")
    assert list(loaded.feature_names_in_) == ["height", "weight", "age"]
    shuffled = frame[["weight", "age", "height"]]
    np.testing.assert_array_equal(loaded.predict(shuffled), model.predict(frame))


def test_pandas_nullable_dtypes_with_missing_values_get_a_clear_message():
    frame, y = _frame()
    nullable = frame.astype("Float64")
    model = MLPRegressor((4,), epochs=2).fit(nullable, y)  # no missing value: fine
    assert model.n_features_in_ == 3
    nullable.iloc[3, 1] = pd.NA
    with pytest.raises(ValueError, match="X contains 1 NaN or infinite"):
        MLPRegressor((4,), epochs=2).fit(nullable, y)


def test_object_arrays_sparse_matrices_and_text_targets():
    X, y = _regression(30)
    model = MLPRegressor((4,), epochs=2).fit(X.astype(object), y)  # numbers: converted
    assert model.dtype_ == "float64"
    text = X.astype(object)
    text[0, 0] = "tall"
    with pytest.raises(TypeError, match="dtype object holding values that are not numbers"):
        MLPRegressor((4,), epochs=2).fit(text, y)
    sparse = pytest.importorskip("scipy.sparse")
    with pytest.raises(TypeError, match=r"sparse input is not supported.*X.toarray\(\)"):
        MLPRegressor((4,), epochs=2).fit(sparse.csr_matrix(X), y)
    with pytest.raises(TypeError, match="regression targets must be numbers: use MLPClassifier"):
        MLPRegressor((4,), epochs=2).fit(X, np.where(y > 0, "up", "down"))


def test_target_checks_that_fit_the_task():
    X, y = _regression(30)
    with pytest.raises(ValueError, match="Unknown label type: continuous"):
        MLPClassifier((4,), epochs=2).fit(X, y)
    with pytest.raises(ValueError, match="y is constant"):
        MLPRegressor((4,), epochs=2).fit(X, np.full(30, 3.0))
    with pytest.raises(ValueError, match="1 sample"):
        MLPRegressor((4,), epochs=2).fit(X[:1], y[:1])
    with pytest.raises(ValueError, match="only one class"):
        MLPClassifier((4,), epochs=2).fit(X, np.zeros(30, dtype=int))


def test_a_column_vector_y_warns_for_the_classifier_only():
    X, y = _classification(40)
    with pytest.warns(DataConversionWarning, match="A column-vector y was passed"):
        MLPClassifier((4,), epochs=2).fit(X, y.reshape(-1, 1))
    Xr, yr = _regression(40)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", ConvergenceWarning)
        # A (n, 1) target is a one-output multi-output regression, kept as such.
        pred = MLPRegressor((4,), epochs=60).fit(Xr, yr.reshape(-1, 1)).predict(Xr)
    assert pred.shape == (40, 1)
