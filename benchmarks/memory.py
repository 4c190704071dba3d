"""Peak bytes one step allocates on the host, against what the step must hold."""

from __future__ import annotations

import itertools
import tracemalloc

import numpy as np
from cases import CPU, LEARNING_RATE, make_problem
from report import Report

from mlp_xp.nn.layers import Layer
from mlp_xp.nn.optimizers import sgd
from mlp_xp.nn.plan import make_plan
from mlp_xp.training import train_step


def measure_memory(case: str, dtype: str, report: Report) -> None:
    """Peak bytes NumPy allocates in one step, against what the step must hold.

    Necessary: the new parameters and the parameter gradients (each the size of
    the parameters), every layer's output, and the gradient with respect to one
    layer's output (backpropagation holds at least the largest of those).  The
    inputs X, Y and the old parameters exist before the step and are not counted.
    """
    problem = make_problem(case, dtype)
    X, Y = problem["X"], problem["Y"]
    params = tuple(Layer(W, b) for W, b in problem["params"])
    plan, opt = make_plan("relu", "squared_error"), sgd(LEARNING_RATE)
    state = opt.init(params)
    train_step(CPU, params, state, X, Y, plan, opt)  # warm-up outside the trace
    tracemalloc.start()
    base, _ = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    result = train_step(CPU, params, state, X, Y, plan, opt)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del result
    item = np.dtype(dtype).itemsize
    n, sizes = problem["n"], problem["sizes"]
    param_bytes = sum((a * b + b) * item for a, b in itertools.pairwise(sizes))
    activation_bytes = sum(n * s * item for s in sizes[1:])  # every layer's output
    delta_bytes = n * max(sizes[1:]) * item  # dL/dz of the widest layer
    necessary = 2 * param_bytes + activation_bytes + delta_bytes
    ratio = (peak - base) / necessary
    report.extras.append(
        {
            "case": case,
            "dtype": dtype,
            "what": "peak step memory",
            "peak_bytes": peak - base,
            "necessary_bytes": necessary,
            "ratio": ratio,
        }
    )
    report.checks.append(
        {
            "case": case,
            "dtype": dtype,
            "what": "peak step memory / necessary bytes",
            "value": ratio,
            "limit": 1.5,
            "ok": ratio <= 1.5,
        }
    )
