"""Time every implementation of one case and dtype, interleaved, into the report's rows."""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from cases import (
    CPU,
    LEARNING_RATE,
    floor_step,
    flops_per_step,
    lecture_step,
    make_problem,
    mlp_xp_step,
    public_steps,
    sklearn_step,
    torch_steps,
)
from jax_step import jax_steps
from report import Report, Row
from timing import paired_ratio, time_interleaved

from mlp_xp.backend import available_backends, from_host, resolve
from mlp_xp.nn.backprop import forward_trace
from mlp_xp.nn.layers import Layer
from mlp_xp.nn.optimizers import sgd
from mlp_xp.nn.plan import make_plan
from mlp_xp.training import train_step


@dataclass
class Contenders:
    """The steps to time for one case, by name, each with where it runs and its row's labels."""

    steps: dict[str, tuple[Callable[[], Any], Any]] = field(default_factory=dict)
    labels: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    """name -> (impl, backend, device)"""
    first_call_s: dict[str, float] = field(default_factory=dict)
    """name -> seconds of its first call, where that includes a compile (JAX)"""

    def add(
        self,
        name: str,
        fn: Callable[[], Any] | None,
        where: Any,
        impl: str,
        backend: str,
        device: str,
    ) -> None:
        """Add one step, unless its library is missing (``fn`` is None)."""
        if fn is not None:
            self.steps[name] = (fn, where)
            self.labels[name] = (impl, backend, device)


def cpu_contenders(problem: dict[str, Any], compare: str) -> Contenders:
    """mlp_xp on NumPy (the kernel and the public functions), the lecture, the NumPy floor,
    and the ``--compare`` rows, on the CPU."""
    sizes = problem["sizes"]
    cpu = resolve("numpy")
    found = Contenders()
    add = found.add
    add("mlp_xp numpy", mlp_xp_step(problem, "numpy", None), cpu, "mlp_xp", "numpy", "cpu")
    for impl, fn in public_steps(problem).items():
        add(f"{impl} numpy", fn, cpu, impl, "numpy", "cpu")
    if len(sizes) == 3:
        add("lecture", lecture_step(problem), cpu, "lecture", "numpy", "cpu")
    add(
        "floor numpy",
        floor_step(np, problem["X"], problem["params"], sizes[-1]),
        cpu,
        "floor",
        "numpy",
        "cpu",
    )
    if "sklearn" in compare:
        add("sklearn", sklearn_step(problem), cpu, "sklearn", "numpy", "cpu")
    if available_backends()["torch"].available and "torch" in compare:
        add(
            "mlp_xp torch",
            mlp_xp_step(problem, "torch", "cpu"),
            resolve("torch", "cpu"),
            "mlp_xp",
            "torch",
            "cpu",
        )
        for impl, fn in torch_steps(problem, "cpu").items():
            add(f"{impl} torch", fn, resolve("torch", "cpu"), impl, "torch", "cpu")
    if "jax" in compare:
        steps, first = jax_steps(problem)
        for impl, fn in steps.items():
            add(f"{impl} jax", fn, cpu, impl, "jax", "cpu")
        found.first_call_s.update({f"{impl} jax": s for impl, s in first.items()})
    if "array_api_strict" in compare and available_backends()["array_api_strict"].available:
        add(
            "mlp_xp strict",
            mlp_xp_step(problem, "array_api_strict", None),
            resolve("array_api_strict"),
            "mlp_xp",
            "array_api_strict",
            "CPU_DEVICE",
        )
    return found


def gpu_contenders(problem: dict[str, Any]) -> Contenders:
    """mlp_xp, the floor and PyTorch on the first CUDA GPU, with CuPy and with PyTorch."""
    sizes = problem["sizes"]
    found = Contenders()
    add = found.add
    if available_backends()["cupy"].available:
        gpu = resolve("cupy")
        add("mlp_xp cupy", mlp_xp_step(problem, "cupy", None), gpu, "mlp_xp", "cupy", "cuda:0")
        import cupy

        Xg = cupy.asarray(problem["X"])
        Wg = [(cupy.asarray(W), cupy.asarray(b)) for W, b in problem["params"]]
        add("floor cupy", floor_step(cupy, Xg, Wg, sizes[-1]), gpu, "floor", "cupy", "cuda:0")
    if (
        available_backends()["torch"].available
        and "cuda:0" in available_backends()["torch"].devices
    ):
        tgpu = resolve("torch", "cuda")
        add(
            "mlp_xp torch",
            mlp_xp_step(problem, "torch", "cuda"),
            tgpu,
            "mlp_xp",
            "torch",
            "cuda:0",
        )
        for impl, fn in torch_steps(problem, "cuda").items():
            add(f"{impl} torch", fn, tgpu, impl, "torch", "cuda:0")
    return found


def case_rows(
    case: str,
    dtype: str,
    flops: float,
    samples: dict[str, list[float]],
    labels: dict[str, tuple[str, str, str]],
) -> list[Row]:
    """One row per contender: median and spread, GFLOP/s, and its paired ratios."""
    medians = {name: statistics.median(s) for name, s in samples.items()}

    def ratio(name: str, to: str) -> float:
        return paired_ratio(samples[name], samples[to])

    rows = []
    for name, s in samples.items():
        impl, backend, device = labels[name]
        floor_name = f"floor {backend}"
        row = Row(
            case,
            dtype,
            impl,
            backend,
            device,
            ms=medians[name] * 1e3,
            ms_min=min(s) * 1e3,
            ms_max=max(s) * 1e3,
            gflops=flops / medians[name] / 1e9,
            samples=s,
        )
        if floor_name in medians:
            row.x_floor = ratio(name, floor_name)
        if "lecture" in medians:
            row.x_lecture = ratio(name, "lecture")
        if impl == "lecture" and dtype == "float32":
            row.note = "takes a float64 path (np.where)"
        rows.append(row)
    return rows


def measure_case(case: str, dtype: str, args: argparse.Namespace, report: Report) -> None:
    """Time every contender of one case and dtype, and add the rows to ``report``."""
    problem = make_problem(case, dtype)
    found = gpu_contenders(problem) if args.gpu else cpu_contenders(problem, args.compare)
    if not found.steps:
        return
    samples = time_interleaved(found.steps, args.rounds, args.block, args.budget)
    flops = flops_per_step(problem["sizes"], problem["n"])
    report.rows.extend(case_rows(case, dtype, flops, samples, found.labels))
    if found.first_call_s:
        report.extras.append(jax_extra(case, dtype, samples, found.first_call_s))
    if not args.gpu:
        check_dtype(problem, report, case, dtype)


def jax_extra(
    case: str, dtype: str, samples: dict[str, list[float]], first_call_s: dict[str, float]
) -> dict[str, Any]:
    """JAX's compile times apart from its steady state, and its steps against both floors.

    The compiled step against the NumPy floor (OpenBLAS) and against XLA's own
    compiled matrix products: XLA's CPU matmuls are not OpenBLAS, so the two differ.
    """
    extra: dict[str, Any] = {"case": case, "dtype": dtype, "what": "jax step"}
    for name, first in first_call_s.items():
        steady = statistics.median(samples[name])
        extra[f"{name.removesuffix(' jax')} first call ms"] = first * 1e3
        extra[f"{name.removesuffix(' jax')} compile ms"] = max(first - steady, 0.0) * 1e3
    for name in ("mlp_xp jax", "mlp_xp jit jax"):
        for floor in ("floor numpy", "floor jax"):
            if name in samples and floor in samples:
                key = f"{name.removesuffix(' jax')} x {floor.replace('floor ', '')} floor"
                extra[key] = paired_ratio(samples[name], samples[floor])
    if "mlp_xp jit jax" in samples and "mlp_xp numpy" in samples:
        extra["mlp_xp jit x mlp_xp numpy"] = paired_ratio(
            samples["mlp_xp jit jax"], samples["mlp_xp numpy"]
        )
    return extra


def check_dtype(problem: dict[str, Any], report: Report, case: str, dtype: str) -> None:
    """float32 stays float32: every array of mlp_xp's step, intermediates included."""
    where = resolve("numpy")
    X = from_host(problem["X"], where, dtype)
    Y = from_host(problem["Y"], where, dtype)
    params = tuple(Layer(W, b) for W, b in problem["params"])
    plan, opt = make_plan("relu", "squared_error"), sgd(LEARNING_RATE)
    trace = forward_trace(np, params, X, plan)
    arrays = [*trace.inputs, *trace.saved, trace.z, trace.y_hat]
    new, _state, value = train_step(CPU, params, opt.init(params), X, Y, plan, opt)
    arrays += [a for layer in new for a in layer] + [np.asarray(value)]
    kinds = sorted({a.dtype.name for a in arrays if a is not None})
    report.checks.append(
        {
            "case": case,
            "dtype": dtype,
            "what": "dtypes of every array",
            "value": kinds,
            "limit": [dtype],
            "ok": kinds == [dtype],
        }
    )
