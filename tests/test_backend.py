"""The backend module: names, devices, availability and host conversions."""

from __future__ import annotations

import numpy as np
import pytest

import mlp_xp
from mlp_xp import backend as _backend


def test_available_backends_reports_every_name():
    info = mlp_xp.available_backends()
    assert tuple(info) == _backend.BACKENDS
    assert info["numpy"].available
    assert info["numpy"].reason == ""
    for entry in info.values():
        assert entry.available or entry.reason, entry


def test_unknown_backend_lists_the_valid_names():
    with pytest.raises(ValueError, match="auto, numpy, cupy, torch, jax, array_api_strict, dask"):
        _backend.resolve("jaxx")


def test_auto_falls_back_to_numpy_without_a_gpu():
    placement = _backend.resolve("auto")
    expected = "cupy" if mlp_xp.available_backends()["cupy"].available else "numpy"
    assert placement.name == expected
    assert _backend.resolve("cpu").name == "numpy"
    assert _backend.resolve("auto", "cpu").name == "numpy"


def test_cupy_without_a_gpu_says_so_and_how_to_install():
    if mlp_xp.available_backends()["cupy"].available:
        pytest.skip("a CUDA GPU is usable here, so backend='cupy' resolves")
    with pytest.raises(mlp_xp.BackendUnavailableError, match=r"cupy.*mlp_xp\[cuda12\]"):
        _backend.resolve("cupy")
    with pytest.raises(mlp_xp.BackendUnavailableError, match="cuda"):
        _backend.resolve("cuda:1")


def test_torch_device_strings():
    pytest.importorskip("torch", reason="torch is not installed")
    assert str(_backend.resolve("torch", "cpu").device) == "cpu"
    if not any(d.startswith("cuda") for d in mlp_xp.available_backends()["torch"].devices):
        with pytest.raises(mlp_xp.BackendUnavailableError, match="no CUDA device"):
            _backend.resolve("torch", "cuda:1")
    with pytest.raises(ValueError, match="not a torch device"):
        _backend.resolve("torch", "tpu:7")


def test_array_api_strict_devices():
    pytest.importorskip("array_api_strict")
    d1 = _backend.resolve("array_api_strict", "device1").device
    assert "device1" in str(d1)
    with pytest.raises(ValueError, match="device1"):
        _backend.resolve("array_api_strict", "device9")


def test_numpy_has_only_cpu():
    with pytest.raises(ValueError, match="only has 'cpu'"):
        _backend.resolve("numpy", "cuda")


def test_round_trip_through_every_backend(target, host):
    a = np.arange(6, dtype=target.dtype_name).reshape(2, 3) / 7
    moved = mlp_xp.to_backend(a, target.backend, target.device_name)
    assert moved.dtype == target.dtype
    assert _backend.device_of(moved) == target.device
    back = host(moved)
    assert back.dtype == a.dtype
    np.testing.assert_array_equal(back, a)


def test_mixed_namespaces_are_refused():
    torch = pytest.importorskip("torch", reason="torch is not installed")
    with pytest.raises(TypeError, match="X is numpy, W0 is torch"):
        _backend.namespace_of(X=np.ones(2), W0=torch.ones(2))


def test_non_arrays_are_refused():
    with pytest.raises(TypeError, match="X must be an array"):
        _backend.namespace_of(X=[[1.0, 2.0]])


def test_default_float_dtypes():
    assert _backend.float_dtype(np) == np.float64
    assert _backend.float_dtype(np, "float32") == np.float32
    assert _backend.dtype_name(np.float32) == "float32"
    with pytest.raises(TypeError, match="float32, float64"):
        _backend.float_dtype(np, "float16")
