"""What importing mlp_xp costs: no heavy library until a feature needs it."""

from __future__ import annotations

import subprocess
import sys

import pytest

import mlp_xp

HEAVY = ("sklearn", "scipy", "torch", "jax", "dask")


def _loaded_after(code: str) -> list[str]:
    """The heavy libraries in ``sys.modules`` once ``code`` ran in a fresh interpreter."""
    probe = f"{code}\nimport sys; print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    return done.stdout.splitlines()[-1].split()


def test_import_mlp_xp_loads_no_heavy_library():
    assert _loaded_after("import mlp_xp, mlp_xp.nn, mlp_xp.training, mlp_xp.tree") == []


def test_the_functional_api_trains_without_a_heavy_library():
    code = (
        "import numpy as np, mlp_xp\n"
        "p = mlp_xp.init_params((2, 3, 1), seed=0)\n"
        "X, y = np.ones((4, 2)), np.ones((4, 1))\n"
        "p = mlp_xp.apply_updates(p, mlp_xp.gradients(p, X, y))\n"
    )
    assert _loaded_after(code) == []


def test_mlp_xp_help_loads_no_heavy_library():
    code = (
        "import contextlib, io\n"
        "from mlp_xp.cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "    main(['--help'])\n"
    )
    assert _loaded_after(code) == []


def test_the_estimators_are_imported_on_first_use():
    code = "import mlp_xp\nassert mlp_xp.MLPRegressor.__name__ == 'MLPRegressor'"
    assert "sklearn" in _loaded_after(code)


@pytest.mark.parametrize("estimator", ["MLPRegressor", "MLPClassifier"])
def test_load_is_a_fresh_processs_first_call(tmp_path, estimator):
    """``mlp_xp.load`` finds the estimator class a file names, imported on first use."""
    y = [0.0, 1.0, 1.0, 0.0] if estimator == "MLPClassifier" else [0.0, 1.0, 2.0, 3.0]
    model = getattr(mlp_xp, estimator)((2,), epochs=1).fit([[0.0], [1.0], [2.0], [3.0]], y)
    path = tmp_path / "model.npz"
    model.save(path)
    code = f"import mlp_xp\nprint(type(mlp_xp.load({str(path)!r})).__name__)"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [estimator]


@pytest.mark.parametrize("name", mlp_xp.__all__)
def test_every_exported_name_resolves_and_is_listed(name):
    assert getattr(mlp_xp, name) is not None
    assert name in dir(mlp_xp)


def test_verify_is_the_function_even_after_its_subpackage_is_imported():
    import mlp_xp.verify.api

    api = sys.modules["mlp_xp.verify.api"]
    assert mlp_xp.verify is api.verify
    assert mlp_xp.compare is api.compare
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        _ = mlp_xp.nothing_here


def test_not_fitted_error_is_scikit_learns_and_one_class():
    from sklearn.exceptions import NotFittedError as SklearnNotFittedError

    from mlp_xp import errors

    assert issubclass(mlp_xp.NotFittedError, SklearnNotFittedError)
    assert mlp_xp.NotFittedError is errors.NotFittedError
    assert mlp_xp.NotFittedError.__module__ == "mlp_xp.errors"
    with pytest.raises(SklearnNotFittedError, match="not fitted"):
        mlp_xp.MLPRegressor().predict([[1.0]])
