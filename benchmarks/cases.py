"""The benchmark's problems and the implementations it times, each a zero-argument step.

A problem is host NumPy arrays (X, Y and the initial layers) in one dtype; every
implementation below starts from the same numbers.
"""

from __future__ import annotations

import functools
import importlib.util
import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import mlp_xp
from mlp_xp.backend import from_host, resolve
from mlp_xp.nn.layers import Layer
from mlp_xp.nn.optimizers import sgd
from mlp_xp.nn.plan import make_plan
from mlp_xp.training import train_step

CASES: dict[str, dict[str, Any]] = {
    "tiny": {"sizes": (2, 8, 1), "n": 1000, "about": "the lecture's BMI net; overhead-bound"},
    "mnist": {"sizes": (784, 256, 10), "n": 256, "about": "MNIST-sized"},
    "wide": {"sizes": (1024, 2048, 1024), "n": 2048, "about": "matmul-bound"},
    "deep": {"sizes": (256, 512, 512, 512, 10), "n": 512, "about": "3 hidden layers"},
}
LEARNING_RATE = 1e-3
CPU = resolve("numpy")
REFERENCE = Path(__file__).resolve().parents[1] / "tests" / "reference.py"
"""Where the lecture's step lives: its one copy, which the tests also check mlp_xp against."""


def flops_per_step(sizes: tuple[int, ...], n: int) -> float:
    """Matrix-product flops of one step.

    Forward, dW for every layer, and delta @ W for every layer but the first.
    """
    total = 0.0
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        total += 2.0 * n * a * b * (3 if i else 2)
    return total


def make_problem(case: str, dtype: str, seed: int = 0) -> dict[str, Any]:
    """Host arrays of one case: X, Y and the initial layers, all in ``dtype``."""
    spec = CASES[case]
    sizes, n = spec["sizes"], spec["n"]
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, sizes[0])).astype(dtype)
    Y = rng.normal(size=(n, sizes[-1])).astype(dtype)
    params = mlp_xp.init_params(sizes, seed=seed, dtype="float64")
    host = [(W.astype(dtype), b.astype(dtype)) for W, b in params]
    return {"sizes": sizes, "n": n, "X": X, "Y": Y, "params": host}


def placed_problem(problem: dict[str, Any], where: Any) -> tuple[Any, Any, tuple[Layer, ...]]:
    """The problem's X, Y and layers in ``where`` (a placement), in the problem's dtype."""
    dtype = problem["X"].dtype.name
    X = from_host(problem["X"], where, dtype)
    Y = from_host(problem["Y"], where, dtype)
    params = tuple(
        Layer(from_host(W, where, dtype), from_host(b, where, dtype)) for W, b in problem["params"]
    )
    return X, Y, params


def mlp_xp_step(problem: dict[str, Any], backend: str, device: str | None) -> Callable[[], Any]:
    """mlp_xp's training step on ``backend``, with the namespace resolved once."""
    where = resolve(backend, device)
    X, Y, params = placed_problem(problem, where)
    plan, opt = make_plan("relu", "squared_error"), sgd(LEARNING_RATE)
    state = opt.init(params)
    return lambda: train_step(where, params, state, X, Y, plan, opt)


def public_steps(problem: dict[str, Any]) -> dict[str, Callable[[], Any]]:
    """The public, checked functions on host NumPy arrays, as a user's loop calls them.

    ``mlp_xp.step`` on every case, and the lecture's signature,
    ``mlp_xp.gradient_descent_step``, on the 2-layer ones.  Each call validates its
    input (namespace, shapes, dtypes, devices, finite values) before the kernel runs.
    """
    X, Y = problem["X"], problem["Y"]
    params = tuple(Layer(W, b) for W, b in problem["params"])
    steps = {"mlp_xp.step": lambda: mlp_xp.step(params, X, Y, LEARNING_RATE)}
    if len(params) == 2:
        (W0, b0), (W1, b1) = problem["params"]
        steps["gradient_descent_step"] = lambda: mlp_xp.gradient_descent_step(
            X, Y, W0, b0, W1, b1, LEARNING_RATE
        )
    return steps


def lecture_step(problem: dict[str, Any]) -> Callable[[], Any]:
    """The lecture's own NumPy ``gradient_descent_step`` on a 2-layer problem, as printed."""
    step = _lecture_gradient_descent_step()
    W0, b0 = problem["params"][0]
    W1, b1 = problem["params"][1]
    X, Y = problem["X"], problem["Y"]
    return lambda: step(X, Y, W0, b0, W1, b1, LEARNING_RATE)


@functools.cache
def _lecture_gradient_descent_step() -> Callable[..., Any]:
    """tests/reference.py's verbatim copy of the lecture's step, loaded by its path.

    By path, not ``import tests.reference``: the benchmark always runs from a source
    checkout, while the tests also run from a copy that has no benchmarks/ (ci/gpu-check.sh
    --wheel), so the copy lives with the tests; and a ``tests`` package installed by some
    other distribution cannot shadow it.
    """
    if not REFERENCE.is_file():
        msg = f"the lecture's step is read from {REFERENCE}, which is missing; run from a checkout"
        raise FileNotFoundError(msg)
    spec = importlib.util.spec_from_file_location("mlp_xp_bench_reference", REFERENCE)
    if spec is None or spec.loader is None:  # never for a .py file; this narrows the types
        msg = f"cannot load {REFERENCE} as a Python module"
        raise ImportError(msg)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    step: Callable[..., Any] = module.lecture_gradient_descent_step
    return step


def floor_step(xp: Any, X: Any, params: list[tuple[Any, Any]], n_out: int) -> Callable[[], Any]:
    """The step's matrix products alone, on arrays of the right shapes."""
    acts = [X]
    for W, _ in params:
        acts.append(acts[-1] @ W.T)
    deltas = [a * 0.5 for a in acts[1:]]

    def run() -> Any:
        a = X
        for W, _ in params:
            a = a @ W.T
        out = None
        for i in range(len(params) - 1, -1, -1):
            out = deltas[i].T @ acts[i]
            if i:
                out = deltas[i] @ params[i][0]
        return out

    return run


def torch_steps(problem: dict[str, Any], device: str) -> dict[str, Callable[[], Any]]:
    """Hand-written eager PyTorch, autograd with torch.optim.SGD, and the torch floor.

    ``torch eager`` is the lecture's step by hand; ``torch eager+loss`` also computes
    the loss value, as mlp_xp's step does, so it does the same work.
    """
    import torch

    dev = torch.device(device)
    X = torch.as_tensor(problem["X"], device=dev)
    Y = torch.as_tensor(problem["Y"], device=dev)
    Ws = [
        (torch.as_tensor(W, device=dev), torch.as_tensor(b, device=dev))
        for W, b in problem["params"]
    ]
    n = X.shape[0]

    @torch.no_grad()
    def eager(with_loss: bool = False) -> Any:
        acts, slopes = [X], []
        a = X
        for i, (W, b) in enumerate(Ws):
            z = torch.addmm(b, a, W.T)
            if i < len(Ws) - 1:
                slope = (z >= 0).to(z.dtype)
                slopes.append(slope)
                a = z * slope
            else:
                a = z
            acts.append(a)
        r = a - Y
        # The loss value, as mlp_xp's step computes it (fit's loss curve needs it);
        # the lecture's step, and the plain row, do without.
        loss = None
        if with_loss:
            flat = r.view(-1)
            loss = torch.dot(flat, flat) * (0.5 / n)
        delta = r * (1.0 / n)
        new = []
        for i in range(len(Ws) - 1, -1, -1):
            W, b = Ws[i]
            gW = delta.T @ acts[i]
            gb = delta.sum(0)
            if i:
                delta = (delta @ W) * slopes[i - 1]
            new.append((W - LEARNING_RATE * gW, b - LEARNING_RATE * gb))
        return new, loss

    layers: list[Any] = []
    for i, (W, b) in enumerate(Ws):
        lin = torch.nn.Linear(W.shape[1], W.shape[0], device=dev, dtype=W.dtype)
        with torch.no_grad():
            lin.weight.copy_(W)
            lin.bias.copy_(b)
        layers.append(lin)
        if i < len(Ws) - 1:
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)

    def autograd() -> Any:
        optimizer.zero_grad(set_to_none=True)
        loss = 0.5 * ((model(X) - Y) ** 2).sum(dim=1).mean()
        loss.backward()
        optimizer.step()
        return loss

    return {
        "torch eager": eager,
        "torch eager+loss": lambda: eager(with_loss=True),
        "torch autograd": autograd,
        "floor": torch.no_grad()(floor_step(torch, X, Ws, Y.shape[1])),
    }


def sklearn_step(problem: dict[str, Any]) -> Callable[[], Any] | None:
    """scikit-learn's MLPRegressor.partial_fit on one batch equal to the data."""
    try:
        from sklearn.neural_network import MLPRegressor
    except ImportError:
        return None
    sizes = problem["sizes"]
    model = MLPRegressor(
        hidden_layer_sizes=sizes[1:-1],
        activation="relu",
        solver="sgd",
        alpha=0.0,
        momentum=0.0,
        learning_rate_init=LEARNING_RATE,
        batch_size=problem["n"],
        shuffle=False,
        random_state=0,
    )
    X, Y = problem["X"], problem["Y"]
    y = Y[:, 0] if Y.shape[1] == 1 else Y
    model.partial_fit(X, y)
    return lambda: model.partial_fit(X, y)
