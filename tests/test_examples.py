"""The examples run, on NumPy and on array-api-strict's non-default device."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _main(name: str):
    return runpy.run_path(str(EXAMPLES / name))["main"]


@pytest.mark.parametrize(
    "backend", [["--backend", "numpy"], ["--backend", "array_api_strict", "--device", "device1"]]
)
def test_bmi_regression(capsys, backend):
    r2 = _main("bmi_regression.py")([*backend, "--epochs", "15"])
    assert r2 > 0.99
    assert "held-out R^2" in capsys.readouterr().out


def test_perceptron_sigmoid(capsys):
    accuracy = _main("perceptron_sigmoid.py")(["--steps", "400"])
    assert accuracy > 0.95


@pytest.mark.slow_on("array_api_strict")
@pytest.mark.parametrize("backend", ["numpy", "array_api_strict"])
def test_xor_needs_a_nonlinearity(capsys, backend):
    scores = _main("xor.py")(["--backend", backend, "--epochs", "200"])
    assert scores["identity"] <= 0.75  # a linear map can get at most 3 of the 4 points
    assert scores["relu"] == 1.0


def test_digits(capsys):
    pytest.importorskip("sklearn", reason="digits needs scikit-learn: pip install scikit-learn")
    accuracy = _main("digits.py")(["--backend", "numpy", "--epochs", "20"])
    assert accuracy > 0.9
