"""JAX without x64 mode: parity skips float64 and runs the rest, float64 models still load.

The suite switches x64 on (conftest.py).  Everything mlp_xp knows of it comes
from the JAX adapter's ``float_dtypes``, so the ``no_x64`` fixture patches that
capability away: that is a process without ``JAX_ENABLE_X64`` as mlp_xp sees it.
One slow test checks the same in a fresh process where JAX really lacks x64.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

import mlp_xp
from mlp_xp import backend
from mlp_xp.cli import main

pytestmark = pytest.mark.skipif(
    not backend.backend_info("jax").available, reason="jax is not installed (mlp_xp[jax])"
)

FIX = "JAX_ENABLE_X64=1"


@pytest.fixture
def no_x64(monkeypatch):
    """JAX as a shell without ``JAX_ENABLE_X64`` has it: float32 only."""
    monkeypatch.setattr(backend.adapter("jax"), "float_dtypes", lambda device: ("float32",))


@pytest.fixture(scope="module")
def model64(tmp_path_factory):
    """A float64 JAX classifier trained by ``mlp-xp train`` on xor (the suite has x64 on)."""
    path = tmp_path_factory.mktemp("x64") / "xor64.safetensors"
    argv = ["train", "--data", "xor", "--backend", "jax", "--dtype", "float64"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the 3 epochs run out: no news here
        assert main([*argv, "--epochs", "3", "--quiet", "--out", str(path)]) == 0
    return path


# --------------------------------------------------------------------------- parity


def test_parity_skips_jax_float64_and_runs_the_rest(no_x64, capsys, tmp_path):
    # float64 alone: NumPy runs, JAX is skipped with the fix, and nothing compiles.
    report = tmp_path / "parity.json"
    argv = ["parity", "--backends", "numpy,jax", "--dtype", "float64", "--steps", "3"]
    assert main([*argv, "--json", str(report)]) == 0
    out = capsys.readouterr().out
    skipped = out.split("skipped:")[1]
    assert "jax:cpu float64: dtype='float64' is not available on jax here" in skipped
    assert FIX in skipped
    data = json.loads(report.read_text())
    assert [(row["backend"], row["dtype"]) for row in data["rows"]] == [("numpy", "float64")]
    assert [(s["backend"], s["dtype"]) for s in data["skipped"]] == [("jax", "float64")]
    assert data["passed"]


@pytest.mark.slow
def test_parity_runs_jax_float32_beside_the_skipped_float64(no_x64, capsys, tmp_path):
    report = tmp_path / "parity.json"
    argv = ["parity", "--backends", "numpy,jax", "--steps", "3", "--json", str(report)]
    assert main(argv) == 0
    assert "jax:cpu float64: dtype='float64'" in capsys.readouterr().out
    data = json.loads(report.read_text())
    ran = {(row["backend"], row["dtype"]) for row in data["rows"]}
    assert ran == {
        ("numpy", "float32"),
        ("numpy", "float64"),
        ("jax", "float32"),
        ("jax compiled", "float32"),
    }
    assert [(s["backend"], s["dtype"]) for s in data["skipped"]] == [("jax", "float64")]


def test_parity_on_the_users_data_skips_jax_float64_too(no_x64, capsys, tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    table = tmp_path / "table.csv"
    rows = [",".join(f"{v:.6f}" for v in (*x, x.sum())) for x in X]
    table.write_text("a,b,c,y\n" + "\n".join(rows) + "\n")
    argv = ["parity", "--data", str(table), "--backends", "numpy,jax", "--steps", "3"]
    assert main([*argv, "--dtype", "float64"]) == 0
    out = capsys.readouterr().out
    assert "jax:cpu float64: dtype='float64' is not available" in out
    assert "pass: all 1 runs agree" in out


def test_parity_with_only_jax_float64_lists_the_skip_and_exits_2(no_x64, capsys):
    assert main(["parity", "--backends", "jax", "--dtype", "float64", "--steps", "3"]) == 2
    captured = capsys.readouterr()
    assert "jax:cpu float64" in captured.out
    assert "could run here" in captured.err


# --------------------------------------------------------------------------- loading


def test_a_float64_jax_model_loads_on_numpy_with_a_note(no_x64, model64):
    with pytest.warns(
        mlp_xp.PlacementWarning,
        match=rf"trained on jax cpu in float64.*{FIX}.*loaded on numpy cpu instead",
    ):
        model = mlp_xp.load(model64)
    assert (model.backend_, model.dtype_) == ("numpy", "float64")
    X = np.array([[0.0, 1.0], [1.0, 1.0]])
    assert np.asarray(model.predict_proba(X)).dtype == np.float64


def test_a_float64_model_asked_onto_jax_is_refused_with_the_fix(no_x64, model64):
    with pytest.raises(mlp_xp.BackendUnavailableError, match=FIX) as caught:
        mlp_xp.load(model64, backend="jax")
    assert "corrupted" not in str(caught.value)
    assert "cannot load this float64 model on jax" in str(caught.value)


@pytest.mark.parametrize(
    "command",
    [
        ["predict", "{model}", "--data", "xor"],
        ["evaluate", "{model}", "--data", "xor"],
        ["verify", "{model}", "--data", "xor", "--against", "numpy"],
    ],
    ids=["predict", "evaluate", "verify-against-numpy"],
)
def test_the_command_line_uses_a_float64_jax_model_on_numpy(no_x64, model64, capsys, command):
    assert main([part.format(model=model64) for part in command]) == 0
    err = capsys.readouterr().err
    assert "corrupted" not in err
    notes = [line for line in err.splitlines() if line.startswith("mlp-xp: note:")]
    assert len(notes) == 1, err
    assert "loaded on numpy cpu instead" in notes[0]
    assert FIX in notes[0]


def test_the_command_line_refuses_backend_jax_for_it_naming_the_fix(no_x64, model64, capsys):
    assert main(["predict", str(model64), "--data", "xor", "--backend", "jax"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("mlp-xp: error: --backend jax: cannot load this float64 model")
    assert FIX in err[0]
    assert "corrupted" not in err[0]


# --------------------------------------------------------------------------- a real process


@pytest.mark.slow
def test_a_process_without_x64_runs_parity_loads_float64_and_fits_float32(model64, tmp_path):
    script = (
        "import warnings, numpy as np, mlp_xp\n"
        "from mlp_xp.cli import main\n"
        "import jax\n"
        "assert not jax.config.jax_enable_x64\n"
        "print('parity', main(['parity', '--backends', 'numpy,jax', '--steps', '3']))\n"
        f"print('predict', main(['predict', {str(model64)!r}, '--data', 'xor']))\n"
        "X = np.random.default_rng(0).normal(size=(20, 2))\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('always')\n"
        "    m = mlp_xp.MLPRegressor((3,), epochs=1, backend='jax').fit(X, X.sum(1))\n"
        "kinds = [w.category.__name__ for w in caught]\n"
        "print('fit', m.dtype_, kinds.count('PrecisionWarning'))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "JAX_ENABLE_X64"}
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "jax:cpu float64: dtype='float64' is not available on jax here" in out
    assert "parity 0" in out
    assert "predict 0" in out
    assert "fit float32 1" in out
    assert "loaded on numpy cpu instead" in result.stderr
    assert "corrupted" not in result.stderr
