"""The one tree walker: parameters, gradients and optimizer states."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pytest

from mlp_xp.nn.layers import Layer
from mlp_xp.nn.optimizers import ScaleByAdamState, TraceState
from mlp_xp.tree import tree_leaves, tree_map, tree_map_with_path, tree_unflatten


class _Pair(NamedTuple):
    left: object
    right: object


def _layers() -> tuple[Layer, ...]:
    return (Layer(np.ones((2, 3)), np.zeros(2)), Layer(np.full((1, 2), 2.0), np.ones(1)))


def test_map_keeps_named_tuples_and_their_types():
    state = (ScaleByAdamState(3, _layers(), _layers()), TraceState(_layers()), ())
    doubled = tree_map(lambda a: a * 2, state)
    assert type(doubled[0]) is ScaleByAdamState
    assert doubled[0].count == 6
    assert type(doubled[0].mu[1]) is Layer
    assert type(doubled[1]) is TraceState
    assert doubled[2] == ()
    np.testing.assert_array_equal(doubled[1].velocity[1].W, [[4.0, 4.0]])


def test_map_over_two_trees_pairs_leaves_in_order():
    a, b = _layers(), tree_map(lambda x: x + 1, _layers())
    summed = tree_map(lambda x, y: x + y, a, b)
    np.testing.assert_array_equal(summed[0].W, np.full((2, 3), 3.0))
    # A record that is not a leaf pair takes the generic path, with the same result.
    generic = tree_map(lambda x, y: x + y, _Pair(a, 1), _Pair(b, 2))
    assert type(generic) is _Pair
    assert generic.right == 3
    np.testing.assert_array_equal(generic.left[1].b, summed[1].b)


def test_leaves_and_unflatten_round_trip():
    tree = (ScaleByAdamState(5, _layers(), _layers()), ())
    leaves = tree_leaves(tree)
    assert len(leaves) == 1 + 4 + 4
    assert leaves[0] == 5
    rebuilt = tree_unflatten(tree, [leaf * 0 for leaf in leaves])
    assert type(rebuilt[0]) is ScaleByAdamState
    assert rebuilt[0].count == 0
    np.testing.assert_array_equal(rebuilt[0].nu[0].W, np.zeros((2, 3)))


@pytest.mark.parametrize("extra", [-1, 1])
def test_unflatten_refuses_the_wrong_number_of_leaves(extra):
    tree = _layers()
    leaves = tree_leaves(tree)
    given = leaves[:-1] if extra < 0 else [*leaves, leaves[0]]
    with pytest.raises(ValueError, match="leaves than the"):
        tree_unflatten(tree, given)


def test_paths_name_each_leaf():
    paths = tree_leaves(tree_map_with_path(lambda path, leaf: path, (_layers(), 7), "opt"))
    assert paths == ["opt.0.0.0", "opt.0.0.1", "opt.0.1.0", "opt.0.1.1", "opt.1"]


@pytest.mark.parametrize(
    ("other", "shown"),
    [
        (lambda t: t[:1], "(Layer(*, *),)"),
        (lambda t: (*t, t[0]), "(Layer(*, *), Layer(*, *), Layer(*, *))"),
        (lambda t: (t[0], tuple(t[1])), "(Layer(*, *), (*, *))"),
        (lambda t: (t[0], t[1].W), "(Layer(*, *), *)"),
        (lambda t: t[0].W, "*"),
    ],
)
def test_map_over_trees_of_different_structure_raises(other, shown):
    tree = _layers()
    with pytest.raises(ValueError, match="differ in structure") as caught:
        tree_map(lambda x, y: x + y, tree, other(tree))
    assert str(caught.value).endswith(f"(Layer(*, *), Layer(*, *)) and {shown}")
    # Three trees take the generic path and are checked as well.
    with pytest.raises(ValueError, match="differ in structure"):
        tree_map(lambda x, y, z: x, tree, tree, other(tree))


def test_apply_updates_refuses_a_shorter_network():
    import mlp_xp

    params = _layers()
    with pytest.raises(ValueError, match=r"\(Layer\(\*, \*\),\)"):
        mlp_xp.apply_updates(params, params[:1])
    with pytest.raises(ValueError, match="differ in structure"):
        mlp_xp.apply_updates(params[:1], params)
    states = (ScaleByAdamState(1, _layers(), _layers()), TraceState(_layers()))
    with pytest.raises(ValueError, match="differ in structure"):
        tree_map(lambda x, y: x, states, (states[0], TraceState(_layers()[:1])))
