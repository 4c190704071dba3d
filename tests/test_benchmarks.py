"""The benchmarks' own logic: which process times the torch ratio, and the import timer."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
pytestmark = pytest.mark.skipif(
    not BENCHMARKS.is_dir(), reason="benchmarks/ is not in this copy (a wheel's tests)"
)


@pytest.fixture
def torch_openmp(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    return importlib.import_module("torch_openmp")


def test_the_child_runs_only_for_tiny_torch_rows_on_the_cpu_under_our_passive(torch_openmp):
    wanted = torch_openmp.wanted
    assert wanted(["tiny", "mnist"], "torch,jax", gpu=False, passive_is_ours=True)
    assert not wanted(["tiny"], "torch", gpu=False, passive_is_ours=False)  # --omp-default
    assert not wanted(["tiny"], "torch", gpu=True, passive_is_ours=True)
    assert not wanted(["mnist"], "torch", gpu=False, passive_is_ours=True)
    assert not wanted(["tiny"], "jax,sklearn", gpu=False, passive_is_ours=True)


def test_the_childs_check_replaces_the_passive_one_which_stays_as_information(torch_openmp):
    report_module = importlib.import_module("report")
    what = torch_openmp.WHAT
    report = report_module.Report({})
    passive = {"case": "tiny", "dtype": "float32", "what": what, "value": 1.25, "limit": 1.1}
    other = {"case": "tiny", "dtype": "float32", "what": "mlp_xp / lecture", "value": 0.8}
    report.checks += [{**passive, "ok": False}, {**other, "limit": 1.0, "ok": True}]
    child = {
        "checks": [
            {"case": "tiny", "dtype": "float32", "what": what, "value": 1.05, "limit": 1.1,
             "ok": True},
            {"case": "tiny", "dtype": "float32", "what": "mlp_xp / lecture", "value": 0.9,
             "limit": 1.0, "ok": True},
        ]
    }  # fmt: skip
    torch_openmp.replace_check(report, child)
    whats = [c["what"] for c in report.checks]
    assert whats == ["mlp_xp / lecture", f"{what} (OpenMP default, own process)"]
    assert report.checks[-1]["value"] == 1.05
    assert report.checks[-1]["ok"]
    assert report.extras == [
        {"case": "tiny", "dtype": "float32", "what": f"{what} under PASSIVE (info)", "value": 1.25}
    ]


def test_import_cost_times_a_fresh_import_and_names_the_installed_version(monkeypatch):
    import numpy as np

    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import_cost = importlib.import_module("import_cost")
    seconds = import_cost.import_seconds("json", 1)
    assert seconds is not None
    assert seconds >= 0.0
    assert import_cost.import_seconds("no_such_module_of_mlp_xp", 1) is None
    assert import_cost.version("numpy") == np.__version__
    assert import_cost.version("no_such_module_of_mlp_xp") == "-"


def test_import_cost_times_a_whole_command(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import_cost = importlib.import_module("import_cost")
    seconds = import_cost.command_seconds([sys.executable, "-c", "pass"], 2)
    assert seconds is not None
    assert seconds > 0.0
    assert import_cost.command_seconds([sys.executable, "-c", "raise SystemExit(3)"], 1) is None
    assert import_cost.COMMANDS["mlp-xp --help"][1:] == ["-m", "mlp_xp.cli", "--help"]
