"""What the first run on a CUDA machine would hit, shown on the CPU."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import types

import numpy as np
import pytest

import mlp_xp
from mlp_xp import MLPRegressor, backend
from mlp_xp.backend.adapter import BackendInfo
from mlp_xp.backend.cupy import CupyAdapter
from mlp_xp.backend.torch import TorchAdapter
from mlp_xp.cli import main
from mlp_xp.data.builtin import make_bmi


def _fake_cupy(kernel_error: Exception | None) -> types.SimpleNamespace:
    """A module that looks like CuPy with one GPU, whose first kernel raises ``kernel_error``."""

    def arange(*args: object, **kwargs: object) -> object:
        if kernel_error is not None:
            raise kernel_error
        raise AssertionError("not reached in these tests")

    runtime = types.SimpleNamespace(getDeviceCount=lambda: 1)
    return types.SimpleNamespace(
        __version__="14.2.0",
        is_available=lambda: True,
        cuda=types.SimpleNamespace(runtime=runtime),
        arange=arange,
        float32=np.float32,
    )


def test_cupy_whose_first_kernel_fails_is_unusable_with_the_reason(monkeypatch):
    missing = RuntimeError("CuPy failed to load libnvrtc.so.13: cannot open shared object file")
    monkeypatch.setattr(CupyAdapter, "_import_module", lambda self: _fake_cupy(missing))
    info = CupyAdapter().info()
    assert info.installed
    assert not info.available
    assert "libnvrtc" in info.reason


def test_cupy_that_warns_at_import_is_unusable_not_an_error(monkeypatch):
    def warns(self: CupyAdapter) -> object:
        import warnings

        warnings.warn("CuPy may not function correctly: multiple packages", UserWarning, 2)
        return _fake_cupy(None)

    monkeypatch.setattr(CupyAdapter, "_import_module", warns)
    info = CupyAdapter().info()  # under filterwarnings=error, this must not raise
    assert not info.available
    assert "unusable because importing it warned" in info.reason
    assert "multiple packages" in info.reason


def test_torch_whose_cuda_check_warns_keeps_the_cpu(monkeypatch):
    import warnings

    torch = pytest.importorskip("torch", reason="torch is not installed")

    def old_driver() -> bool:
        warnings.warn(
            "CUDA initialization: The NVIDIA driver on your system is too old", UserWarning, 2
        )
        return False

    monkeypatch.setattr(torch.cuda, "is_available", old_driver)
    info = TorchAdapter().info()
    assert info.available
    assert info.devices == ("cpu",)


def _with_torch_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pretend torch sees one CUDA device and CuPy none (no kernel runs in these tests)."""
    pytest.importorskip("torch", reason="torch is not installed")
    real = backend.adapter("torch").info()
    fake = BackendInfo("torch", True, True, "", real.version, ("cpu", "cuda:0"))
    monkeypatch.setattr(type(backend.adapter("torch")), "info", lambda self: fake)
    none = BackendInfo("cupy", True, False, "no GPU here", "14.2.0", ())
    monkeypatch.setattr(type(backend.adapter("cupy")), "info", lambda self: none)


def test_a_device_alone_picks_the_backend_that_has_it(monkeypatch):
    assert backend.resolve("auto", "cpu").name == "numpy"
    _with_torch_cuda(monkeypatch)
    placement = backend.resolve("auto", "cuda")
    assert placement.name == "torch"
    assert str(placement.device) == "cuda:0"
    assert backend.resolve("cuda:0").name == "torch"
    with pytest.raises(mlp_xp.BackendUnavailableError, match="cuda"):
        backend.resolve("auto", "cuda:1")


def test_an_estimator_given_only_a_device_trains_where_that_device_is():
    X, y = make_bmi(200, seed=1)
    model = MLPRegressor((4,), epochs=1, device="cpu").fit(X, y)
    assert (model.backend_, model.device_) == ("numpy", "cpu")
    if not backend.adapter("cupy").info().available and not any(
        d.startswith("cuda") for d in backend.adapter("torch").info().devices
    ):
        # The error names the device, not "numpy only has 'cpu'".
        with pytest.raises(mlp_xp.BackendUnavailableError, match="cupy"):
            MLPRegressor((4,), epochs=1, device="cuda").fit(X, y)


def _rewrite_trained_on(path, backend_name: str, device: str) -> None:
    with np.load(path) as saved:
        arrays = dict(saved)
    meta = json.loads(str(arrays["__mlp_xp__"]))
    meta["trained_on"] = {"backend": backend_name, "device": device}
    arrays["__mlp_xp__"] = np.array(json.dumps(meta))
    np.savez(path, **arrays)


def test_a_model_trained_on_a_missing_gpu_loads_on_its_backend_with_a_notice(tmp_path):
    torch = pytest.importorskip("torch", reason="torch is not installed")
    if torch.cuda.is_available():
        pytest.skip("this machine has the GPU the file names")
    X, y = make_bmi(200, seed=2)
    model = MLPRegressor((4,), epochs=2, backend="torch", dtype="float32").fit(X, y)
    path = tmp_path / "gpu.npz"
    model.save(path)
    _rewrite_trained_on(path, "torch", "cuda:0")
    with pytest.warns(
        mlp_xp.PlacementWarning, match=r"trained on torch cuda:0.*loaded on torch cpu"
    ):
        loaded = mlp_xp.load(path)
    assert (loaded.backend_, loaded.device_) == ("torch", "cpu")
    np.testing.assert_array_equal(
        mlp_xp.to_host(loaded.predict(X)), mlp_xp.to_host(model.predict(X))
    )


def test_a_model_of_a_backend_not_usable_here_loads_on_numpy_with_a_notice(tmp_path, capsys):
    if backend.adapter("cupy").info().available:
        pytest.skip("CuPy is usable here")
    X, y = make_bmi(200, seed=2)
    path = tmp_path / "cupy.npz"
    MLPRegressor((4,), epochs=2).fit(X, y).save(path)
    _rewrite_trained_on(path, "cupy", "cuda:0")
    with pytest.warns(mlp_xp.PlacementWarning, match="trained on cupy cuda:0"):
        assert mlp_xp.load(path).backend_ == "numpy"
    # The command line says it in one line, and never calls the file corrupted.
    data = tmp_path / "x.csv"
    data.write_text("height_m,weight_kg\n1.8,80\n1.6,50\n")
    code = main(["predict", str(path), "--data", str(data)])
    err = capsys.readouterr().err
    assert code == 0
    assert [line for line in err.splitlines() if line.startswith("mlp-xp: note:")]
    assert "corrupt" not in err


def test_every_public_boundary_enters_the_device(monkeypatch):
    """CuPy computes on its current device: fit, predict and the maths enter the arrays'."""
    entered: list[object] = []

    @contextlib.contextmanager
    def activate(self: object, device: object):  # type: ignore[no-untyped-def]
        entered.append(device)
        yield

    monkeypatch.setattr(type(backend.adapter("numpy")), "activate", activate)
    X, y = make_bmi(100, seed=3)
    model = MLPRegressor((4,), epochs=1).fit(X, y)
    assert entered
    entered.clear()
    model.predict(X)
    assert entered
    entered.clear()
    params = mlp_xp.init_params((2, 3, 1))
    mlp_xp.step(params, X, y[:, None], 0.1)
    assert entered == ["cpu"]


def test_dask_arrays_of_other_chunks_are_refused_in_one_line():
    da = pytest.importorskip("dask.array", reason="dask is not installed")
    torch = pytest.importorskip("torch", reason="torch is not installed")
    X = da.from_array(np.ones((8, 2)), chunks=(4, 2)).map_blocks(
        torch.from_numpy, meta=torch.ones((0, 2), dtype=torch.float64)
    )
    with pytest.raises(TypeError, match="X is a dask array of torch.Tensor chunks"):
        MLPRegressor((2,), epochs=1).fit(X, np.ones(8))


def test_a_second_gpu_is_respected():
    """Skipped unless CuPy sees two GPUs; the code path is the device scope of every boundary."""
    if len(backend.adapter("cupy").info().devices) < 2:
        pytest.skip("needs two CUDA GPUs that CuPy can use")
    X, y = make_bmi(300, seed=4)
    model = MLPRegressor((4,), epochs=2, backend="cupy", device="cuda:1").fit(X, y)
    assert model.device_ == "cuda:1"
    assert all(a.device.id == 1 for layer in model.params_ for a in layer)
    X1 = mlp_xp.to_backend(X, "cupy", "cuda:1")
    assert model.predict(X1).device.id == 1


def test_torch_devices_other_than_cpu_and_cuda_are_refused():
    pytest.importorskip("torch", reason="torch is not installed")
    for device in ("meta", "mps"):
        with pytest.raises(mlp_xp.BackendUnavailableError, match="CPU or CUDA only"):
            backend.resolve("torch", device)


@pytest.mark.slow
def test_the_benchmarks_environment_reads_every_flag_without_a_warning():
    """It is the library's report, read guarded: torch >= 2.9 warns on its legacy TF32 flags."""
    root = __import__("pathlib").Path(__file__).resolve().parents[1]
    code = (
        "import sys; sys.path.insert(0, 'benchmarks'); import environment; "
        "e = environment.environment(); print('settings' in e and 'reduced_precision' in e)"
    )
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", code],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert result.stdout.strip() == "True"
