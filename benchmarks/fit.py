"""A fit epoch against the sum of its steps: the training loop's own overhead."""

from __future__ import annotations

import itertools
import statistics
import time
from typing import Any

import numpy as np
from cases import CPU, LEARNING_RATE, flops_per_step, make_problem
from report import Report
from timing import paired_ratio, timeit_once

import mlp_xp
from mlp_xp.nn.layers import Layer
from mlp_xp.nn.optimizers import sgd
from mlp_xp.nn.plan import make_plan
from mlp_xp.training import train_step

FIT_SECONDS = 0.3
"""About how long each timed fit lasts (at least 3 epochs)."""


BATCHES = 8
"""Batches per fit epoch, each of the case's rows."""


def fit_data(case: str, dtype: str) -> tuple[dict[str, Any], np.ndarray, np.ndarray]:
    """The case's problem and the data its fit trains on: ``BATCHES`` noisy copies of its rows."""
    problem = make_problem(case, dtype)
    rng = np.random.default_rng(1)
    rows = problem["n"] * BATCHES
    X = np.concatenate([problem["X"]] * BATCHES) + rng.normal(size=(rows, 1)).astype(dtype)
    Y = np.concatenate([problem["Y"]] * BATCHES)
    return problem, X, Y


def measure_fit(case: str, dtype: str, report: Report) -> None:
    """A fit epoch against the sum of its steps: the loop's own overhead.

    The epoch is timed between the ends of consecutive epochs (fit's per-epoch
    callback), so fit's one-time setup is not counted; what is counted is the
    loop: drawing the shuffle (ahead, on fit's helper thread), gathering the
    shuffled rows, slicing batches, collecting the losses, and the one
    read-back of the epoch.
    """
    problem, X, Y = fit_data(case, dtype)
    n, batches = problem["n"], BATCHES
    quick = flops_per_step(problem["sizes"], n) < 1e9
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
        model.fit(X, Y, callbacks=[lambda _epoch, info: stamps.append(time.perf_counter())])
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
