"""Module-level caches stay bounded in a long-lived process that sweeps shapes or settings."""

from __future__ import annotations

import types

import numpy as np
import pytest

from mlp_xp import backend
from mlp_xp.backend import placement, registry
from mlp_xp.caches import LRU, remember
from mlp_xp.nn import checks, network
from mlp_xp.nn.optimizers import sgd
from mlp_xp.nn.plan import make_plan
from mlp_xp.training import compiled

needs_jax = pytest.mark.skipif(
    not backend.backend_info("jax").available, reason="jax is not installed (mlp_xp[jax])"
)


def test_lru_keeps_the_latest_used_and_makes_each_value_once():
    cache: LRU[str, int] = LRU(maxsize=2)
    made: list[str] = []

    def make(key: str) -> int:
        made.append(key)
        return len(made)

    assert cache.get_or_make("a", lambda: make("a")) == 1
    assert cache.get_or_make("b", lambda: make("b")) == 2
    assert cache.get_or_make("a", lambda: make("a")) == 1  # a hit: "a" is now the latest
    assert cache.get_or_make("c", lambda: make("c")) == 3  # "b", least recently used, goes
    assert len(cache) == 2
    assert "a" in cache
    assert "b" not in cache
    assert made == ["a", "b", "c"]
    cache.clear()
    assert len(cache) == 0
    with pytest.raises(ValueError, match="at least 1"):
        LRU(0)


def test_remember_keeps_a_plain_dict_to_its_size():
    cache: dict[int, int] = {}
    for i in range(100):
        assert remember(cache, i, i * i, 8) == i * i
    assert len(cache) == 8
    assert cache[99] == 99 * 99


def test_the_compiled_caches_have_an_explicit_bound():
    assert isinstance(placement._COMPILED, LRU)
    assert isinstance(compiled._FUNCTIONS, LRU)
    assert placement._COMPILED.maxsize <= 64
    assert compiled._FUNCTIONS.maxsize <= 16
    assert registry._load.cache_info().maxsize == len(registry.BACKENDS)


@needs_jax
def test_the_compiled_epochs_keep_at_most_their_bound_of_configurations(monkeypatch):
    # Their key holds no number (alpha and the rate are arrays in the carried
    # state): what varies is where, which network and which optimizer rule.
    monkeypatch.setattr(compiled, "_FUNCTIONS", LRU(maxsize=3))
    jax = backend.resolve("jax", "cpu")
    rule = sgd(0.1).hyperparams.rule
    plans = [make_plan(a, "squared_error") for a in ("relu", "tanh", "sigmoid", "identity")]
    made = [compiled._epoch_function(compiled.EpochKey(jax, p, rule, False)) for p in plans]
    assert len(compiled._FUNCTIONS) == 3
    # The latest configuration is still there: asking again gives the same function.
    again = compiled._epoch_function(compiled.EpochKey(jax, plans[-1], rule, False))
    assert again is made[-1]
    # Another learning rate is the same rule, hence the same key and function.
    assert sgd(0.5).hyperparams.rule is rule


@needs_jax
def test_a_sweep_of_sizes_keeps_at_most_the_bound_of_compiled_set_up_calls(monkeypatch):
    monkeypatch.setattr(placement, "_COMPILED", LRU(maxsize=2))
    jax = backend.resolve("jax", "cpu")
    a = backend.from_host(np.ones((3, 2)), jax, "float32")

    def padded(where, x, *, rows):
        return where.xp.concat([x, where.xp.zeros((rows - 3, 2), dtype=x.dtype)], axis=0)

    for rows in (4, 5, 6, 7):
        got = backend.compiled_call(jax, padded, a, rows=rows)
        assert got.shape == (rows, 2)
    assert len(placement._COMPILED) == 2


def test_caches_keyed_by_array_type_stay_bounded(monkeypatch):
    # A process that makes array types on the fly (here NumPy subclasses) finds each once.
    monkeypatch.setattr(registry, "_OWNER", {})
    monkeypatch.setattr(network, "_NAMESPACES", {})
    for i in range(100):
        kind = type(f"Array{i}", (np.ndarray,), {})
        x = np.zeros((2, 2)).view(kind)
        assert backend.adapter_of(x).name == "numpy"
        assert backend.column_sums_of(x) == "product"
        network._namespace_of_x(x)
    assert 0 < len(registry._OWNER) <= 32
    assert 0 < len(network._NAMESPACES) <= 64


def test_the_dtype_check_cache_stays_bounded(monkeypatch):
    monkeypatch.setattr(checks, "_REAL_FLOATING", {})
    spaces = [types.SimpleNamespace(isdtype=lambda dtype, kind: True) for _ in range(100)]
    for xp in spaces:
        assert checks._real_floating(xp, "float32")
    assert 0 < len(checks._REAL_FLOATING) <= 64
