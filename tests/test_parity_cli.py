"""``mlp_xp.parity.check`` and ``mlp-xp parity``: the report, its verdict and its exit codes."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import mlp_xp
from mlp_xp import backend as _backend
from mlp_xp import parity, plotting
from mlp_xp.cli import main

pytestmark = pytest.mark.parity

STEPS = "20"


def _installed(name: str) -> bool:
    return mlp_xp.available_backends()[name].installed


def _usable(name: str) -> bool:
    return mlp_xp.available_backends()[name].available


@pytest.fixture
def perturbed_float32(monkeypatch):
    """Plant a disagreeing backend: float32 runs start from weights 1e-4 off the reference's.

    1e-4 is about 800 float32 eps, a real difference, but one that rounding
    alone could never produce from identical starting numbers.
    """
    start = parity.runs.start

    def planted(problem, placement, dtype):
        params, X, Y = start(problem, placement, dtype)
        if dtype == "float32":
            first = params[0]
            params = (mlp_xp.Layer(first.W * (1.0 + 1e-4), first.b), *params[1:])
        return params, X, Y

    monkeypatch.setattr(parity.runs, "start", planted)


# --------------------------------------------------------------------------- the API


def test_check_reports_every_default_backend_as_a_row_or_skipped():
    report = parity.check(steps=5)
    ran = {(row.backend, row.dtype) for row in report.rows}
    assert ("numpy", "float32") in ran
    assert ("numpy", "float64") in ran
    for spec in parity.DEFAULT_BACKENDS:
        name, _ = parity.parse_backend(spec)
        listed = any(r.backend == name for r in report.rows) or any(
            s.backend == name for s in report.skipped
        )
        assert listed, f"{spec} is neither a row nor skipped"
    for s in report.skipped:
        assert s.reason, s
    if not _usable("cupy"):
        assert any(s.backend == "cupy" and "GPU" in s.reason for s in report.skipped)
    if _usable("dask"):
        assert any(
            s.backend == "dask" and "not run by default" in s.reason for s in report.skipped
        )
    assert report.passed
    # The reference itself, rerun as the numpy float64 row, is bit-identical.
    row = next(r for r in report.rows if (r.backend, r.dtype) == ("numpy", "float64"))
    assert row.deviation == 0.0
    assert row.curve == (0.0,) * 6
    assert len(row.losses) == 5
    assert row.sign_flips == 0


def test_a_named_backend_that_cannot_run_here_is_an_error():
    if _usable("cupy"):
        pytest.skip("a CUDA GPU is usable here")
    if not _installed("cupy"):
        pytest.skip("cupy is not installed, so it would be skipped, not refused")
    with pytest.raises(mlp_xp.BackendUnavailableError, match=r"'cupy'.*no usable CUDA GPU"):
        parity.check(backends=["numpy", "cupy"], steps=2)


def test_a_named_backend_that_is_not_installed_is_skipped(monkeypatch):
    missing = _backend.BackendInfo("dask", False, False, "not installed; pip install x", None, ())
    monkeypatch.setattr(type(_backend.adapter("dask")), "info", lambda self: missing)
    report = parity.check(backends="numpy,dask", steps=2)
    assert [s.backend for s in report.skipped] == ["dask"]
    assert "not installed" in report.skipped[0].reason
    assert {r.backend for r in report.rows} == {"numpy"}


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"backends": ["mxnet"]}, ValueError, "unknown backend 'mxnet'"),
        ({"backends": "array_api_strict:device9"}, ValueError, "device9"),
        ({"backends": []}, ValueError, "backends is empty"),
        ({"dtypes": ["float16"]}, ValueError, "float16"),
        ({"steps": 0}, ValueError, "steps"),
        ({"optimizer": "rmsprop"}, ValueError, "rmsprop"),
        ({"batch_size": 5000}, ValueError, "batch_size=5000"),
        ({"learning_rte": 0.1}, TypeError, "learning_rte"),
    ],
)
def test_bad_arguments_name_what_to_fix(kwargs, error, match):
    with pytest.raises(error, match=match):
        parity.check(**{"steps": 2, **kwargs})


def test_a_perturbed_backend_fails(perturbed_float32):
    report = parity.check(backends=["numpy"], steps=10)
    verdict = {row.dtype: row.passed for row in report.rows}
    assert verdict == {"float32": False, "float64": True}
    assert not report.passed
    assert "FAIL: 1 of 2 runs" in report.format()


def test_emulated_tf32_matmuls_are_caught(monkeypatch):
    """A float32 backend whose matmuls round their inputs to TF32 (10-bit mantissa) fails.

    This is what a GPU with TF32 switched on computes.  The rule must tell it
    from float32 rounding, or it could not vouch for a CuPy or CUDA run.
    """

    def tf32(a: np.ndarray) -> np.ndarray:
        bits = np.asarray(a, dtype=np.float32).view(np.uint32).astype(np.uint64)
        bits = (bits + 0x1000) & ~np.uint64(0x1FFF)  # round to nearest, 10 mantissa bits
        return bits.astype(np.uint32).view(np.float32)

    class TF32Array(np.ndarray):
        def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
            args = [x.view(np.ndarray) if isinstance(x, np.ndarray) else x for x in inputs]
            if "out" in kwargs:  # in-place operators (z *= slope) pass the target as out=
                kwargs["out"] = tuple(o.view(np.ndarray) for o in kwargs["out"])
            if ufunc is np.matmul:
                args = [tf32(x) for x in args]
            out = getattr(ufunc, method)(*args, **kwargs)
            return out.view(TF32Array) if isinstance(out, np.ndarray) else out

    from_host = parity.runs.from_host

    def planted(a, placement, dtype=None):
        x = from_host(a, placement, dtype)
        return x.view(TF32Array) if dtype == "float32" else x

    monkeypatch.setattr(parity.runs, "from_host", planted)
    report = parity.check(backends=["numpy"], dtypes=["float32"], steps=50)
    assert not report.passed, report.format()


def test_adam_amplifies_the_rounding_of_a_zero_gradient():
    """Found while measuring: a real float32/float64 difference, reported, not hidden.

    A linear network on centred data with zero biases has a full-batch bias
    gradient of exactly 0; computed, it is rounding noise of either sign.
    Adam's first step is lr * g / (|g| + 1e-8): in float32 the noise is near
    1e-8, so the biases move by up to lr in a random direction, while float64
    moves them by about 1e-9.  The rule assumes well-conditioned steps, and
    this step is not; the check must say FAIL.
    """
    report = parity.check(
        backends=["numpy"], activation="identity", optimizer="adam", batch_size=1000, steps=3
    )
    rows = {row.dtype: row for row in report.rows}
    assert not rows["float32"].passed
    assert rows["float32"].max_abs > 1e-3  # a bias moved the other way
    assert rows["float64"].deviation == 0.0


def test_relu_sign_flips_are_counted(monkeypatch):
    """A pre-activation that float64 puts just below 0 and float32 exactly at 0 is a flip.

    Unit 0 computes z = (1 - 1e-12) x0 + 0 x1 - 1 with x0 = 1: -1e-12 in float64,
    but 1 - 1e-12 rounds to 1 in float32, so z = 0 there and ReLU'(z) is 1, not 0.
    Every one of the 4 rows meets it in the one full-batch step.
    """
    rng = np.random.default_rng(0)
    W0 = rng.normal(size=(8, 2))
    W0[0] = (1.0 - 1e-12, 0.0)
    b0 = np.zeros(8)
    b0[0] = -1.0
    X = np.column_stack([np.ones(4), rng.normal(size=4)])
    problem = parity.Problem(
        X,
        rng.normal(size=(4, 1)),
        (mlp_xp.Layer(W0, b0), mlp_xp.Layer(rng.normal(size=(1, 8)), np.zeros(1))),
    )
    monkeypatch.setattr(parity.runs, "make_problem", lambda config: problem)
    report = parity.check(backends=["numpy"], n_samples=4, batch_size=4, steps=1)
    flips = {row.dtype: row.sign_flips for row in report.rows}
    assert flips == {"float32": 4, "float64": 0}
    smooth = parity.check(backends=["numpy"], activation="tanh", steps=2)
    assert all(row.sign_flips is None for row in smooth.rows)


@pytest.mark.skipif(not _usable("dask"), reason="dask is not installed")
def test_dask_agrees_when_asked_for():
    report = parity.check(backends=["dask"], dtypes=["float64"], steps=3)
    assert [row.backend for row in report.rows] == ["dask"]
    assert report.passed, report.format()


def test_environment_lists_versions_and_precision_modes():
    env = _backend.environment_report()
    assert env["versions"]["numpy"] == np.__version__
    assert "array_api_compat" in env["versions"]
    assert isinstance(env["reduced_precision"], list)
    if _installed("torch"):
        assert "torch.backends.cuda.matmul.allow_tf32" in env["settings"]


@pytest.mark.slow
def test_environment_reports_tf32_switched_on():
    # In a process of its own: CuPy fixes its float32 matmul mode from CUPY_TF32 at the
    # first read, and would keep TF32 for every later test of this run.
    code = (
        "import os; os.environ['CUPY_TF32'] = '1'; import mlp_xp.backend as b; "
        "print('CUPY_TF32=1' in b.environment_report()['reduced_precision'])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.strip() == "True"


# --------------------------------------------------------------------------- the command


def test_cli_prints_the_table_and_exits_0(capsys):
    backends = "numpy,array_api_strict:device1" + (",torch" if _installed("torch") else "")
    assert main(["parity", "--backends", backends, "--steps", STEPS]) == 0
    out = capsys.readouterr().out
    for column in ("backend", "device", "dtype", "final loss", "max abs", "max rel", "tolerance"):
        assert column in out
    assert "device1" in out
    assert "reduced-precision float32 matmul" in out
    assert "pass: all" in out


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["--learning-rate", "0.1"], "--learning-rate is now --lr, as mlp-xp train spells it"),
        (["--layers=2,8,1"], "--layers is now --hidden with the hidden sizes only"),
    ],
)
def test_cli_refuses_the_old_spellings_naming_the_new(argv, match, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["parity", *argv])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert f"mlp-xp parity: error: unrecognized arguments: {' '.join(argv)}; {match}" in err


def test_cli_spells_lr_and_hidden_as_train_does(capsys):
    argv = ["parity", "--backends", "numpy", "--dtype", "float64", "--steps", "2"]
    assert main([*argv, "--lr", "0.2", "--hidden", "8", "8"]) == 0
    out = capsys.readouterr().out
    assert "layers 2-8-8-1" in out
    assert "(learning rate 0.2)" in out


def test_cli_default_lists_what_it_skipped(capsys):
    assert main(["parity", "--steps", "3"]) == 0
    out = capsys.readouterr().out
    if not _usable("cupy"):
        assert "skipped:" in out
        assert "cupy" in out.split("skipped:")[1]


def test_cli_exits_1_when_a_backend_disagrees(perturbed_float32, capsys):
    assert main(["parity", "--backends", "numpy", "--steps", STEPS]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["--backends", "mxnet"], "unknown backend 'mxnet'"),
        (["--hidden", "8", "0"], "--hidden must be a positive integer (>= 1), got 0"),
        (["--seed", "-1"], "--seed must be a non-negative integer (>= 0), got -1"),
        (["--samples", "10"], "--batch-size 100 is larger than --samples 10"),
        (["--dtype", "float16"], "float16"),
        (["--steps", "0"], "steps"),
        (["--activation", "gelu"], "gelu"),
    ],
)
def test_cli_bad_usage_exits_2_with_one_line(argv, match, capsys):
    assert main(["parity", *argv]) == 2
    err = capsys.readouterr().err
    assert match in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_cli_refuses_a_gpu_backend_without_a_gpu(capsys):
    if _usable("cupy"):
        pytest.skip("a CUDA GPU is usable here")
    if not _installed("cupy"):
        pytest.skip("cupy is not installed, so it would be skipped, not refused")
    assert main(["parity", "--backends", "cupy", "--steps", "2"]) == 2
    err = capsys.readouterr().err
    assert "cupy" in err
    assert "GPU" in err
    assert len(err.strip().splitlines()) == 1


def test_cli_json_holds_the_table(tmp_path, capsys):
    path = tmp_path / "parity.json"
    assert main(["parity", "--backends", "numpy", "--steps", STEPS, "--json", str(path)]) == 0
    data = json.loads(path.read_text())
    assert data["passed"] is True
    assert data["config"]["steps"] == int(STEPS)
    assert data["reference"]["where"] == parity.REFERENCE
    assert {(r["backend"], r["dtype"]) for r in data["rows"]} == {
        ("numpy", "float32"),
        ("numpy", "float64"),
    }
    for row in data["rows"]:
        for key in ("device", "final_loss", "max_abs", "max_rel", "deviation", "tolerance"):
            assert key in row
        assert row["passed"] is True
        assert len(row["curve"]) == int(STEPS) + 1
        assert row["deviation"] <= row["tolerance"]
    assert "versions" in data["environment"]
    assert "reduced_precision" in data["environment"]


def test_cli_plot_writes_a_png(tmp_path, capsys):
    pytest.importorskip("matplotlib", reason="matplotlib is not installed")
    path = tmp_path / "parity.png"
    assert main(["parity", "--backends", "numpy", "--steps", STEPS, "--plot", str(path)]) == 0
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_plot_without_matplotlib_says_what_to_install(monkeypatch, tmp_path, capsys):
    real = plotting.importlib.util.find_spec
    monkeypatch.setattr(
        plotting.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "matplotlib" else real(name, *a),
    )
    argv = ["parity", "--backends", "numpy", "--plot", str(tmp_path / "p.png")]
    assert main(argv) == 2
    assert "mlp_xp[plot]" in capsys.readouterr().err
