"""Benchmark one gradient step: mlp_xp against the lecture, PyTorch and the matmul floor.

    python benchmarks/step.py                  # the CPU table
    python benchmarks/step.py --check          # exit 1 if a target is missed
    python benchmarks/step.py --gpu --json out.json --plot ratios.png
    mlp-xp bench ...                           # the same, from a source checkout

Everything is timed in one process, interleaved (A B C ... A B C ...) over several
rounds after a warm-up, and reported as the median per step with the min-max
spread over rounds.  A ratio (x floor, x lecture, and the targets) is the median
over rounds of each round's own ratio: the two rows it compares were timed
within a fraction of a second of each other, so a slow spell of a shared machine
slows both and cancels out instead of moving one median.  Rows:

* ``mlp_xp``: the kernel ``fit`` runs on every batch (``mlp_xp.training.train_step``
  with SGD: forward, loss value, backward, update), on every available backend;
* ``lecture``: the lecture's NumPy ``gradient_descent_step`` (2-layer cases);
* ``torch eager``: the same maths hand-written in PyTorch;
* ``torch autograd``: ``nn.Sequential`` + ``torch.optim.SGD``;
* ``sklearn``: ``MLPRegressor.partial_fit`` on one batch (alpha=0, momentum=0);
* ``floor``: the step's matrix products alone, on the same arrays (5 for 2 layers).

On a GPU the clock is read only after the device has synchronised.  Targets
(``--check``) are those of the performance issue; see ``TARGETS``.
"""

from __future__ import annotations

import os

# PyTorch's OpenMP threads otherwise spin for a while after every torch call and
# take a core from NumPy's BLAS threads in the interleaved rounds (measured here:
# mlp_xp's mnist step 2x slower right after a torch row).  Set before torch loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import itertools
import json
import math
import platform
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

import mlp_xp
from mlp_xp.backend import available_backends, from_host, resolve, synchronize
from mlp_xp.nn.backprop import forward_trace
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
MAX_ROUNDS = 25
FIT_SECONDS = 0.3
"""About how long each timed fit lasts (at least 3 epochs)."""
CPU = resolve("numpy")

# (case, dtype or None for both, what, limit): checked by --check on the CPU rows.
TARGETS: list[tuple[str, str | None, str, float]] = [
    ("tiny", None, "mlp_xp / lecture", 1.0),
    ("mnist", "float32", "mlp_xp / floor", 1.3),
    ("mnist", "float32", "mlp_xp / torch autograd", 1.0),
    ("wide", None, "mlp_xp / floor", 1.1),
    ("*", None, "fit epoch throughput / step throughput", -0.9),  # negative: a lower bound
    ("*", None, "peak step memory / necessary bytes", 1.5),
]
GPU_TARGETS: list[tuple[str, str | None, str, float]] = [
    ("wide", "float32", "floor / mlp_xp", -0.8),
    ("tiny", None, "mlp_xp / torch eager", 1.0),
]


@dataclass
class Row:
    """One timed implementation of one case."""

    case: str
    dtype: str
    impl: str
    backend: str
    device: str
    ms: float = math.nan
    ms_min: float = math.nan
    ms_max: float = math.nan
    gflops: float = math.nan
    x_floor: float = math.nan
    x_lecture: float = math.nan
    note: str = ""
    samples: list[float] = field(default_factory=list)
    """Seconds per step in each round."""


@dataclass
class Report:
    """Everything one run measured."""

    environment: dict[str, Any]
    rows: list[Row] = field(default_factory=list)
    extras: list[dict[str, Any]] = field(default_factory=list)
    checks: list[dict[str, Any]] = field(default_factory=list)


# ----------------------------------------------------------------------------- helpers


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


def lecture_step(X, Y, W0, b0, W1, b1, learning_rate):  # type: ignore[no-untyped-def]
    """The lecture's gradient_descent_step, as printed (float32 turns float64 in np.where)."""
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


def mlp_xp_step(problem: dict[str, Any], backend: str, device: str | None) -> Callable[[], Any]:
    """mlp_xp's training step on ``backend``, with the namespace resolved once."""
    where = resolve(backend, device)
    dtype = problem["X"].dtype.name
    X = from_host(problem["X"], where, dtype)
    Y = from_host(problem["Y"], where, dtype)
    params = tuple(
        Layer(from_host(W, where, dtype), from_host(b, where, dtype)) for W, b in problem["params"]
    )
    plan, opt = make_plan("relu", "squared_error"), sgd(LEARNING_RATE)
    state = opt.init(params)
    return lambda: train_step(where, params, state, X, Y, plan, opt)


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
    """Hand-written eager PyTorch, autograd with torch.optim.SGD, and the torch floor."""
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
    def eager() -> Any:
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
        delta = (a - Y) * (1.0 / n)
        new = []
        for i in range(len(Ws) - 1, -1, -1):
            W, b = Ws[i]
            gW = delta.T @ acts[i]
            gb = delta.sum(0)
            if i:
                delta = (delta @ W) * slopes[i - 1]
            new.append((W - LEARNING_RATE * gW, b - LEARNING_RATE * gb))
        return new

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


# ----------------------------------------------------------------------------- timing


def time_interleaved(
    contenders: dict[str, tuple[Callable[[], Any], Any]],
    rounds: int,
    min_block_s: float,
    budget_s: float = 0.0,
) -> dict[str, list[float]]:
    """Seconds per step of each contender, one sample per round, rounds interleaved.

    At least ``rounds`` rounds; more, up to ``MAX_ROUNDS``, while they fit in
    ``budget_s`` seconds.  Cheap cases thus get more samples, and their medians
    and paired ratios ride out a noisy spell of a shared machine.
    """
    reps: dict[str, int] = {}
    round_s = 0.0
    for name, (fn, where) in contenders.items():
        fn()  # warm-up: caches, BLAS threads, CUDA kernels and cuBLAS handles
        fn()
        synchronize(where)
        start = time.perf_counter()
        fn()
        synchronize(where)
        once = max(time.perf_counter() - start, 1e-7)
        reps[name] = max(1, min(2000, int(min_block_s / once)))
        round_s += reps[name] * once
    rounds = max(rounds, min(MAX_ROUNDS, int(budget_s / round_s)))
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    names = list(contenders)
    shuffler = np.random.default_rng(0)
    for _ in range(rounds):
        # A new order each round, so that no contender always follows another: a
        # rotation would keep every neighbour (mlp_xp's NumPy step always came
        # right after the torch floor, and paid for torch's threads winding down).
        for i in shuffler.permutation(len(names)):
            name = names[i]
            fn, where = contenders[name]
            synchronize(where)
            start = time.perf_counter()
            for _ in range(reps[name]):
                fn()
            synchronize(where)
            samples[name].append((time.perf_counter() - start) / reps[name])
    return samples


def paired_ratio(a: list[float], b: list[float]) -> float:
    """The median over rounds of ``a[r] / b[r]``: two rows timed in the same rounds."""
    return statistics.median(x / y for x, y in zip(a, b, strict=True))


def measure_case(case: str, dtype: str, args: argparse.Namespace, report: Report) -> None:
    """Time every contender of one case and dtype, and add the rows to ``report``."""
    problem = make_problem(case, dtype)
    sizes, n = problem["sizes"], problem["n"]
    cpu = resolve("numpy")
    contenders: dict[str, tuple[Callable[[], Any], Any]] = {}
    labels: dict[str, tuple[str, str, str]] = {}  # name -> (impl, backend, device)

    def add(
        name: str, fn: Callable[[], Any] | None, where: Any, impl: str, backend: str, device: str
    ) -> None:
        if fn is not None:
            contenders[name] = (fn, where)
            labels[name] = (impl, backend, device)

    if not args.gpu:
        add("mlp_xp numpy", mlp_xp_step(problem, "numpy", None), cpu, "mlp_xp", "numpy", "cpu")
        if len(sizes) == 3:
            W0, b0 = problem["params"][0]
            W1, b1 = problem["params"][1]
            X, Y = problem["X"], problem["Y"]
            add(
                "lecture",
                lambda: lecture_step(X, Y, W0, b0, W1, b1, LEARNING_RATE),
                cpu,
                "lecture",
                "numpy",
                "cpu",
            )
        add(
            "floor numpy",
            floor_step(np, problem["X"], problem["params"], sizes[-1]),
            cpu,
            "floor",
            "numpy",
            "cpu",
        )
        if "sklearn" in args.compare:
            add("sklearn", sklearn_step(problem), cpu, "sklearn", "numpy", "cpu")
        if available_backends()["torch"].available and "torch" in args.compare:
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
        if (
            "array_api_strict" in args.compare
            and available_backends()["array_api_strict"].available
        ):
            add(
                "mlp_xp strict",
                mlp_xp_step(problem, "array_api_strict", None),
                resolve("array_api_strict"),
                "mlp_xp",
                "array_api_strict",
                "CPU_DEVICE",
            )
    else:
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
    if not contenders:
        return
    samples = time_interleaved(contenders, args.rounds, args.block, args.budget)
    flops = flops_per_step(sizes, n)
    medians = {name: statistics.median(s) for name, s in samples.items()}

    def ratio(name: str, to: str) -> float:
        return paired_ratio(samples[name], samples[to])

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
        report.rows.append(row)
    if not args.gpu:
        check_dtype(problem, report, case, dtype)


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


def measure_fit(case: str, dtype: str, report: Report) -> None:
    """A fit epoch against the sum of its steps: the loop's own overhead.

    The epoch is timed between the ends of consecutive epochs (fit's per-epoch
    callback), so fit's one-time setup is not counted; what is counted is the
    loop: drawing the shuffle (ahead, on fit's helper thread), gathering the
    shuffled rows, slicing batches, collecting the losses, and the one
    read-back of the epoch.
    """
    problem = make_problem(case, dtype)
    n, batches = problem["n"], 8
    quick = flops_per_step(problem["sizes"], n) < 1e9
    rng = np.random.default_rng(1)
    X = np.concatenate([problem["X"]] * batches) + rng.normal(size=(n * batches, 1)).astype(dtype)
    Y = np.concatenate([problem["Y"]] * batches)
    sizes = problem["sizes"]
    params = tuple(Layer(W, b) for W, b in problem["params"])
    plan, opt = make_plan("relu", "squared_error"), sgd(LEARNING_RATE)
    slices = [(X[i * n : (i + 1) * n], Y[i * n : (i + 1) * n]) for i in range(batches)]

    def steps(epochs: int) -> None:
        p, s = params, opt.init(params)
        for _ in range(epochs):
            for Xb, Yb in slices:
                p, s, _ = train_step(CPU, p, s, Xb, Yb, plan, opt)

    # Each fit lasts about FIT_SECONDS: enough epochs for a steady median on the
    # small cases (a tiny epoch is under a millisecond), at least 3 on the large.
    steps(1)
    epochs = max(3, min(1000, round(FIT_SECONDS / timeit_once(lambda: steps(1)))))
    model = mlp_xp.MLPRegressor(
        sizes[1:-1],
        optimizer="sgd",
        learning_rate=LEARNING_RATE,
        batch_size=n,
        epochs=epochs,
        alpha=0.0,
        tol=0.0,
        patience=10**6,
        scale=False,
        dtype=dtype,
        backend="numpy",
    )

    stamps: list[float] = []
    fit_epochs: list[float] = []  # the median epoch of each round's fit
    unshuffled_epochs: list[float] = []
    step_epochs: list[float] = []

    def fit(shuffle: bool, into: list[float]) -> None:
        stamps.clear()
        model.set_params(shuffle=shuffle)
        model.fit(X, Y, callback=lambda info: stamps.append(time.perf_counter()))
        into.append(statistics.median(b - a for a, b in itertools.pairwise(stamps)))

    # Rounds of: a shuffled fit, an unshuffled one (the cheap cases only) and the
    # bare steps, in a new order each round.
    jobs = [
        lambda: fit(True, fit_epochs),
        lambda: step_epochs.append(timeit_once(lambda: steps(epochs)) / epochs),
    ]
    if quick:
        jobs.append(lambda: fit(False, unshuffled_epochs))
    shuffler = np.random.default_rng(0)
    for _ in range(9 if quick else 2):
        for i in shuffler.permutation(len(jobs)):
            jobs[i]()
    fit_s, step_s = statistics.median(fit_epochs), statistics.median(step_epochs)
    throughput = paired_ratio(step_epochs, fit_epochs)
    rng = np.random.default_rng(0)
    shuffle_s = min(timeit_once(lambda: rng.permutation(len(X))) for _ in range(20))
    extra = {
        "case": case,
        "dtype": dtype,
        "what": "fit epoch vs its steps",
        "epochs": epochs,
        "fit_ms_per_epoch": fit_s * 1e3,
        "steps_ms_per_epoch": step_s * 1e3,
        "throughput_ratio": throughput,
        "host_permutation_ms": shuffle_s * 1e3,
    }
    if unshuffled_epochs:
        extra["throughput_ratio_without_shuffle"] = paired_ratio(step_epochs, unshuffled_epochs)
    report.extras.append(extra)
    report.checks.append(
        {
            "case": case,
            "dtype": dtype,
            "what": "fit epoch throughput / step throughput",
            "value": throughput,
            "limit": 0.9,
            "ok": throughput >= 0.9,
        }
    )


def timeit_once(fn: Callable[[], Any]) -> float:
    """Seconds one call of ``fn`` takes."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


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


# ----------------------------------------------------------------------------- report


def environment(gpu: bool) -> dict[str, Any]:
    """The machine, the libraries, BLAS and its threads, and reduced-precision modes."""
    env: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d"),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY"),
        "numpy": np.__version__,
        "mlp_xp": mlp_xp.__version__,
        "backends": {k: v.version for k, v in available_backends().items() if v.available},
    }
    try:
        from threadpoolctl import threadpool_info

        env["blas"] = [
            {k: info.get(k) for k in ("internal_api", "version", "num_threads", "architecture")}
            for info in threadpool_info()
        ]
    except ImportError:
        env["blas"] = "threadpoolctl is not installed"
    if available_backends()["torch"].available:
        import torch

        env["torch_threads"] = torch.get_num_threads()
        if torch.cuda.is_available():
            env["gpu"] = torch.cuda.get_device_name(0)
            env["torch_allow_tf32"] = bool(torch.backends.cuda.matmul.allow_tf32)
            env["torch_float32_matmul_precision"] = torch.get_float32_matmul_precision()
    if gpu and available_backends()["cupy"].available:
        import cupy

        props = cupy.cuda.runtime.getDeviceProperties(0)
        env["cupy_gpu"] = (
            props["name"].decode() if isinstance(props["name"], bytes) else str(props["name"])
        )
        env["CUPY_TF32"] = os.environ.get("CUPY_TF32", "unset (TF32 off)")
    return env


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def evaluate_targets(report: Report, gpu: bool) -> None:
    """Add one check per target that the measured rows can answer."""
    targets = GPU_TARGETS if gpu else TARGETS
    keyed: dict[tuple[str, str, str, str], Row] = {
        (r.case, r.dtype, r.impl, r.backend): r for r in report.rows
    }
    for case, dtype, what, limit in targets:
        if case == "*":
            continue  # fit and memory checks are added where they are measured
        for dt in [dtype] if dtype else ["float32", "float64"]:
            main = "cupy" if gpu else "numpy"
            mine = keyed.get((case, dt, "mlp_xp", main))
            if mine is None:
                continue
            if what == "mlp_xp / lecture":
                value = mine.x_lecture
            elif what == "mlp_xp / floor":
                value = mine.x_floor
            elif what == "floor / mlp_xp":
                value = 1.0 / mine.x_floor
            else:  # mlp_xp / torch autograd, mlp_xp / torch eager
                other = keyed.get((case, dt, what.split(" / ")[1], "torch"))
                value = paired_ratio(mine.samples, other.samples) if other else math.nan
            if math.isnan(value):
                continue
            ok = value >= -limit if limit < 0 else value <= limit
            report.checks.append(
                {
                    "case": case,
                    "dtype": dt,
                    "what": what,
                    "value": value,
                    "limit": abs(limit),
                    "ok": ok,
                }
            )


def print_report(report: Report) -> None:
    env = report.environment
    print(f"# mlp_xp step benchmark, {env['date']}")
    print(f"# {env['cpu']}, {env['cores']} cores; numpy {env['numpy']}; BLAS {env.get('blas')}")
    if "gpu" in env or "cupy_gpu" in env:
        print(f"# GPU {env.get('gpu') or env.get('cupy_gpu')}")
    header = (
        f"{'case':<6} {'dtype':<8} {'implementation':<15} {'backend':<8} {'device':<7} "
        f"{'ms/step':>9} {'min-max':>17} {'GFLOP/s':>8} {'x floor':>8} {'x lecture':>9}"
    )
    print(header)
    print("-" * len(header))
    for r in report.rows:
        spread = f"{r.ms_min:.3f}-{r.ms_max:.3f}"
        print(
            f"{r.case:<6} {r.dtype:<8} {r.impl:<15} {r.backend:<8} {r.device:<7} "
            f"{r.ms:9.3f} {spread:>17} {r.gflops:8.2f} {_fmt(r.x_floor):>8} "
            f"{_fmt(r.x_lecture):>9} {r.note}"
        )
    for extra in report.extras:
        print(
            "# "
            + ", ".join(f"{k}={_fmt(v) if isinstance(v, float) else v}" for k, v in extra.items())
        )
    if report.checks:
        print("targets:")
        for c in report.checks:
            value = c["value"] if isinstance(c["value"], list) else f"{c['value']:.3f}"
            print(
                f"  {'PASS' if c['ok'] else 'FAIL'}  {c['case']:<6} {c['dtype']:<8} "
                f"{c['what']}: {value} (limit {c['limit']})"
            )


def _fmt(value: float) -> str:
    return (
        "" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.2f}"
    )


def plot(report: Report, path: str) -> None:
    """A bar chart of each row's time relative to its floor."""
    from mlp_xp.plotting import pyplot, save_figure

    plt = pyplot()
    rows = [r for r in report.rows if not math.isnan(r.x_floor) and r.impl != "floor"]
    labels = [f"{r.case} {r.dtype[-2:]}\n{r.impl} ({r.backend})" for r in rows]
    fig, ax = plt.subplots(figsize=(max(8, len(rows) * 0.45), 4.5))
    colors = ["tab:blue" if r.impl == "mlp_xp" else "tab:gray" for r in rows]
    ax.bar(range(len(rows)), [r.x_floor for r in rows], color=colors)
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_yscale("log")
    ax.set_xticks(range(len(rows)), labels, rotation=90, fontsize=7)
    ax.set_ylabel("time per step / matmul floor (log)")
    ax.set_title(
        f"mlp_xp step vs alternatives, {report.environment['date']} "
        f"({report.environment.get('gpu') or report.environment['cpu']})",
        fontsize=9,
    )
    save_figure(fig, path)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="tiny,mnist,wide,deep")
    parser.add_argument("--dtypes", default="float32,float64")
    parser.add_argument(
        "--compare",
        default="torch,sklearn",
        help="comparisons to include: torch, sklearn, array_api_strict",
    )
    parser.add_argument("--rounds", type=int, default=7, help="rounds per case, at least")
    parser.add_argument(
        "--block", type=float, default=0.05, help="seconds each timed block should last at least"
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=8.0,
        help=f"seconds of rounds per case and dtype; more rounds (to {MAX_ROUNDS}) if they fit",
    )
    parser.add_argument("--gpu", action="store_true", help="time CuPy and torch CUDA instead")
    parser.add_argument("--no-fit", action="store_true", help="skip the fit and memory rows")
    parser.add_argument("--json", default=None)
    parser.add_argument("--plot", default=None)
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    cases = [c for c in args.cases.split(",") if c]
    dtypes = [d for d in args.dtypes.split(",") if d]
    for c in cases:
        if c not in CASES:
            parser.error(f"unknown case {c!r}; valid: {', '.join(CASES)}")
    if args.gpu and not (
        available_backends()["cupy"].available
        or any(d.startswith("cuda") for d in available_backends()["torch"].devices)
    ):
        print(
            "benchmarks/step.py: --gpu needs CuPy or PyTorch with a usable CUDA GPU; "
            "none is available here",
            file=sys.stderr,
        )
        return 2
    report = Report(environment(args.gpu))
    for case in cases:
        for dtype in dtypes:
            print(f"... {case} {dtype}", file=sys.stderr, flush=True)
            measure_case(case, dtype, args, report)
            if not args.gpu and not args.no_fit:
                measure_fit(case, dtype, report)
                measure_memory(case, dtype, report)
    evaluate_targets(report, args.gpu)
    print_report(report)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(
                {
                    "environment": report.environment,
                    "rows": [asdict(r) for r in report.rows],
                    "extras": report.extras,
                    "checks": report.checks,
                },
                handle,
                indent=2,
                default=str,
            )
    if args.plot:
        plot(report, args.plot)
    if args.check and not all(c["ok"] for c in report.checks):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
