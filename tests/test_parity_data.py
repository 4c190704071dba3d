"""``mlp_xp.parity`` on the user's own data: encoding, scaling, the check and ``--data``."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest

import mlp_xp
from mlp_xp import parity
from mlp_xp.backend import backend_info
from mlp_xp.cli import main
from mlp_xp.data.tables import load_data

pytestmark = pytest.mark.parity

STEPS = 20
BACKENDS = [
    spec
    for spec, name in (
        ("numpy", "numpy"),
        ("array_api_strict:device1", "array_api_strict"),
        ("torch", "torch"),
    )
    if backend_info(name).available
]
"""NumPy, array-api-strict on its non-default device, and torch where it is installed."""


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A CSV of 150 rows: four features, a regression target and a 3-class label (last)."""
    rng = np.random.default_rng(7)
    X = rng.normal(loc=0.5, scale=1.0, size=(150, 4))
    value = 1.0 + X[:, 0] - 0.5 * X[:, 1] * X[:, 2] + 0.1 * rng.normal(size=150)
    label = np.digitize(X[:, 0] + X[:, 3], [0.5, 1.5])  # 0, 1 or 2
    path = tmp_path_factory.mktemp("data") / "table.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["x0", "x1", "x2", "x3", "value", "label"])
        for row, v, c in zip(X, value, label):
            writer.writerow([*(f"{x:.6f}" for x in row), f"{v:.6f}", int(c)])
    return str(path)


def _xy(table: str, loss: str) -> tuple[np.ndarray, np.ndarray]:
    """The CSV's features and the target ``loss`` trains on (two text classes for binary)."""
    if loss == "squared_error":
        data = load_data(table, target="value")
        return data.X, data.y
    data = load_data(table, target="label")
    y = data.y
    if loss == "binary_cross_entropy":
        y = np.where(data.y == 2, "high", "low")
    return data.X, y


def _sizes(X: np.ndarray, loss: str, hidden: int = 5) -> tuple[int, ...]:
    return (X.shape[1], hidden, {"squared_error": 1, "binary_cross_entropy": 1}.get(loss, 3))


@pytest.fixture
def perturbed_float32(monkeypatch: pytest.MonkeyPatch) -> None:
    """Plant a disagreeing backend: float32 runs start from weights 1e-4 off the reference's.

    As in tests/test_parity_cli.py: about 800 float32 eps, which rounding alone
    could never produce from identical starting numbers.
    """
    start = parity.runs.start

    def planted(problem, placement, dtype):
        params, X, Y = start(problem, placement, dtype)
        if dtype == "float32":
            first = params[0]
            params = (mlp_xp.Layer(first.W * (1.0 + 1e-4), first.b), *params[1:])
        return params, X, Y

    monkeypatch.setattr(parity.runs, "start", planted)


# --------------------------------------------------------------------------- the problem


def test_targets_are_encoded_as_the_estimators_encode_them():
    labels = np.array(["b", "a", "c", "a"])
    np.testing.assert_array_equal(
        parity.encode_targets(labels, "cross_entropy"),
        [[0, 1, 0], [1, 0, 0], [0, 0, 1], [1, 0, 0]],
    )
    two = parity.encode_targets(np.array([3, 1, 1, 3]), "binary_cross_entropy")
    np.testing.assert_array_equal(two, [[1], [0], [0], [1]])  # 1 for the larger label
    np.testing.assert_array_equal(parity.encode_targets([1.5, 2.0], "squared_error"), [[1.5], [2]])
    assert parity.loss_for_task(labels, "classification") == "cross_entropy"
    assert parity.loss_for_task([0, 1, 1], "classification") == "binary_cross_entropy"
    assert parity.loss_for_task([0.3, 1.2], "regression") == "squared_error"


@pytest.mark.parametrize("loss", ["squared_error", "binary_cross_entropy", "cross_entropy"])
@pytest.mark.parametrize("scale", [True, False])
def test_the_problem_is_the_data_scaled_on_the_host(table, loss, scale):
    X, y = _xy(table, loss)
    config = parity.ParityConfig(layer_sizes=_sizes(X, loss), loss=loss, scale=scale)
    problem = parity.problem_from_data(X, y, config)
    assert problem.X.dtype == problem.Y.dtype == np.float64
    assert problem.X.shape == (150, 5)  # the other target column is a feature
    assert problem.Y.shape == (150, config.layer_sizes[-1])
    if scale:
        np.testing.assert_allclose(problem.X.mean(axis=0), 0.0, atol=1e-12)
        np.testing.assert_allclose(problem.X.std(axis=0), 1.0)
    else:
        np.testing.assert_array_equal(problem.X, X)
    if loss == "squared_error":
        expected = (y - y.mean()) / y.std() if scale else y
        np.testing.assert_allclose(problem.Y[:, 0], expected)
    else:  # class targets are never scaled
        assert set(np.unique(problem.Y)) == {0.0, 1.0}


def test_n_samples_takes_the_first_rows_and_scales_over_them(table):
    X, y = _xy(table, "squared_error")
    sizes = _sizes(X, "squared_error")
    config = parity.ParityConfig(layer_sizes=sizes, n_samples=40, batch_size=20)
    problem = parity.problem_from_data(X, y, config)
    first = X[:40]
    np.testing.assert_allclose(problem.X, (first - first.mean(axis=0)) / first.std(axis=0))


def test_a_constant_column_is_centred_not_divided_by_zero():
    X = np.column_stack([np.arange(6.0), np.full(6, 3.0)])
    config = parity.ParityConfig(layer_sizes=(2, 3, 1), batch_size=6)
    problem = parity.problem_from_data(X, np.arange(6.0), config)
    assert np.all(np.isfinite(problem.X))
    np.testing.assert_array_equal(problem.X[:, 1], 0.0)


@pytest.mark.parametrize(
    ("loss", "y", "config", "match"),
    [
        ("cross_entropy", "value", {}, "non-integer numbers"),
        ("binary_cross_entropy", "label", {}, "exactly 2 classes, the target has 3"),
        ("squared_error", "text", {}, "numeric target"),
        ("cross_entropy", "label", {"layer_sizes": (5, 5, 2)}, r"use layer_sizes=\(5, 5, 3\)"),
        ("cross_entropy", "label", {"n_samples": 151}, "n_samples=151 is more than the 150"),
    ],
)
def test_data_that_do_not_fit_name_what_to_fix(table, loss, y, config, match):
    data = load_data(table, target="label" if y != "value" else "value")
    target = np.where(data.y == 2, "two", "other") if y == "text" else data.y
    settings = {"layer_sizes": (5, 5, 3), "loss": loss, **config}
    with pytest.raises(ValueError, match=match):
        parity.check(data=(data.X, target), backends="numpy", steps=2, **settings)


def test_the_built_in_problems_refuse_a_classification_loss():
    with pytest.raises(ValueError, match="built-in problems are regressions"):
        parity.check(backends="numpy", steps=2, loss="cross_entropy")
    with pytest.raises(ValueError, match="names user data"):
        parity.make_problem(parity.ParityConfig(source="digits"))


# --------------------------------------------------------------------------- the check


@pytest.mark.parametrize("loss", ["squared_error", "binary_cross_entropy", "cross_entropy"])
@pytest.mark.parametrize("scale", [True, False])
def test_user_data_agree_on_every_backend(table, loss, scale):
    X, y = _xy(table, loss)
    report = parity.check(
        data=(X, y),
        backends=BACKENDS,
        layer_sizes=_sizes(X, loss),
        loss=loss,
        alpha=1e-2,
        scale=scale,
        steps=STEPS,
        batch_size=32,
    )
    assert report.passed, report.format()
    ran = {(row.backend, row.dtype) for row in report.rows}
    assert len(ran) == 2 * len(BACKENDS)
    reference = next(r for r in report.rows if (r.backend, r.dtype) == ("numpy", "float64"))
    assert reference.deviation == 0.0
    assert report.config.n_samples == 150  # every row when n_samples is not given
    assert report.config.source == "user data"
    line = report.config.describe()
    assert f"{loss} loss" in line
    assert "samples of user data" in line
    assert ("not standardised" in line) != scale
    assert "L2 alpha 0.01" in line
    zero = {"binary_cross_entropy": math.log(2.0), "cross_entropy": math.log(3.0)}
    if loss in zero:
        assert report.zero_loss == pytest.approx(zero[loss])
    # Training did something: the reference's batch loss fell.
    assert np.mean(report.reference_losses[-5:]) < np.mean(report.reference_losses[:5])


def test_alpha_adds_the_l2_penalty_to_the_batch_loss(table):
    """The first batch loss with alpha is the one without plus alpha/(2 n) sum ||W||^2."""
    X, y = _xy(table, "cross_entropy")
    kw = {"data": (X, y), "backends": "numpy", "dtypes": ["float64"], "steps": 1}
    kw |= {"layer_sizes": _sizes(X, "cross_entropy"), "loss": "cross_entropy", "batch_size": 50}
    plain = parity.check(**kw)
    penalised = parity.check(**kw, alpha=0.5)
    params = parity.problem_from_data(X, y, plain.config).params
    penalty = 0.5 * 0.5 / 50 * sum(float(np.sum(W**2)) for W, _ in params)
    gained = penalised.reference_losses[0] - plain.reference_losses[0]
    assert gained == pytest.approx(penalty, rel=1e-12)


def test_a_perturbed_backend_fails_on_user_data(table, perturbed_float32):
    X, y = _xy(table, "cross_entropy")
    report = parity.check(
        data=(X, y),
        backends=["numpy"],
        layer_sizes=_sizes(X, "cross_entropy"),
        loss="cross_entropy",
        steps=10,
    )
    verdict = {row.dtype: row.passed for row in report.rows}
    assert verdict == {"float32": False, "float64": True}
    assert "FAIL: 1 of 2 runs" in report.format()


# --------------------------------------------------------------------------- the command

ARGS = ["--hidden", "5", "--steps", str(STEPS), "--backends", "numpy"]


def test_cli_data_exits_0_and_names_the_data(table, capsys):
    argv = ["parity", "--data", table, *ARGS, "--dtype", "float32,float64"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert f"samples of {table}, target 'label'" in out  # the last column, 3 classes
    assert "layers 5-5-3" in out  # the value column is a feature here
    assert "cross_entropy loss (softmax output)" in out
    assert "pass: all 2 runs" in out


def test_cli_data_json_holds_the_new_settings(table, tmp_path, capsys):
    path = tmp_path / "parity.json"
    argv = ["parity", "--data", table, "--target", "value", *ARGS, "--samples", "100"]
    argv += ["--alpha", "0.001", "--no-scale", "--json", str(path)]
    assert main(argv) == 0
    data = json.loads(path.read_text())
    assert data["passed"] is True
    config = data["config"]
    assert config["loss"] == "squared_error"
    assert config["alpha"] == 0.001
    assert config["scale"] is False
    assert config["n_samples"] == 100
    assert config["layer_sizes"] == [5, 5, 1]  # the label column is a feature here
    assert config["source"] == f"{table}, target 'value'"
    assert data["zero_loss"] > 0
    assert table in data["description"]


@pytest.mark.parametrize(
    ("argv", "loss"),
    [
        (["--task", "classification"], "cross_entropy"),
        (["--target", "value", "--task", "auto"], "squared_error"),
        (["--loss", "squared_error"], "squared_error"),
    ],
)
def test_cli_task_and_loss_pick_the_loss(table, argv, loss, capsys):
    assert main(["parity", "--data", table, *ARGS, "--steps", "3", *argv]) == 0
    assert f"{loss} loss" in capsys.readouterr().out


def test_cli_exits_1_when_a_backend_disagrees_on_user_data(table, perturbed_float32, capsys):
    assert main(["parity", "--data", table, *ARGS]) == 1
    assert "FAIL" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["--target", "nope"], "target column 'nope' is not in"),
        (["--target", "value", "--loss", "cross_entropy"], "non-integer numbers"),
        (["--loss", "cross_entropy", "--task", "regression"], "is a classification loss"),
        (["--target", "value", "--task", "classification"], "use --task regression"),
        (["--samples", "500"], "--samples 500 is more than the 150 rows"),
        (["--loss", "hinge"], "unknown --loss 'hinge'"),
    ],
)
def test_cli_bad_data_input_exits_2_with_one_line(table, argv, match, capsys):
    assert main(["parity", "--data", table, *ARGS, *argv]) == 2
    err = capsys.readouterr().err
    assert match in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["--target", "value"], "give --data too"),
        (["--loss", "cross_entropy"], "built-in problems are regressions"),
    ],
)
def test_cli_data_options_without_data_exit_2(argv, match, capsys):
    assert main(["parity", "--steps", "2", "--backends", "numpy", *argv]) == 2
    err = capsys.readouterr().err
    assert match in err
    assert len(err.strip().splitlines()) == 1
