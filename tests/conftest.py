"""One fixture drives the suite over every namespace, device and dtype.

``target`` is parametrised over the combinations below crossed with float32 and
float64; ``target64`` over the float64 ones only.  Backends that cannot run here
are still listed, skipped with the reason, so the report shows what did not run.
Select backends with ``pytest --backend torch --backend numpy``.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

import mlp_xp
from mlp_xp.backend import (
    Placement,
    available_backends,
    from_host,
    full_precision,
    resolve,
    to_host,
)

# scikit-learn runs its array-API estimator checks (tests/test_sklearn.py) only when
# SciPy's array-API mode is on, which SciPy reads once, when it is first imported.
os.environ.setdefault("SCIPY_ARRAY_API", "1")
# The command line keeps JAX's compilations on disk; tests that call it in this
# process would switch that on for the whole session.  tests/test_compile_cache.py
# turns it on where it is tested.
os.environ.setdefault("MLP_XP_COMPILATION_CACHE", "off")

# JAX computes in float64 only in x64 mode, which mlp_xp never switches on for a user:
# the test suite, as a user would, switches it on before any array exists.
if importlib.util.find_spec("jax") is not None:
    importlib.import_module("jax").config.update("jax_enable_x64", True)

# (backend, device): the device None means the backend's default.
COMBINATIONS: tuple[tuple[str, str | None], ...] = (
    ("numpy", None),
    ("array_api_strict", "CPU_DEVICE"),
    # The non-default device: every array the library creates must land here too,
    # or array_api_strict refuses to combine it with the inputs.
    ("array_api_strict", "device1"),
    ("torch", "cpu"),
    ("torch", "cuda"),
    ("cupy", "cuda:0"),
    ("jax", "cpu"),
    ("jax", "cuda"),
)
DTYPES = ("float32", "float64")


@dataclass(frozen=True)
class Target:
    """A namespace, a device and a dtype that tests create their arrays in."""

    backend: str
    device_name: str | None
    dtype_name: str

    @property
    def placement(self) -> Placement:
        return resolve(self.backend, self.device_name)

    @property
    def xp(self) -> Any:
        return self.placement.xp

    @property
    def device(self) -> Any:
        return self.placement.device

    @property
    def dtype(self) -> Any:
        return getattr(self.xp, self.dtype_name)

    @property
    def eps(self) -> float:
        return float(np.finfo(self.dtype_name).eps)

    def asarray(self, host: Any) -> Any:
        """A host float array cast to this target's dtype and moved to its device."""
        return from_host(np.asarray(host, dtype=np.float64), self.placement, self.dtype_name)

    def params(self, host_params: Any) -> tuple[mlp_xp.Layer, ...]:
        return tuple(mlp_xp.Layer(self.asarray(W), self.asarray(b)) for W, b in host_params)

    def __str__(self) -> str:
        dev = f"-{self.device_name}" if self.device_name else ""
        return f"{self.backend}{dev}-{self.dtype_name}"


def _skip_reason(backend: str, device: str | None) -> str | None:
    """Why a combination cannot run here, or None when it can."""
    info = available_backends()[backend]
    if not info.available:
        return f"{backend}: {info.reason}"
    if (
        device is not None
        and device.startswith("cuda")
        and not any(d.startswith("cuda") for d in info.devices)
    ):
        return f"{backend} is installed ({info.version}) but sees no CUDA device"
    return None


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--backend",
        action="append",
        default=[],
        choices=mlp_xp.backend.BACKENDS,
        help="run the backend-parametrised tests only on these backends (repeatable)",
    )


def _selected(config: pytest.Config) -> set[str]:
    chosen = config.getoption("--backend")
    return set(chosen) if chosen else set(mlp_xp.backend.BACKENDS)


def pytest_report_header(config: pytest.Config) -> list[str]:
    lines = ["mlp_xp backends (namespace, device):"]
    selected = _selected(config)
    for backend, device in COMBINATIONS:
        label = f"{backend}:{device or 'default'}"
        if backend not in selected:
            lines.append(f"  {label:<28} deselected by --backend")
            continue
        reason = _skip_reason(backend, device)
        if reason is None:
            version = available_backends()[backend].version
            lines.append(f"  {label:<28} runs ({backend} {version})")
        else:
            lines.append(f"  {label:<28} SKIPPED: {reason}")
    return lines


def _params(config: pytest.Config, dtypes: tuple[str, ...]) -> list[Any]:
    selected = _selected(config)
    out = []
    for backend, device in COMBINATIONS:
        if backend not in selected:
            continue
        reason = _skip_reason(backend, device)
        for dtype in dtypes:
            target = Target(backend, device, dtype)
            marks = [pytest.mark.skip(reason=reason)] if reason else []
            out.append(pytest.param(target, id=str(target), marks=marks))
    return out


def _backend_of(item: pytest.Item) -> str | None:
    """The backend a parametrised test runs on: its ``target``, or a ``backend``/``where`` name."""
    params = getattr(item, "callspec", None)
    if params is None:
        return None
    for name in ("target", "target64"):
        if name in params.params:
            return str(params.params[name].backend)
    for name in ("backend", "where"):
        value = params.params.get(name)
        if isinstance(value, str):
            return value
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``@pytest.mark.slow_on("jax")`` marks a test slow on those backends only.

    A test is slow when it takes more than about 5 s on 2 cores; on the other
    backends it stays in the quick run, so that run still covers every backend.
    """
    for item in items:
        marker = item.get_closest_marker("slow_on")
        if marker is not None and _backend_of(item) in marker.args:
            item.add_marker(pytest.mark.slow)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "target" in metafunc.fixturenames:
        metafunc.parametrize("target", _params(metafunc.config, DTYPES))
    if "target64" in metafunc.fixturenames:
        metafunc.parametrize("target64", _params(metafunc.config, ("float64",)))


@pytest.fixture(autouse=True)
def _library_numerics(request: pytest.FixtureRequest) -> Any:
    """Tests on a ``target`` compute in mlp_xp's numerics: float32 matmuls in float32.

    fit, predict, parity and verify enter that scope themselves
    (:func:`mlp_xp.backend.full_precision`); tests that call the maths directly
    on JAX GPU arrays would otherwise get JAX's default TF32 matmuls.
    """
    for name in ("target", "target64"):
        if name in request.fixturenames:
            target = request.getfixturevalue(name)
            with full_precision(target.placement):
                yield
            return
    yield


@pytest.fixture
def host() -> Any:
    """The host conversion used to compare results with a NumPy reference."""
    return to_host
