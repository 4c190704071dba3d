"""JAX as one more adapter: immutable arrays, x64 mode, and models that move to and from it."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import mlp_xp
from mlp_xp import MLPRegressor, backend, parity
from mlp_xp.data.builtin import make_bmi

pytestmark = pytest.mark.skipif(
    not backend.backend_info("jax").available, reason="jax is not installed (mlp_xp[jax])"
)


@pytest.mark.slow
def test_float64_without_x64_is_refused_with_the_fix():
    code = (
        "import numpy as np, mlp_xp\n"
        "try:\n"
        "    mlp_xp.MLPRegressor((2,), epochs=1, backend='jax', dtype='float64')"
        ".fit(np.ones((4, 2)), np.ones(4))\n"
        "except TypeError as e:\n"
        "    print(e)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "JAX_ENABLE_X64"}
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        timeout=120,
    )
    assert "JAX_ENABLE_X64=1" in result.stdout
    assert "float64" in result.stdout


@pytest.mark.slow
def test_a_jax_model_trains_saves_and_loads_on_numpy_and_back(tmp_path):
    X, y = make_bmi(600, seed=1)
    model = MLPRegressor((8,), epochs=8, batch_size=64, learning_rate=0.01, backend="jax")
    model.fit(X, y)
    assert model.backend_ == "jax"
    path = tmp_path / "jax.npz"
    model.save(path)
    on_numpy = mlp_xp.load(path, backend="numpy")
    np.testing.assert_allclose(
        np.asarray(on_numpy.predict(X)), mlp_xp.to_host(model.predict(X)), rtol=1e-6
    )
    back = mlp_xp.load(path)
    assert back.backend_ == "jax"
    report = mlp_xp.verify(model, X, y)
    assert report.passed, report.format()


@pytest.mark.slow
def test_parity_numpy_and_jax_in_both_dtypes():
    report = parity.check(backends="numpy,jax", steps=20)
    assert {(r.backend, r.dtype) for r in report.rows} >= {("jax", "float32"), ("jax", "float64")}
    assert report.passed, report.format()


def test_info_says_whether_x64_is_on(capsys):
    from mlp_xp.cli import main

    assert main(["info"]) == 0
    line = next(line for line in capsys.readouterr().out.splitlines() if "jax" in line)
    assert "x64 mode on" in line  # the test suite switches it on (tests/conftest.py)
