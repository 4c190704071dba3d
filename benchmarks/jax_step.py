"""JAX's rows of the step benchmark: the kernel eager on jax.numpy arrays, and under jax.jit.

* ``mlp_xp`` on ``jax``: ``mlp_xp.training.train_step`` run eagerly, each operation
  dispatched by JAX one at a time;
* ``mlp_xp jit`` on ``jax``: the same ``train_step``, traced once by ``jax.jit`` with
  the plan, the optimizer and the placement held static (closed over), so that
  every later call runs one compiled XLA program;
* ``floor`` on ``jax``: the step's matrix products alone, compiled by ``jax.jit``
  (XLA's own CPU matrix products, which are not OpenBLAS).

Each timed call waits for its result (``jax.block_until_ready``), as a NumPy step
does by construction.  The first call of each (the trace and XLA's compile for
the compiled ones) is timed apart and reported, never mixed into the steady state.
Without JAX, or without float64 where x64 mode is off, there are no rows.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from cases import LEARNING_RATE, placed_problem

from mlp_xp.backend import available_backends, resolve
from mlp_xp.nn.optimizers import sgd
from mlp_xp.nn.plan import make_plan
from mlp_xp.training import train_step


def jax_steps(problem: dict[str, Any]) -> tuple[dict[str, Callable[[], Any]], dict[str, float]]:
    """The JAX contenders by implementation name, and each one's first-call seconds.

    Empty when JAX is missing or cannot compute in the problem's dtype here.
    """
    if not available_backends()["jax"].available:
        return {}, {}
    where = resolve("jax", "cpu")
    dtype = problem["X"].dtype.name
    if dtype not in where.adapter.float_dtypes(where.device):
        return {}, {}
    import jax

    X, Y, params = placed_problem(problem, where)
    plan, opt = make_plan("relu", "squared_error"), sgd(LEARNING_RATE)
    state = opt.init(params)

    def kernel(params: Any, state: Any, X: Any, Y: Any) -> Any:
        return train_step(where, params, state, X, Y, plan, opt)

    compiled = jax.jit(kernel)
    weights = tuple(layer.W for layer in params)
    acts = [X]
    for W in weights:
        acts.append(acts[-1] @ W.T)
    deltas = tuple(a * 0.5 for a in acts[1:])
    floor = jax.jit(_products)
    steps: dict[str, Callable[[], Any]] = {
        "mlp_xp": lambda: jax.block_until_ready(kernel(params, state, X, Y)),
        "mlp_xp jit": lambda: jax.block_until_ready(compiled(params, state, X, Y)),
        "floor": lambda: jax.block_until_ready(floor(X, weights, tuple(acts[:-1]), deltas)),
    }
    first = {name: _first_call(fn) for name, fn in steps.items()}
    return steps, first


def _products(X: Any, weights: Any, acts: Any, deltas: Any) -> Any:
    """benchmarks/cases.floor_step's matrix products, every one returned so XLA keeps it."""
    a, out = X, []
    for W in weights:
        a = a @ W.T
    for i in range(len(weights) - 1, -1, -1):
        out.append(deltas[i].T @ acts[i])
        if i:
            out.append(deltas[i] @ weights[i])
    return a, out


def _first_call(fn: Callable[[], Any]) -> float:
    """Seconds of the first call: tracing and compiling for a jitted function."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start
