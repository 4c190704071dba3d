"""The torch.compile trial: does compiling mlp_xp's step on the torch backend help?

The JAX issue asks to try ``torch.compile`` of the training step and to keep it
only if it measurably helps and stays within parity.  For each case and dtype,
this times, interleaved in one process:

* ``eager``: the kernel ``fit`` runs, :func:`mlp_xp.training.train_step`, on the
  torch namespace (what the torch backend does today);
* ``compiled``: the same function under ``torch.compile`` (inductor, the
  default), with the plan and optimizer fixed, compiled once before timing;

and reports the compile time apart, the steady-state ratio, and each one's
deviation from the float64 NumPy reference after ``STEPS`` steps with the parity
rule (:func:`mlp_xp.parity.tolerance`).

    python benchmarks/torch_compile.py [--cases tiny,mnist] [--budget S]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from cases import CASES, LEARNING_RATE, make_problem, placed_problem
from timing import paired_ratio, time_interleaved

from mlp_xp.backend import available_backends, resolve, to_host
from mlp_xp.nn.optimizers import sgd
from mlp_xp.nn.plan import make_plan
from mlp_xp.parity import tolerance
from mlp_xp.training import train_step

STEPS = 20
"""Steps of the parity comparison, at a tenth of the benchmark's learning rate: the
benchmark's random targets make mnist's 784 inputs diverge at its full rate."""


def _start(problem: dict[str, Any], backend: str, dtype: str) -> tuple[Any, ...]:
    where = resolve(backend, None)
    host = {**problem, "X": problem["X"].astype(dtype), "Y": problem["Y"].astype(dtype)}
    host["params"] = [(W.astype(dtype), b.astype(dtype)) for W, b in problem["params"]]
    return (where, *placed_problem(host, where))


def _step_fn(where: Any, learning_rate: float = LEARNING_RATE) -> Callable[..., Any]:
    plan, opt = make_plan("relu", "squared_error"), sgd(learning_rate)

    def step(params: Any, X: Any, Y: Any) -> Any:
        new, _, loss = train_step(where, params, opt.init(params), X, Y, plan, opt)
        return new, loss

    return step


def _flat(params: Any) -> np.ndarray:
    return np.concatenate([to_host(a).astype(np.float64).ravel() for p in params for a in p])


def _trajectory(step: Callable[..., Any], params: Any, X: Any, Y: Any) -> np.ndarray:
    for _ in range(STEPS):
        params, _ = step(params, X, Y)
    return _flat(params)


def measure(case: str, dtype: str, budget: float) -> dict[str, Any]:
    """One case and dtype: compile time, steady times, ratio and both deviations."""
    import torch

    problem = make_problem(case, dtype)
    where, X, Y, params = _start(problem, "torch", dtype)
    eager = _step_fn(where)
    compiled = torch.compile(eager)
    start = time.perf_counter()
    compiled(params, X, Y)
    compile_s = time.perf_counter() - start
    samples = time_interleaved(
        {
            "eager": (lambda: eager(params, X, Y), where),
            "compiled": (lambda: compiled(params, X, Y), where),
        },
        rounds=7,
        min_block_s=0.05,
        budget_s=budget,
    )
    ref_where, Xr, Yr, pr = _start(problem, "numpy", "float64")
    reference = _trajectory(_step_fn(ref_where, LEARNING_RATE / 10), pr, Xr, Yr)
    norm = float(np.linalg.norm(reference))
    sizes = CASES[case]["sizes"]
    rule = tolerance(dtype, steps=STEPS, depth=len(sizes) - 1, width=max(sizes))
    slow = _step_fn(where, LEARNING_RATE / 10)
    deviations = {
        name: float(np.linalg.norm(_trajectory(fn, params, X, Y) - reference)) / norm
        for name, fn in (("eager", slow), ("compiled", torch.compile(slow)))
    }
    return {
        "case": case,
        "dtype": dtype,
        "compile_s": compile_s,
        "eager_ms": statistics.median(samples["eager"]) * 1e3,
        "compiled_ms": statistics.median(samples["compiled"]) * 1e3,
        "compiled_over_eager": paired_ratio(samples["compiled"], samples["eager"]),
        "deviation_eager": deviations["eager"],
        "deviation_compiled": deviations["compiled"],
        "tolerance": rule,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", default="tiny,mnist", help="comma-separated cases")
    parser.add_argument("--dtypes", default="float32,float64", help="comma-separated dtypes")
    parser.add_argument("--budget", type=float, default=4.0, help="seconds per case and dtype")
    args = parser.parse_args(argv)
    if not available_backends()["torch"].available:
        print("torch_compile: torch is not installed")
        return 0
    print(
        "case   dtype    compile s  eager ms  compiled ms  compiled/eager  "
        "dev eager  dev compiled  tolerance"
    )
    for case in args.cases.split(","):
        for dtype in args.dtypes.split(","):
            r = measure(case, dtype, args.budget)
            print(
                f"{case:6} {dtype:8} {r['compile_s']:9.2f}  {r['eager_ms']:8.4f}  "
                f"{r['compiled_ms']:11.4f}  {r['compiled_over_eager']:14.2f}  "
                f"{r['deviation_eager']:9.2e}  {r['deviation_compiled']:12.2e}  "
                f"{r['tolerance']:9.2e}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
