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


def tree_structure(tree: Tree) -> str:
    """A tree's shape without its leaves: ``(Layer(*, *), Layer(*, *))``."""
    if isinstance(tree, tuple):
        inner = ", ".join(tree_structure(t) for t in tree)
        if type(tree) is tuple:
            return f"({inner},)" if len(tree) == 1 else f"({inner})"
        return f"{type(tree).__name__}({inner})"
    return "*"


def _shorten(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


class _Mismatch(Exception):
    """Raised inside the walk; :func:`tree_map` turns it into a ValueError."""


def _same_pairs(cls: type, tree: tuple[Any, ...], other: Tree) -> bool:
    """Whether ``tree`` and ``other`` are tuples of as many ``cls`` records."""
    return (
        type(other) is tuple
        and len(other) == len(tree)
        and all([type(t) is cls for t in tree])
        and all([type(o) is cls for o in other])
    )


def _map(fn: Callable[..., Any], tree: Tree, rest: tuple[Tree, ...]) -> Tree:
    if type(tree) is tuple and tree and type(tree[0]) in _PAIRS:
        cls = type(tree[0])
        if not rest:
            return tuple([cls(fn(W), fn(b)) for W, b in tree])
        if len(rest) == 1 and _same_pairs(cls, tree, rest[0]):
            return tuple([cls(fn(W, V), fn(b, c)) for (W, b), (V, c) in zip(tree, rest[0])])
    if isinstance(tree, tuple):
        for other in rest:
            if type(other) is not type(tree) or len(other) != len(tree):
                raise _Mismatch
        return _rebuild(tree, [_map(fn, parts[0], parts[1:]) for parts in zip(tree, *rest)])
    for other in rest:
        if isinstance(other, tuple):
            raise _Mismatch
    return fn(tree, *rest)


def tree_map(fn: Callable[..., Any], tree: Tree, *rest: Tree) -> Tree:
    """Apply ``fn`` leaf by leaf to one or more trees of the same structure.

    Raises
    ------
    ValueError
        When the trees differ in structure (node types, lengths, or a leaf
        where another tree has a node); the message shows each structure.
    """
    try:
        return _map(fn, tree, rest)
    except _Mismatch:
        shown = " and ".join(_shorten(tree_structure(t)) for t in (tree, *rest))
        msg = f"tree_map: the trees differ in structure: {shown}"
        raise ValueError(msg) from None


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
