"""The backend package: one adapter per library, found by name or by array."""

from __future__ import annotations

import importlib
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from mlp_xp import backend
from mlp_xp.backend.adapter import Adapter


def test_every_backend_has_one_adapter_module_named_for_it():
    for name in backend.BACKENDS:
        module = importlib.import_module(f"mlp_xp.backend.{name}")
        assert module.ADAPTER.name == name
        assert backend.adapter(name) is module.ADAPTER
        assert isinstance(module.ADAPTER, Adapter)


def test_the_adapter_of_an_array_is_its_library(target):
    x = target.asarray([[1.0, 2.0]])
    assert backend.adapter_of(x).name == target.backend
    assert backend.placement_of(x).adapter is backend.adapter(target.backend)


def test_an_unknown_array_type_is_refused():
    with pytest.raises(TypeError, match="are not supported"):
        backend.adapter_of([1.0, 2.0])


def test_lazy_facts_come_from_the_adapter():
    lazy = [a.name for a in backend.adapters() if a.lazy]
    assert lazy == [a.name for a in backend.adapters() if a.default_shuffle == "batches"]
    assert all(a.slow_steps for a in backend.adapters() if a.lazy)
    assert not backend.adapter(backend.HOST_BACKEND).lazy
    assert backend.adapter(backend.HOST_BACKEND).default_shuffle == "rows"


def test_default_parity_targets_are_the_adapters_devices():
    targets = backend.default_parity_targets()
    assert targets[0] == backend.HOST_BACKEND
    for a in backend.adapters():
        if a.lazy:
            assert not any(t.split(":")[0] == a.name for t in targets)


class _WarnsOnImport(Adapter):
    name = "warns"
    module = "json"
    install_hint = "reinstall it"

    def import_module(self):  # type: ignore[no-untyped-def]
        warnings.warn("two copies of this package are installed", UserWarning, stacklevel=1)
        return importlib.import_module("json")


class _BrokenImport(Adapter):
    name = "broken"
    module = "json"

    def import_module(self):  # type: ignore[no-untyped-def]
        raise RuntimeError("libcudart.so.13: cannot open shared object file")


def test_a_warning_at_import_makes_a_backend_unusable_with_the_reason():
    info = _WarnsOnImport().probe()
    assert info.installed
    assert not info.available
    assert "two copies of this package are installed" in info.reason
    assert "reinstall it" in info.reason


def test_a_failing_import_is_reported_not_raised():
    info = _BrokenImport().probe()
    assert not info.installed
    assert not info.available
    assert "libcudart" in info.reason


def test_environment_report_asks_every_adapter():
    report = backend.environment_report()
    assert set(backend.BACKENDS) <= set(report["versions"])
    assert report["versions"][backend.HOST_BACKEND] == np.__version__


def test_only_the_backend_package_knows_the_libraries():
    """The layout rules of the project, checked by its own tool where the checkout has it."""
    tool = Path(__file__).resolve().parents[2] / "shared" / "tools" / "check_layout.py"
    if not tool.is_file():
        pytest.skip(f"the layout checker is not beside this checkout ({tool})")
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run(
        [sys.executable, str(tool)], cwd=root, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout
