"""Interleaved timing of several contenders, and the ratio of two rows timed side by side."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from mlp_xp.backend import synchronize

MAX_ROUNDS = 25


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


def timeit_once(fn: Callable[[], Any]) -> float:
    """Seconds one call of ``fn`` takes."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start
