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


ARCHITECTURE = Path(__file__).resolve().parents[1] / "docs" / "ARCHITECTURE.md"


def _documented_members() -> list[str]:
    """The adapter's members as docs/ARCHITECTURE.md lists them, one line each."""
    text = ARCHITECTURE.read_text()
    section = text.split("## The adapter's members", 1)[1].split("\n## ", 1)[0]
    return [
        line.split("`")[1].split("(")[0] for line in section.splitlines() if line.startswith("- `")
    ]


def test_the_adapters_public_members_are_the_documented_ones():
    """docs/ARCHITECTURE.md lists every public member of the adapter, one line each."""
    public = sorted(n for n in dir(Adapter) if not n.startswith("_"))
    documented = _documented_members()
    assert len(documented) == len(set(documented))
    assert sorted(documented) == public


def test_policy_stays_with_the_layers_that_own_it():
    """Scheduling, shuffling, parity's devices, "auto" and the memory model are not the adapter's.

    Each layer decides from the library's facts: a lazy library (dask) takes a
    scheduler, reads directories lazily, shuffles batches and is checked by
    parity only when asked for.
    """
    from mlp_xp.estimators import MLPRegressor
    from mlp_xp.parity import targets

    for gone in (
        "needs_scheduler",
        "reads_lazy_sources",
        "parity_devices",
        "slow_steps",
        "auto_rank",
        "default_shuffle",
        "has_device",
        "claims_device",
        "same_device",
        "is_lazy_array",
    ):
        assert not hasattr(Adapter, gone), gone
    assert not hasattr(backend, "estimate_fit_bytes")
    model = MLPRegressor(shuffle=True)
    for a in backend.adapters():
        if a.inference_only or not a.info().available:
            continue
        placement = backend.resolve(a.name)
        assert model._shuffle_mode(placement) == ("batches" if a.lazy else "rows")
        assert bool(targets.slow_steps(a)) is a.lazy
        assert (targets.default_devices(a) == ()) is a.lazy


def test_default_parity_targets_come_from_the_device_kinds():
    from mlp_xp.parity import DEFAULT_BACKENDS

    assert DEFAULT_BACKENDS == (
        "numpy",
        "cupy",
        "torch:cpu",
        "torch:cuda",
        "jax:cpu",
        "jax:cuda",
        "array_api_strict",
        "array_api_strict:device1",
    )
    for a in backend.adapters():
        if a.lazy or a.inference_only:
            assert not any(t.split(":")[0] == a.name for t in DEFAULT_BACKENDS)


def test_no_library_flag_stands_alone_unless_named_for_its_capability():
    """A flag true for exactly one library names a capability only that library has.

    ``lazy`` (task graphs: dask) and ``inference_only`` (graph builders: ndonnx)
    are such capabilities; ``column_sums`` is a kernel choice, not a flag.
    """
    capabilities = {"lazy", "inference_only"}
    for name in dir(Adapter):
        if name.startswith("_") or not isinstance(getattr(Adapter, name), bool):
            continue
        owners = [a.name for a in backend.adapters() if getattr(a, name)]
        assert len(owners) != 1 or name in capabilities, (name, owners)


class _WarnsOnImport(Adapter):
    name = "warns"
    _module = "json"
    _install_hint = "reinstall it"

    def _import_module(self):  # type: ignore[no-untyped-def]
        warnings.warn("two copies of this package are installed", UserWarning, stacklevel=1)
        return importlib.import_module("json")


class _BrokenImport(Adapter):
    name = "broken"
    _module = "json"

    def _import_module(self):  # type: ignore[no-untyped-def]
        raise RuntimeError("libcudart.so.13: cannot open shared object file")


def test_a_warning_at_import_makes_a_backend_unusable_with_the_reason():
    info = _WarnsOnImport().info()
    assert info.installed
    assert not info.available
    assert "two copies of this package are installed" in info.reason
    assert "reinstall it" in info.reason


def test_a_failing_import_is_reported_not_raised():
    info = _BrokenImport().info()
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
