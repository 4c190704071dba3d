"""Optimizers as pure ``(init, update)`` pairs over plain tuples of arrays.

As in optax, an optimizer never touches the parameters itself.  ``update`` turns
gradients into updates and a new state; :func:`apply_updates` adds the updates to
the parameters.  Every optimizer is a chain of small transforms, so ``sgd`` adds
no arithmetic beyond the lecture's ``W - learning_rate * grad``.

Parameters, gradients and updates are tuples of ``Layer(W, b)`` (or any tuple
of arrays).  Each transform's state is a NamedTuple that names its parts, as
optax's are (``ScaleByAdamState(count, mu, nu)``), so that a checkpoint
describes itself; a chain's state is the plain tuple of its transforms' states.
Nothing is written in place.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple, TypeAlias

from ..backend import namespace_of
from ..tree import Tree, tree_leaves, tree_map
from ..validation import check_nonnegative_float, check_positive_float

State: TypeAlias = tuple[Any, ...]


class EmptyState(NamedTuple):
    """The state of a stateless transform."""


class TraceState(NamedTuple):
    """Momentum's state: the velocity of every parameter."""

    velocity: Tree


class ScaleByAdamState(NamedTuple):
    """Adam's state: the step count and the first and second moment estimates."""

    # optax's name; it shadows tuple.count, which nothing calls on a state.
    count: int  # type: ignore[assignment]
    mu: Tree
    nu: Tree


class Optimizer(NamedTuple):
    """A pair of pure functions.

    ``init(params) -> state`` and ``update(grads, state, params) -> (updates, state)``.
    """

    init: Callable[[Tree], State]
    update: Callable[[Tree, State, Tree], tuple[Tree, State]]


def _zeros_like(tree: Tree) -> Tree:
    """Zeros shaped, typed and placed like every leaf of ``tree``."""
    leaves = tree_leaves(tree)
    xp = namespace_of(**{f"params[{i}]": a for i, a in enumerate(leaves)})
    return tree_map(xp.zeros_like, tree)


def apply_updates(params: Tree, updates: Tree) -> Tree:
    """Return ``params + updates``, leaf by leaf, as new arrays."""
    return tree_map(lambda p, u: p + u, params, updates)


def chain(*transforms: Optimizer) -> Optimizer:
    """Run transforms one after another; the state is the tuple of their states."""

    def init(params: Tree) -> State:
        return tuple(t.init(params) for t in transforms)

    def update(grads: Tree, state: State, params: Tree) -> tuple[Tree, State]:
        new_state = []
        for t, s in zip(transforms, state):
            grads, s = t.update(grads, s, params)
            new_state.append(s)
        return grads, tuple(new_state)

    return Optimizer(init, update)


def scale(factor: float) -> Optimizer:
    """Multiply the incoming updates by a constant (stateless)."""

    def init(params: Tree) -> State:
        return EmptyState()

    def update(grads: Tree, state: State, params: Tree) -> tuple[Tree, State]:
        return tree_map(lambda g: g * factor, grads), state

    return Optimizer(init, update)


def trace(decay: float, nesterov: bool = False) -> Optimizer:
    """Momentum as in PyTorch's SGD: v <- decay * v + g; the update is v (or g + decay * v)."""

    def init(params: Tree) -> State:
        return TraceState(_zeros_like(params))

    def update(grads: Tree, state: State, params: Tree) -> tuple[Tree, State]:
        velocity = tree_map(lambda v, g: v * decay + g, state[0], grads)
        if nesterov:
            return tree_map(lambda g, v: g + v * decay, grads, velocity), TraceState(velocity)
        return velocity, TraceState(velocity)

    return Optimizer(init, update)


def scale_by_adam(b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8) -> Optimizer:
    """Adam's direction m_hat / (sqrt(v_hat) + eps), with PyTorch's bias correction.

    The step count is a Python int in the state: bias corrections are computed on
    the host as Python floats, so no value is ever read back from the device.
    """

    def init(params: Tree) -> State:
        zeros = _zeros_like(params)
        return ScaleByAdamState(0, zeros, zeros)

    def update(grads: Tree, state: State, params: Tree) -> tuple[Tree, State]:
        count, mu, nu = state
        count += 1
        mu = tree_map(lambda m, g: m * b1 + g * (1.0 - b1), mu, grads)
        nu = tree_map(lambda v, g: v * b2 + (g * g) * (1.0 - b2), nu, grads)
        c1 = 1.0 / (1.0 - b1**count)
        c2 = 1.0 / math.sqrt(1.0 - b2**count)
        direction = tree_map(lambda m, v: (m * c1) / (v**0.5 * c2 + eps), mu, nu)
        return direction, ScaleByAdamState(count, mu, nu)

    return Optimizer(init, update)


def sgd(learning_rate: float) -> Optimizer:
    """Plain gradient descent, the lecture's step: p <- p - learning_rate * g."""
    lr = check_positive_float("learning_rate", learning_rate)
    return chain(scale(-lr))


def momentum(learning_rate: float, momentum: float = 0.9, nesterov: bool = False) -> Optimizer:
    """Gradient descent with (Nesterov) momentum, following PyTorch's SGD conventions."""
    lr = check_positive_float("learning_rate", learning_rate)
    mu = check_nonnegative_float("momentum", momentum)
    if mu >= 1.0:
        msg = f"momentum must be in [0, 1), got {momentum!r}"
        raise ValueError(msg)
    return chain(trace(mu, nesterov=bool(nesterov)), scale(-lr))


def adam(
    learning_rate: float = 1e-3, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8
) -> Optimizer:
    """Adam (Kingma & Ba, 2015), numerically as PyTorch's ``torch.optim.Adam``."""
    lr = check_positive_float("learning_rate", learning_rate)
    for arg, value in (("b1", b1), ("b2", b2)):
        if not 0.0 <= check_nonnegative_float(arg, value) < 1.0:
            msg = f"{arg} must be in [0, 1), got {value!r}"
            raise ValueError(msg)
    return chain(scale_by_adam(b1, b2, check_positive_float("eps", eps)), scale(-lr))


OPTIMIZERS: dict[str, Callable[..., Optimizer]] = {
    "sgd": sgd,
    "momentum": momentum,
    "nesterov": lambda learning_rate: momentum(learning_rate, nesterov=True),
    "adam": adam,
}
"""Optimizer factories by name; each takes ``learning_rate`` first."""
