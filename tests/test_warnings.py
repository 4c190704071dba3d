"""Warnings point at the caller's line, however deep in mlp_xp they are raised."""

from __future__ import annotations

import json
import runpy
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning, DataConversionWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import mlp_xp
from mlp_xp import MLPClassifier, MLPRegressor
from mlp_xp.backend import adapter
from mlp_xp.data.builtin import make_bmi

PACKAGE = str(Path(mlp_xp.__file__).resolve().parent)
XOR = Path(__file__).resolve().parent.parent / "examples" / "xor.py"


def _caught(category: type[Warning], caught: list[warnings.WarningMessage]) -> list:
    found = [w for w in caught if issubclass(w.category, category)]
    assert found, [str(w.message) for w in caught]
    return found


def _next_line() -> int:
    return sys._getframe(1).f_lineno + 1


def test_a_convergence_warning_points_at_the_call_of_fit():
    """Not into estimators/base.py, where a fixed stacklevel pointed."""
    X, y = make_bmi(100, seed=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        line = _next_line()
        MLPRegressor((4,), epochs=2, tol=0.0).fit(X, y)
    (found,) = _caught(ConvergenceWarning, caught)
    assert (found.filename, found.lineno) == (__file__, line)


def test_a_warning_from_partial_fit_points_at_its_call():
    X, y = make_bmi(40, seed=0)
    labels = (y > 22).astype(int).reshape(-1, 1)  # a column vector: scikit-learn's warning
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        line = _next_line()
        MLPClassifier((4,)).partial_fit(X, labels, classes=[0, 1])
    (found,) = _caught(DataConversionWarning, caught)
    assert (found.filename, found.lineno) == (__file__, line)


def test_a_feature_names_warning_points_at_the_call_of_predict():
    pd = pytest.importorskip("pandas")
    X, y = make_bmi(40, seed=0)
    model = MLPRegressor((4,), epochs=2, tol=1e9).fit(X, y)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        line = _next_line()
        model.predict(pd.DataFrame(X, columns=["h", "w"]))
    (found,) = _caught(UserWarning, caught)
    assert "fitted without feature names" in str(found.message)
    assert (found.filename, found.lineno) == (__file__, line)


def test_a_placement_warning_points_at_the_call_of_load(tmp_path):
    if adapter("cupy").info().available:
        pytest.skip("CuPy is usable here, so the model loads where it was trained")
    X, y = make_bmi(40, seed=0)
    path = tmp_path / "m.npz"
    MLPRegressor((4,), epochs=2, tol=1e9).fit(X, y).save(path)
    with np.load(path) as saved:
        arrays = dict(saved)
    meta = json.loads(str(arrays["__mlp_xp__"]))
    meta["trained_on"] = {"backend": "cupy", "device": "cuda:0"}
    arrays["__mlp_xp__"] = np.array(json.dumps(meta))
    np.savez(path, **arrays)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        line = _next_line()
        mlp_xp.load(path)
    (found,) = _caught(mlp_xp.PlacementWarning, caught)
    assert (found.filename, found.lineno) == (__file__, line)


def test_through_a_pipeline_the_caller_is_scikit_learn():
    X, y = make_bmi(100, seed=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        make_pipeline(StandardScaler(), MLPRegressor((4,), epochs=2, tol=0.0)).fit(X, y)
    (found,) = _caught(ConvergenceWarning, caught)
    assert not str(Path(found.filename).resolve()).startswith(PACKAGE)
    assert Path(found.filename).name == "pipeline.py"


def test_the_xor_example_warns_only_when_its_epochs_run_out_and_points_at_itself(capsys):
    """It used to warn twice, pointing into base.py: tol=0 and patience=epochs ran every
    epoch on purpose.  Now each run stops once its loss stops improving."""
    main = runpy.run_path(str(XOR))["main"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scores = main(["--epochs", "300"])
    assert scores == {"identity": 0.5, "relu": 1.0}
    assert not [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        main(["--epochs", "3"])  # too few: each run says so, at the example's own line
    found = _caught(ConvergenceWarning, caught)
    assert {Path(w.filename).resolve() for w in found} == {XOR}
