"""Checkpoints describe themselves: named optimizer states, and files from before them."""

from __future__ import annotations

import json

import numpy as np
import pytest

import mlp_xp
from mlp_xp import MLPRegressor
from mlp_xp.data.builtin import make_bmi
from mlp_xp.nn.layers import flatten
from mlp_xp.nn.optimizers import EmptyState, ScaleByAdamState, TraceState


class _Interrupt:
    def __init__(self, at: int) -> None:
        self.at = at

    def __call__(self, epoch: int, info: dict) -> None:
        if info["epoch"] == self.at:
            raise KeyboardInterrupt


def _names(spec: object) -> list[str]:
    """Every state name in a JSON tree description."""
    if isinstance(spec, dict):
        found = [spec["name"]] if "name" in spec else []
        for child in spec.get("tuple", []) + spec.get("layer", []):
            found += _names(child)
        return found
    return []


def _strip_names(spec: object) -> object:
    if isinstance(spec, dict):
        return {k: _strip_names(v) for k, v in spec.items() if k != "name"}
    if isinstance(spec, list):
        return [_strip_names(v) for v in spec]
    return spec


@pytest.mark.parametrize(
    ("optimizer", "names", "types"),
    [
        ("adam", ["ScaleByAdamState", "EmptyState"], (ScaleByAdamState, EmptyState)),
        ("momentum", ["TraceState", "EmptyState"], (TraceState, EmptyState)),
    ],
)
def test_optimizer_states_are_named_in_the_file_and_unnamed_ones_still_resume(
    tmp_path, optimizer, names, types
):
    X, y = make_bmi(400, seed=3)
    kw = {"hidden_layer_sizes": (6,), "batch_size": 50, "epochs": 5, "optimizer": optimizer}
    kw["learning_rate"] = 0.01
    full = MLPRegressor(**kw).fit(X, y)
    model = MLPRegressor(**kw)
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, y, callbacks=[_Interrupt(at=2)])
    path = tmp_path / "ckpt.npz"
    model.save(path)
    with np.load(path) as saved:
        arrays = dict(saved)
    meta = json.loads(str(arrays["__mlp_xp__"]))
    assert _names(meta["training"]["optimizer_state"]) == names
    loaded = mlp_xp.load(path)
    assert tuple(type(s) for s in loaded._state["opt"]) == types

    # A file written before the states had names: plain tuples only.
    meta["training"]["optimizer_state"] = _strip_names(meta["training"]["optimizer_state"])
    arrays["__mlp_xp__"] = np.array(json.dumps(meta))
    np.savez(path, **arrays)
    old = mlp_xp.load(path)
    assert tuple(type(s) for s in old._state["opt"]) == types
    resumed = old.fit(X, y, resume=True)
    assert resumed.history_ == full.history_
    for a, b in zip(flatten(resumed.params_), flatten(full.params_)):
        np.testing.assert_array_equal(a, b)


def test_a_state_that_does_not_fit_the_optimizer_is_not_readable(tmp_path):
    X, y = make_bmi(200, seed=3)
    model = MLPRegressor((4,), batch_size=50, epochs=2, optimizer="adam").fit(X, y)
    path = tmp_path / "m.npz"
    model.save(path)
    with np.load(path) as saved:
        arrays = dict(saved)
    meta = json.loads(str(arrays["__mlp_xp__"]))
    meta["hyperparameters"]["optimizer"] = "momentum"  # a velocity, where Adam kept moments
    arrays["__mlp_xp__"] = np.array(json.dumps(meta))
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match="not a readable mlp_xp model file.*leaves"):
        mlp_xp.load(path)
