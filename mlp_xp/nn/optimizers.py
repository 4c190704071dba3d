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

A compiled loop (:mod:`mlp_xp.training.compiled`) rebuilds an optimizer inside
its traced function from the optimizer's :class:`Recipe`, around a learning rate
that is a traced array (:func:`rebuild`), so that a schedule changing the rate
does not compile again.  Adam's step count stays a Python int on the host:
the compiled loop is handed each step's bias corrections (:func:`step_constants`),
the very host floats the eager ``update`` computes.
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

    # optax's name; it shadows tuple.count, which nothing calls on a state.  None
    # only inside a compiled loop, which keeps the count on the host.
    count: int | None  # type: ignore[assignment]
    mu: Tree
    nu: Tree


class Recipe(NamedTuple):
    """How a named optimizer was built, so that a compiled loop can build it again.

    ``kind`` is ``"sgd"``, ``"momentum"`` or ``"adam"``; ``settings`` are its
    other (checked, static) arguments: ``(momentum, nesterov)`` or ``(b1, b2, eps)``.
    """

    kind: str
    learning_rate: float
    settings: tuple[Any, ...] = ()


class Optimizer(NamedTuple):
    """A pair of pure functions, and how it was built.

    ``init(params) -> state`` and ``update(grads, state, params) -> (updates, state)``.
    ``recipe`` is set by :func:`sgd`, :func:`momentum` and :func:`adam`; None for
    a hand-made chain, which compiled loops then leave to the eager loop.
    """

    init: Callable[[Tree], State]
    update: Callable[[Tree, State, Tree], tuple[Tree, State]]
    recipe: Recipe | None = None


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


def adam_corrections(b1: float, b2: float, count: int) -> tuple[float, float]:
    """Adam's bias corrections of step ``count``: 1 / (1 - b1^t) and 1 / sqrt(1 - b2^t)."""
    return 1.0 / (1.0 - b1**count), 1.0 / math.sqrt(1.0 - b2**count)


def _adam_moments(
    b1: float, b2: float, eps: float, grads: Tree, mu: Tree, nu: Tree, c1: Any, c2: Any
) -> tuple[Tree, Tree, Tree]:
    """The new moments and Adam's direction m_hat / (sqrt(v_hat) + eps)."""
    mu = tree_map(lambda m, g: m * b1 + g * (1.0 - b1), mu, grads)
    nu = tree_map(lambda v, g: v * b2 + (g * g) * (1.0 - b2), nu, grads)
    direction = tree_map(lambda m, v: (m * c1) / (v**0.5 * c2 + eps), mu, nu)
    return direction, mu, nu


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
        c1, c2 = adam_corrections(b1, b2, count)
        direction, mu, nu = _adam_moments(b1, b2, eps, grads, mu, nu, c1, c2)
        return direction, ScaleByAdamState(count, mu, nu)

    return Optimizer(init, update)


def _scale_by_adam_corrected(b1: float, b2: float, eps: float, c1: Any, c2: Any) -> Optimizer:
    """Adam's direction with given bias corrections; the state's count is left as it is."""

    def update(grads: Tree, state: State, params: Tree) -> tuple[Tree, State]:
        count, mu, nu = state
        direction, mu, nu = _adam_moments(b1, b2, eps, grads, mu, nu, c1, c2)
        return direction, ScaleByAdamState(count, mu, nu)

    return Optimizer(scale_by_adam(b1, b2, eps).init, update)


def sgd(learning_rate: float) -> Optimizer:
    """Plain gradient descent, the lecture's step: p <- p - learning_rate * g."""
    lr = check_positive_float("learning_rate", learning_rate)
    return chain(scale(-lr))._replace(recipe=Recipe("sgd", lr))


def momentum(learning_rate: float, momentum: float = 0.9, nesterov: bool = False) -> Optimizer:
    """Gradient descent with (Nesterov) momentum, following PyTorch's SGD conventions."""
    lr = check_positive_float("learning_rate", learning_rate)
    mu = check_nonnegative_float("momentum", momentum)
    if mu >= 1.0:
        msg = f"momentum must be in [0, 1), got {momentum!r}"
        raise ValueError(msg)
    settings = (mu, bool(nesterov))
    return chain(trace(mu, nesterov=bool(nesterov)), scale(-lr))._replace(
        recipe=Recipe("momentum", lr, settings)
    )


def adam(
    learning_rate: float = 1e-3, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8
) -> Optimizer:
    """Adam (Kingma & Ba, 2015), numerically as PyTorch's ``torch.optim.Adam``."""
    lr = check_positive_float("learning_rate", learning_rate)
    decays = []
    for arg, value in (("b1", b1), ("b2", b2)):
        decays.append(check_nonnegative_float(arg, value))
        if not decays[-1] < 1.0:
            msg = f"{arg} must be in [0, 1), got {value!r}"
            raise ValueError(msg)
    settings = (*decays, check_positive_float("eps", eps))
    return chain(scale_by_adam(*settings), scale(-lr))._replace(
        recipe=Recipe("adam", lr, settings)
    )


OPTIMIZERS: dict[str, Callable[..., Optimizer]] = {
    "sgd": sgd,
    "momentum": momentum,
    "nesterov": lambda learning_rate: momentum(learning_rate, nesterov=True),
    "adam": adam,
}
"""Optimizer factories by name; each takes ``learning_rate`` first."""


def rebuild(recipe: Recipe, learning_rate: Any, constants: tuple[Any, ...] = ()) -> Optimizer:
    """The optimizer ``recipe`` describes, around a learning rate that may be a traced array.

    Not checked: the recipe's settings were checked when the optimizer was first
    built, and a traced rate has no value to check.  ``constants`` are one
    step's host numbers from :func:`step_constants` (Adam's two bias
    corrections), as arrays; the rebuilt Adam leaves its state's count alone.
    """
    step = scale(-learning_rate)
    if recipe.kind == "sgd":
        return chain(step)
    if recipe.kind == "momentum":
        decay, nesterov = recipe.settings
        return chain(trace(decay, nesterov=nesterov), step)
    b1, b2, eps = recipe.settings
    c1, c2 = constants
    return chain(_scale_by_adam_corrected(b1, b2, eps, c1, c2), step)


def step_constants(recipe: Recipe, state: State, steps: int) -> list[tuple[float, ...]]:
    """The host numbers each of the next ``steps`` steps from ``state`` needs (Adam's).

    For Adam, the bias corrections of :func:`adam_corrections`, the same Python
    floats its eager ``update`` computes; nothing for the other optimizers.
    """
    if recipe.kind != "adam":
        return [()] * steps
    b1, b2, _ = recipe.settings
    count = _adam_count(state)
    return [adam_corrections(b1, b2, count + k) for k in range(1, steps + 1)]


def host_counts_removed(state: State) -> State:
    """``state`` without its host step count (None in its place), for a traced loop's carry."""
    return tuple(s._replace(count=None) if isinstance(s, ScaleByAdamState) else s for s in state)


def host_counts_restored(traced: State, state: State, steps: int) -> State:
    """``traced``'s arrays with the host step count of ``state`` advanced by ``steps``."""
    return tuple(
        t._replace(count=int(s.count or 0) + steps) if isinstance(s, ScaleByAdamState) else t
        for t, s in zip(traced, state, strict=True)
    )


def _adam_count(state: State) -> int:
    """The step count of a chain state that holds Adam's."""
    return next(int(s.count or 0) for s in state if isinstance(s, ScaleByAdamState))
