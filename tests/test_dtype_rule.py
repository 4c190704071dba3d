"""``dtype=None`` trains in the input's float dtype, whatever the container and the backend.

float32 and float64 are kept; integers and booleans become float64, as in
scikit-learn.  Where JAX lacks x64 mode, float64 becomes float32 with one
``PrecisionWarning`` per fit (the ``no_x64`` fixture patches the adapter's
capability away: the suite itself switches x64 on, see conftest.py).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import mlp_xp
from mlp_xp import MLPRegressor, backend

pd = pytest.importorskip("pandas")

BACKENDS = ("numpy", "torch", "jax")


def _data(n=24, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    return X, X @ np.array([1.0, -2.0, 0.5])


def _usable(name):
    info = backend.backend_info(name)
    if not info.available:
        pytest.skip(f"{name}: {info.reason}")


CONTAINERS = {
    "ndarray float64": (lambda X: X, "float64"),
    "ndarray float32": (lambda X: X.astype(np.float32), "float32"),
    "DataFrame float64": (lambda X: pd.DataFrame(X, columns=["a", "b", "c"]), "float64"),
    "DataFrame float32": (
        lambda X: pd.DataFrame(X.astype(np.float32), columns=["a", "b", "c"]),
        "float32",
    ),
    # A float32 column beside an integer one: NumPy's float64, as scikit-learn reads it.
    "DataFrame float32 + int": (
        lambda X: pd.DataFrame(
            {
                "a": X[:, 0].astype(np.float32),
                "b": X[:, 1].astype(np.float32),
                "c": np.round(X[:, 2]).astype(np.int64),
            }
        ),
        "float64",
    ),
    "ndarray int": (lambda X: np.round(X * 3).astype(np.int64), "float64"),
    "ndarray bool": (lambda X: X > 0, "float64"),
    "list": (lambda X: X.tolist(), "float64"),
}


@pytest.mark.parametrize("container", list(CONTAINERS))
@pytest.mark.parametrize("name", BACKENDS)
def test_dtype_none_is_the_inputs_float_dtype_on_every_backend(name, container):
    _usable(name)
    make, expected = CONTAINERS[container]
    X, y = _data()
    model = MLPRegressor((3,), epochs=1, batch_size=24, backend=name).fit(make(X), y)
    assert (model.backend_, model.dtype_) == (name, expected)


@pytest.mark.parametrize("name", ["torch", "jax"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_backends_own_arrays_keep_their_dtype(name, dtype):
    _usable(name)
    X, y = _data()
    X_own = mlp_xp.to_backend(X.astype(dtype), name)
    model = MLPRegressor((3,), epochs=1, batch_size=24).fit(X_own, y)
    assert (model.backend_, model.dtype_) == (name, dtype)
    ints = mlp_xp.to_backend(np.round(X * 3).astype(np.int64), name)
    assert MLPRegressor((3,), epochs=1, batch_size=24).fit(ints, y).dtype_ == "float64"


def test_a_read_only_float64_array_trains_on_torch_without_torch_warning():
    # Kept in float64, it is shared, not cast: torch warned about a read-only array
    # (a DataFrame's values, a memory-mapped .npy) once per process.
    _usable("torch")
    X, y = _data()
    X.flags.writeable = False
    model = MLPRegressor((3,), epochs=1, batch_size=24, backend="torch").fit(X, y)
    assert model.dtype_ == "float64"


# --------------------------------------------------------------------------- JAX without x64


@pytest.fixture
def no_x64(monkeypatch):
    """JAX as a shell without ``JAX_ENABLE_X64`` has it: float32 only."""
    _usable("jax")
    monkeypatch.setattr(backend.adapter("jax"), "float_dtypes", lambda device: ("float32",))


@pytest.mark.parametrize("container", ["ndarray float64", "DataFrame float64", "ndarray int"])
def test_without_x64_float64_becomes_float32_with_one_warning(no_x64, container):
    X, y = _data()
    make, _ = CONTAINERS[container]
    model = MLPRegressor((3,), epochs=1, batch_size=24, backend="jax")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(make(X), y)
        model.partial_fit(make(X), y)  # the model is float32 now: no second note
    notes = [w for w in caught if w.category is mlp_xp.PrecisionWarning]
    assert model.dtype_ == "float32"
    assert len(notes) == 1
    assert "X is float64, but dtype='float64' is not available on jax here" in str(
        notes[0].message
    )
    assert "JAX_ENABLE_X64=1" in str(notes[0].message)
    assert notes[0].filename == __file__  # the caller's line, not mlp_xp's


def test_without_x64_float32_input_and_an_explicit_dtype_give_no_note(no_x64):
    X, y = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("error", mlp_xp.PrecisionWarning)
        model = MLPRegressor((3,), epochs=1, batch_size=24, backend="jax")
        assert model.fit(X.astype(np.float32), y).dtype_ == "float32"
        model.set_params(dtype="float32")
        assert model.fit(X, y).dtype_ == "float32"
    with pytest.raises(TypeError, match="JAX_ENABLE_X64=1"):
        model.set_params(dtype="float64").fit(X, y)


@pytest.mark.slow  # JAX compiles for each training-set shape: several seconds in all
def test_a_scaled_pipeline_in_grid_search_fits_on_jax_without_x64(no_x64):
    X, y = _data(60)
    pipe = make_pipeline(
        StandardScaler(), MLPRegressor((4,), epochs=3, batch_size=20, backend="jax")
    )
    grid = GridSearchCV(pipe, {"mlpregressor__learning_rate": [1e-3, 1e-2]}, cv=2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        grid.fit(X, y)
    scores = grid.cv_results_["mean_test_score"]
    assert np.all(np.isfinite(scores)), scores
    assert grid.best_estimator_[-1].dtype_ == "float32"
    notes = [w for w in caught if w.category is mlp_xp.PrecisionWarning]
    assert len(notes) == 2 * 2 + 1  # one per fit: 2 settings x 2 folds, and the refit
