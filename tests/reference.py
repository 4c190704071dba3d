"""Host NumPy float64 references, written independently of mlp_xp's kernels.

Also the one copy of the lecture's step, which ``benchmarks/`` times: it loads this
file by its path, so keep its imports to the standard library and NumPy.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

Host = np.ndarray


def lecture_gradient_descent_step(
    X: Host, Y: Host, W0: Host, b0: Host, W1: Host, b1: Host, learning_rate: float
) -> tuple[Host, Host, Host, Host]:
    """The seed lecture's ``gradient_descent_step``, verbatim (shared/seed/mlp-lecture.txt).

    The body is the lecture's as printed, character for character; only the type
    annotations are added.  It is kept with its flaw on purpose:
    ``np.where(H_ >= 0.0, 1.0, 0.0)`` is float64, so float32 inputs take a float64
    path from ``delta_H`` on and W0, b0 come back float64.  That is what
    tests/test_lecture.py shows mlp_xp avoids, and what the benchmark's ``lecture``
    row costs (benchmarks/cases.py times this very function); a corrected copy
    would test and time something the lecture never ran.  In float64 it is the
    reference mlp_xp's step must match to 1e-12.
    """
    H_ = np.matmul(X, np.transpose(W0)) + b0
    H = np.maximum(H_, 0)
    Y_ = np.matmul(H, np.transpose(W1)) + b1

    delta_Y = Y_ - Y
    W1_grad = np.matmul(np.transpose(delta_Y), H) / H.shape[0]
    b1_grad = np.mean(delta_Y, axis=0)

    delta_H = np.multiply(np.matmul(delta_Y, W1), np.where(H_ >= 0.0, 1.0, 0.0))
    W0_grad = np.matmul(np.transpose(delta_H), X) / X.shape[0]
    b0_grad = np.mean(delta_H, axis=0)

    W0_ = W0 - learning_rate * W0_grad
    b0_ = b0 - learning_rate * b0_grad
    W1_ = W1 - learning_rate * W1_grad
    b1_ = b1 - learning_rate * b1_grad

    return W0_, b0_, W1_, b1_


def _sigmoid(z: Host) -> Host:
    out = np.empty_like(z)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    ez = np.exp(z[~pos])
    out[~pos] = ez / (1.0 + ez)
    return out


def _softmax(z: Host) -> Host:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


ACTIVATIONS: dict[str, Callable[[Host], Host]] = {
    "identity": lambda z: z,
    "relu": lambda z: np.maximum(z, 0.0),
    "sigmoid": _sigmoid,
    "tanh": np.tanh,
    "softmax": _softmax,
}


def forward(params: Sequence[tuple[Host, Host]], X: Host, hidden: str, output: str) -> Host:
    """The network's output, one layer at a time."""
    a = X
    for i, (W, b) in enumerate(params):
        z = a @ W.T + b
        a = ACTIVATIONS[output if i == len(params) - 1 else hidden](z)
    return a


def loss(
    params: Sequence[tuple[Host, Host]], X: Host, Y: Host, hidden: str, loss: str, output: str
) -> float:
    """The batch-mean loss, from the probabilities (fine in float64 away from 0 and 1)."""
    y_hat = forward(params, X, hidden, output)
    n = X.shape[0]
    if loss == "squared_error":
        return float(0.5 * np.sum((y_hat - Y) ** 2) / n)
    if loss == "binary_cross_entropy":
        return float(-np.sum(Y * np.log(y_hat) + (1 - Y) * np.log1p(-y_hat)) / n)
    return float(-np.sum(Y * np.log(y_hat)) / n)


def finite_difference(fn: Callable[[], float], arrays: Sequence[Host], h: float = 1e-6) -> list:
    """Central differences of ``fn`` with respect to every entry of every array."""
    grads = []
    for a in arrays:
        g = np.zeros_like(a)
        flat, gflat = a.reshape(-1), g.reshape(-1)
        for k in range(flat.size):
            keep = flat[k]
            flat[k] = keep + h
            up = fn()
            flat[k] = keep - h
            down = fn()
            flat[k] = keep
            gflat[k] = (up - down) / (2 * h)
        grads.append(g)
    return grads


def random_problem(
    sizes: Sequence[int], n: int, loss: str, seed: int
) -> tuple[list[tuple[Host, Host]], Host, Host]:
    """Random float64 parameters, inputs and targets suited to ``loss``."""
    rng = np.random.default_rng(seed)
    params = [
        (rng.normal(0, 1 / np.sqrt(i), size=(o, i)), rng.normal(0, 0.5, size=o))
        for i, o in itertools.pairwise(sizes)
    ]
    X = rng.normal(size=(n, sizes[0]))
    if loss == "squared_error":
        Y = rng.normal(size=(n, sizes[-1]))
    elif loss == "binary_cross_entropy":
        Y = (rng.random(size=(n, sizes[-1])) < 0.5).astype(np.float64)
    else:
        Y = np.eye(sizes[-1])[rng.integers(0, sizes[-1], size=n)]
    return params, X, Y


def as_float(a: Any) -> Host:
    return np.asarray(a, dtype=np.float64)
