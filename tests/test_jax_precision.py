"""mlp_xp's float32 on JAX is float32: its own "highest" scope, never the user's setting."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from mlp_xp import MLPRegressor, backend
from mlp_xp.backend import Numerics, full_precision, resolve

needs_jax = pytest.mark.skipif(
    not backend.backend_info("jax").available, reason="jax is not installed (mlp_xp[jax])"
)


@needs_jax
def test_the_scope_asks_for_highest_and_leaves_the_users_setting_as_it_was():
    import jax

    assert jax.config.jax_default_matmul_precision is None
    with full_precision(resolve("jax", "cpu")):
        assert jax.config.jax_default_matmul_precision == "highest"
    assert jax.config.jax_default_matmul_precision is None


@needs_jax
def test_a_precision_the_user_chose_is_kept_and_reported(monkeypatch):
    import jax

    adapter = resolve("jax", "cpu").adapter
    with jax.default_matmul_precision("tensorfloat32"):
        with full_precision(resolve("jax", "cpu")):
            assert jax.config.jax_default_matmul_precision == "tensorfloat32"
        on_a_gpu = Numerics({"jax_default_matmul_precision": "tensorfloat32"}, {}, ["cuda:0 H200"])
        monkeypatch.setattr(type(adapter), "_numerics", lambda self: on_a_gpu)
        assert "TF32" in adapter.numerics().reduced[0]
    unset = Numerics({"jax_default_matmul_precision": None}, {}, ["cuda:0 H200"])
    monkeypatch.setattr(type(adapter), "_numerics", lambda self: unset)
    assert adapter.numerics().reduced == []  # mlp_xp's own scope applies


@pytest.mark.slow
@needs_jax
def test_fit_and_predict_compute_in_the_scope(monkeypatch):
    placement = resolve("jax", "cpu")
    seen = []
    real = type(placement.adapter).full_precision

    def recorded(self):
        import jax

        seen.append(jax.config.jax_default_matmul_precision)
        return real(self)

    monkeypatch.setattr(type(placement.adapter), "full_precision", recorded)
    X = np.random.default_rng(0).normal(size=(96, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = MLPRegressor((4,), epochs=3, batch_size=32, backend="jax", dtype="float32")
        model.fit(X, X[:, 0])
    epochs = len(seen)
    assert epochs == 3  # entered for each epoch, and left before the next
    model.predict(X)
    assert len(seen) == epochs + 1
    assert all(p is None for p in seen)  # never held across a yield into the caller
