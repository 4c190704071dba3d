"""Trees of arrays: parameters, gradients and optimizer states (shared by every layer).

A tree is an array or a number (a leaf), or a tuple of trees; NamedTuples such
as ``Layer(W, b)`` or ``ScaleByAdamState(count, mu, nu)`` keep their type when
a tree is rebuilt.  This is the one walker: the optimizers map over trees, dask
computes their leaves, and model files store them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeAlias

Tree: TypeAlias = Any
"""An array, a number, or a tuple (possibly a NamedTuple such as Layer) of trees."""

_PAIRS: set[type] = set()
"""NamedTuple types whose two fields are always leaves (see :func:`leaf_pair`)."""


def leaf_pair(cls: type) -> type:
    """Class decorator: a two-field NamedTuple whose fields are always leaves.

    A tuple of such records (a network's layers, its gradients) is mapped by
    one flat loop: on a small network the generic recursion costs more than
    the arithmetic.
    """
    _PAIRS.add(cls)
    return cls


def _rebuild(node: tuple[Any, ...], children: list[Any]) -> Tree:
    """A node of ``node``'s type with new children (NamedTuples too)."""
    cls = type(node)
    return tuple(children) if cls is tuple else cls(*children)


def tree_map(fn: Callable[..., Any], tree: Tree, *rest: Tree) -> Tree:
    """Apply ``fn`` leaf by leaf to one or more trees of the same structure."""
    if type(tree) is tuple and tree and type(tree[0]) in _PAIRS:
        cls = type(tree[0])
        if not rest:
            return tuple([cls(fn(W), fn(b)) for W, b in tree])
        if len(rest) == 1:
            return tuple([cls(fn(W, V), fn(b, c)) for (W, b), (V, c) in zip(tree, rest[0])])
    if isinstance(tree, tuple):
        return _rebuild(tree, [tree_map(fn, *parts) for parts in zip(tree, *rest)])
    return fn(tree, *rest)


def tree_map_with_path(fn: Callable[[str, Any], Any], tree: Tree, prefix: str) -> Tree:
    """Apply ``fn(path, leaf)``, where a path names a leaf's place: ``prefix.0.1``."""
    if isinstance(tree, tuple):
        return _rebuild(
            tree, [tree_map_with_path(fn, t, f"{prefix}.{i}") for i, t in enumerate(tree)]
        )
    return fn(prefix, tree)


def tree_leaves(tree: Tree) -> list[Any]:
    """The leaves of a tree, depth first."""
    leaves: list[Any] = []
    tree_map(leaves.append, tree)
    return leaves


def tree_unflatten(tree: Tree, leaves: list[Any]) -> Tree:
    """``tree``'s structure with its leaves replaced, in order, by ``leaves``.

    Raises
    ------
    ValueError
        When ``leaves`` holds more or fewer leaves than ``tree``.
    """
    source: Iterator[Any] = iter(leaves)
    sentinel = object()

    def take(_: Any) -> Any:
        value = next(source, sentinel)
        if value is sentinel:
            msg = f"the tree has more leaves than the {len(leaves)} given"
            raise ValueError(msg)
        return value

    rebuilt = tree_map(take, tree)
    if next(source, sentinel) is not sentinel:
        msg = f"the tree has fewer leaves than the {len(leaves)} given"
        raise ValueError(msg)
    return rebuilt
