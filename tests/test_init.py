"""Seeded initialisation: the lecture's formulas, identical on every backend."""

from __future__ import annotations

import numpy as np
import pytest

import mlp_xp


@pytest.mark.parametrize(
    ("init", "expected_std"),
    [
        ("glorot_normal", np.sqrt(2 / (300 + 500))),
        ("glorot_uniform", np.sqrt(6 / (300 + 500)) / np.sqrt(3)),  # std of U(-a, a)
        ("he_normal", np.sqrt(2 / 300)),
    ],
)
def test_formulas(init, expected_std):
    (layer,) = mlp_xp.init_params((300, 500), init=init, seed=3, dtype="float64")
    assert layer.W.shape == (500, 300)
    assert layer.b.shape == (500,)
    np.testing.assert_array_equal(layer.b, 0.0)
    # 150 000 draws: the sample std is within 1% of sigma with overwhelming probability.
    assert np.std(layer.W) == pytest.approx(expected_std, rel=0.01)
    assert abs(np.mean(layer.W)) < 0.01 * expected_std * 10
    if init == "glorot_uniform":
        assert np.max(np.abs(layer.W)) <= np.sqrt(6 / 800)


def test_same_seed_gives_same_weights_on_every_backend(target, host):
    reference = mlp_xp.init_params((2, 8, 1), seed=42, dtype="float64")
    got = mlp_xp.init_params(
        (2, 8, 1),
        seed=42,
        dtype=target.dtype_name,
        backend=target.backend,
        device=target.device_name,
    )
    for g, r in zip(mlp_xp.nn.layers.flatten(got), mlp_xp.nn.layers.flatten(reference)):
        assert g.dtype == target.dtype
        assert mlp_xp.backend.device_of(g) == target.device
        # The float64 draw, rounded once to the target dtype.
        np.testing.assert_array_equal(host(g), r.astype(target.dtype_name))


def test_different_seeds_differ():
    a = mlp_xp.init_params((2, 8, 1), seed=0)
    b = mlp_xp.init_params((2, 8, 1), seed=1)
    assert not np.array_equal(a[0].W, b[0].W)


def test_default_dtype_is_the_backends_default():
    assert mlp_xp.init_params((2, 1))[0].W.dtype == np.float64
    torch = pytest.importorskip("torch", reason="torch is not installed")
    assert mlp_xp.init_params((2, 1), backend="torch")[0].W.dtype == torch.float32


@pytest.mark.parametrize(
    ("sizes", "error", "match"),
    [
        ((2,), ValueError, "at least"),
        ((2, 0, 1), ValueError, r"layer_sizes\[1\]"),
        ((2, -3), ValueError, r"layer_sizes\[1\]"),
        ((2, 2.5), TypeError, r"layer_sizes\[1\]"),
        ((True, 2), TypeError, r"layer_sizes\[0\]"),
        ("21", TypeError, "layer_sizes"),
    ],
)
def test_bad_layer_sizes(sizes, error, match):
    with pytest.raises(error, match=match):
        mlp_xp.init_params(sizes)


def test_unknown_init_lists_valid_names():
    with pytest.raises(ValueError, match="glorot_normal, glorot_uniform, he_normal"):
        mlp_xp.init_params((2, 1), init="xavier")


def test_bad_dtype():
    with pytest.raises(TypeError, match="float32, float64"):
        mlp_xp.init_params((2, 1), dtype="int32")
