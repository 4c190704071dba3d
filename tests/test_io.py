"""Model files: portable across backends, atomic, and loud about damage."""

from __future__ import annotations

import os

import numpy as np
import pytest

import mlp_xp
from mlp_xp import MLPClassifier, MLPRegressor
from mlp_xp.data.builtin import make_bmi, make_xor
from mlp_xp.files import atomic_write

SUFFIXES = [
    ".npz",
    pytest.param(
        ".safetensors",
        marks=pytest.mark.skipif(
            __import__("importlib").util.find_spec("safetensors") is None,
            reason="safetensors is not installed (pip install safetensors)",
        ),
    ),
]


def _regressor(**kw):
    X, y = make_bmi(300, seed=4)
    return MLPRegressor((8,), learning_rate=0.01, batch_size=50, epochs=4, **kw).fit(X, y), X, y


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_round_trip_keeps_predictions_history_and_settings(tmp_path, suffix):
    model, X, _y = _regressor(early_stopping=True)
    path = tmp_path / f"model{suffix}"
    model.save(path)
    loaded = mlp_xp.load(path)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert loaded.history_ == model.history_
    assert loaded.get_params() == model.get_params()
    assert loaded.n_epochs_ == model.n_epochs_
    assert loaded.dtype_ == model.dtype_


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_classifier_with_string_labels(tmp_path, suffix):
    X, y = make_xor(8)
    labels = np.array(["even", "odd"])[y]
    model = MLPClassifier((4,), epochs=3).fit(X, labels)
    path = tmp_path / f"clf{suffix}"
    model.save(path)
    loaded = mlp_xp.load(path)
    np.testing.assert_array_equal(loaded.classes_, ["even", "odd"])
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_torch_model_loads_on_numpy_and_back(tmp_path):
    torch = pytest.importorskip("torch", reason="torch is not installed")
    X, y = make_bmi(300, seed=5)
    model = MLPRegressor((8,), epochs=3, dtype="float32", backend="torch").fit(X, y)
    assert isinstance(model.params_[0].W, torch.Tensor)
    path = tmp_path / "torch.npz"
    model.save(path)
    on_numpy = mlp_xp.load(path, backend="numpy")
    assert isinstance(on_numpy.params_[0].W, np.ndarray)
    assert on_numpy.params_[0].W.dtype == np.float32
    for a, b in zip(
        mlp_xp.nn.layers.flatten(on_numpy.params_), mlp_xp.nn.layers.flatten(model.params_)
    ):
        np.testing.assert_array_equal(a, b.numpy())  # the weights travel bit for bit
    # The predictions differ only by the two libraries' float32 rounding.
    eps32 = np.finfo(np.float32).eps
    np.testing.assert_allclose(on_numpy.predict(X), model.predict(X), rtol=4 * eps32)
    # Back to torch, after one more epoch of training on NumPy.
    on_numpy.partial_fit(X, y)
    on_numpy.save(path)
    back = mlp_xp.load(path, backend="torch")
    assert isinstance(back.params_[0].W, torch.Tensor)
    np.testing.assert_allclose(back.predict(X), on_numpy.predict(X), rtol=4 * eps32)


def test_default_backend_is_where_it_was_trained(tmp_path):
    pytest.importorskip("array_api_strict")
    X, y = make_bmi(100, seed=6)
    model = MLPRegressor((4,), epochs=1, backend="array_api_strict", device="device1").fit(X, y)
    path = tmp_path / "m.npz"
    model.save(path)
    loaded = mlp_xp.load(path)
    assert loaded.backend_ == "array_api_strict"
    assert loaded.device_ == "device1"


def test_missing_file():
    with pytest.raises(FileNotFoundError, match="model file 'nope.npz' does not exist"):
        mlp_xp.load("nope.npz")


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_truncated_file(tmp_path, suffix):
    model, _, _ = _regressor()
    path = tmp_path / f"m{suffix}"
    model.save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="not a readable mlp_xp model file.*truncated"):
        mlp_xp.load(path)


def test_garbage_file(tmp_path):
    path = tmp_path / "m.npz"
    path.write_bytes(os.urandom(300))
    with pytest.raises(ValueError, match="neither a .npz archive nor a safetensors file"):
        mlp_xp.load(path)


def test_foreign_npz(tmp_path):
    path = tmp_path / "data.npz"
    np.savez(path, X=np.ones((2, 2)))
    with pytest.raises(ValueError, match="not a readable mlp_xp model file"):
        mlp_xp.load(path)


def test_architecture_that_does_not_chain(tmp_path):
    model, _, _ = _regressor()
    model.params_ = (model.params_[0], mlp_xp.Layer(np.ones((1, 3)), np.zeros(1)))
    path = tmp_path / "bad.npz"
    model.save(path)
    with pytest.raises(ValueError, match="do not chain"):
        mlp_xp.load(path)


def test_atomic_write_keeps_the_old_file_on_failure(tmp_path, monkeypatch):
    path = tmp_path / "m.npz"
    path.write_bytes(b"old contents")

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        atomic_write(path, b"new")
    assert path.read_bytes() == b"old contents"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]  # no temp file left


def test_atomic_write_into_missing_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        atomic_write(tmp_path / "no" / "m.npz", b"x")


def test_safetensors_without_the_package(tmp_path, monkeypatch):
    import importlib.util

    model, _, _ = _regressor()
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "safetensors" else real(name, *a),
    )
    with pytest.raises(ModuleNotFoundError, match="pip install safetensors"):
        model.save(tmp_path / "m.safetensors")
