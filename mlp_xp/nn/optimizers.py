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

A named optimizer also carries its :class:`Hyperparams`, as optax's
``inject_hyperparams`` does: its rule (a module-level function, the same for
every value) and its numbers (the learning rate, the momentum, Adam's betas and
eps).  ``rule(**numbers)`` is the optimizer.  The eager loop uses the numbers
as the Python floats they are, in the optimizer's closures (made once per
learning rate), not in its state: a step would otherwise make its optimizer
again from the state (a few microseconds, of a small network's 50 us step), and a checkpoint's
state would change its layout; a compiled loop (:mod:`mlp_xp.training.compiled`)
holds them as 0-d arrays in the state it carries
(:class:`InjectHyperparamsState`) and makes the optimizer from them inside its
traced function, so that one compilation serves every value, and a schedule or
a search over them compiles nothing new.  Adam's step count stays a Python int
on the host: the compiled loop is handed each step's bias corrections
(:func:`step_numbers`), the very host floats the eager ``update`` computes.
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


class Hyperparams(NamedTuple):
    """A named optimizer's rule and numbers: ``rule(**dict(numbers))`` makes it.

    The rule is a module-level function that checks nothing, so that it takes
    numbers that are 0-d (traced) arrays as well as Python floats; it is the
    same object for every value, so that a compiled loop may key on it.
    """

    rule: Callable[..., Optimizer]
    numbers: tuple[tuple[str, float], ...]


class InjectHyperparamsState(NamedTuple):
    """optax's name: an optimizer's state together with its numbers.

    What a compiled loop carries through its traced function: ``hyperparams``
    holds the numbers of :class:`Hyperparams` (and the training step's own,
    alpha), as 0-d arrays; ``inner_state`` is the optimizer's state.
    """

    hyperparams: dict[str, Any]
    inner_state: State


class Optimizer(NamedTuple):
    """A pair of pure functions, and how it was built.

    ``init(params) -> state`` and ``update(grads, state, params) -> (updates, state)``.
    ``hyperparams`` is set by :func:`sgd`, :func:`momentum` and :func:`adam`;
    None for a hand-made chain, which compiled loops then leave to the eager loop.
    """

    init: Callable[[Tree], State]
    update: Callable[[Tree, State, Tree], tuple[Tree, State]]
    hyperparams: Hyperparams | None = None


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


def _scale_by_adam(
    b1: Any, one_minus_b1: Any, b2: Any, one_minus_b2: Any, eps: Any, corrections: Any = None
) -> Optimizer:
    """Adam's direction; ``1 - b1`` and ``1 - b2`` are given, as the host computes them.

    Without ``corrections``, the bias corrections of :func:`adam_corrections`
    from the state's count, which each step advances.  With them (a compiled
    loop's, one step's pair of 0-d arrays), those, and the count is left as it is.
    """

    def init(params: Tree) -> State:
        zeros = _zeros_like(params)
        return ScaleByAdamState(0, zeros, zeros)

    def update(grads: Tree, state: State, params: Tree) -> tuple[Tree, State]:
        count, mu, nu = state
        if corrections is None:
            count += 1
            c1, c2 = adam_corrections(b1, b2, count)
        else:
            c1, c2 = corrections
        mu = tree_map(lambda m, g: m * b1 + g * one_minus_b1, mu, grads)
        nu = tree_map(lambda v, g: v * b2 + (g * g) * one_minus_b2, nu, grads)
        direction = tree_map(lambda m, v: (m * c1) / (v**0.5 * c2 + eps), mu, nu)
        return direction, ScaleByAdamState(count, mu, nu)

    return Optimizer(init, update)


def scale_by_adam(b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8) -> Optimizer:
    """Adam's direction m_hat / (sqrt(v_hat) + eps), with PyTorch's bias correction.

    The step count is a Python int in the state: bias corrections are computed on
    the host as Python floats, so no value is ever read back from the device.
    """
    return _scale_by_adam(b1, 1.0 - b1, b2, 1.0 - b2, eps)


# The rules of the named optimizers (Hyperparams.rule): unchecked, so that their
# numbers may be traced arrays, and module-level, so that every value shares one.


def _sgd_rule(learning_rate: Any) -> Optimizer:
    return chain(scale(-learning_rate))


def _momentum_rule(learning_rate: Any, momentum: Any) -> Optimizer:
    return chain(trace(momentum), scale(-learning_rate))


def _nesterov_rule(learning_rate: Any, momentum: Any) -> Optimizer:
    return chain(trace(momentum, nesterov=True), scale(-learning_rate))


def _adam_rule(
    learning_rate: Any,
    b1: Any,
    one_minus_b1: Any,
    b2: Any,
    one_minus_b2: Any,
    eps: Any,
    c1: Any = None,
    c2: Any = None,
) -> Optimizer:
    corrections = None if c1 is None else (c1, c2)
    direction = _scale_by_adam(b1, one_minus_b1, b2, one_minus_b2, eps, corrections)
    return chain(direction, scale(-learning_rate))


def _named(rule: Callable[..., Optimizer], **numbers: float) -> Optimizer:
    """``rule(**numbers)``, which carries its :class:`Hyperparams`."""
    return rule(**numbers)._replace(hyperparams=Hyperparams(rule, tuple(numbers.items())))


def sgd(learning_rate: float) -> Optimizer:
    """Plain gradient descent, the lecture's step: p <- p - learning_rate * g."""
    lr = check_positive_float("learning_rate", learning_rate)
    return _named(_sgd_rule, learning_rate=lr)


def momentum(learning_rate: float, momentum: float = 0.9, nesterov: bool = False) -> Optimizer:
    """Gradient descent with (Nesterov) momentum, following PyTorch's SGD conventions."""
    lr = check_positive_float("learning_rate", learning_rate)
    mu = check_nonnegative_float("momentum", momentum)
    if mu >= 1.0:
        msg = f"momentum must be in [0, 1), got {momentum!r}"
        raise ValueError(msg)
    return _named(_nesterov_rule if nesterov else _momentum_rule, learning_rate=lr, momentum=mu)


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
    d1, d2 = decays
    return _named(
        _adam_rule,
        learning_rate=lr,
        b1=d1,
        one_minus_b1=1.0 - d1,
        b2=d2,
        one_minus_b2=1.0 - d2,
        eps=check_positive_float("eps", eps),
    )


OPTIMIZERS: dict[str, Callable[..., Optimizer]] = {
    "sgd": sgd,
    "momentum": momentum,
    "nesterov": lambda learning_rate: momentum(learning_rate, nesterov=True),
    "adam": adam,
}
"""Optimizer factories by name; each takes ``learning_rate`` first."""


def step_numbers(optimizer: Optimizer, state: State, steps: int) -> dict[str, list[float]]:
    """The host numbers each of the next ``steps`` steps from ``state`` needs, by name.

    For Adam, the bias corrections ``c1`` and ``c2`` of :func:`adam_corrections`,
    the same Python floats its eager ``update`` computes; none for the others.
    """
    counts = [int(s.count or 0) for s in state if isinstance(s, ScaleByAdamState)]
    if not counts or optimizer.hyperparams is None:
        return {}
    numbers = dict(optimizer.hyperparams.numbers)
    b1, b2 = numbers["b1"], numbers["b2"]
    pairs = [adam_corrections(b1, b2, counts[0] + k) for k in range(1, steps + 1)]
    return {"c1": [c for c, _ in pairs], "c2": [c for _, c in pairs]}


def host_counts_removed(state: State) -> State:
    """``state`` without its host step count (None in its place), for a traced loop's carry."""
    return tuple(s._replace(count=None) if isinstance(s, ScaleByAdamState) else s for s in state)


def host_counts_restored(traced: State, state: State, steps: int) -> State:
    """``traced``'s arrays with the host step count of ``state`` advanced by ``steps``."""
    return tuple(
        t._replace(count=int(s.count or 0) + steps) if isinstance(s, ScaleByAdamState) else t
        for t, s in zip(traced, state, strict=True)
    )
