"""What a shuffled epoch costs beyond its steps, measured apart (NumPy, tiny's fit).

``benchmarks/step.py`` times tiny's ``fit`` epoch shuffled and unshuffled against
its bare steps; this takes the difference apart, on the epoch ``benchmarks/fit.py``
fits (8 batches of the case's rows):

* the gathers: ``X.take(order)`` and ``Y.take(order)``, once per epoch;
* the helper thread's draw: one ``Generator.permuted`` call for a block of epochs
  (:class:`mlp_xp.training.shuffle.EpochOrders` draws up to 32 ahead);
* what that draw costs the training thread while it runs: the step timed in
  rounds alone and with a thread drawing blocks without pause.

    python benchmarks/shuffle_cost.py [--case tiny] [--dtype float32] [--rounds 10]
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
import timeit
from collections.abc import Callable

import numpy as np
from cases import CASES, make_problem, mlp_xp_step

BATCHES = 8
"""Batches per epoch, as benchmarks/fit.py fits."""
BLOCK = 32
"""Epochs drawn per block, as EpochOrders draws them for small data."""


def best_of(fn: Callable[[], object], number: int = 200) -> float:
    """Seconds per call, the best of 5 repeats."""
    return min(timeit.repeat(fn, number=number, repeat=5)) / number


def block_seconds(fn: Callable[[], object], seconds: float = 0.1) -> float:
    """Seconds per call of ``fn``, over a block lasting ``seconds``."""
    start, calls = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        fn()
        calls += 1
    return (time.perf_counter() - start) / calls


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", default="tiny", choices=list(CASES))
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args(argv)
    problem = make_problem(args.case, args.dtype)
    n = problem["n"] * BATCHES
    X = np.concatenate([problem["X"]] * BATCHES)
    Y = np.concatenate([problem["Y"]] * BATCHES)
    rng = np.random.default_rng(0)
    order = rng.permutation(n)
    rows = np.tile(np.arange(n), (BLOCK, 1))
    step = mlp_xp_step(problem, "numpy", None)
    epoch = best_of(step) * BATCHES

    gather = best_of(lambda: X.take(order, axis=0)) + best_of(lambda: Y.take(order, axis=0))
    draw = best_of(lambda: rng.permuted(rows, axis=1, out=rows), number=5)

    stop = threading.Event()

    def draw_blocks() -> None:
        local = np.random.default_rng(1)
        mine = rows.copy()
        while not stop.is_set():
            local.permuted(mine, axis=1, out=mine)

    alone, drawing = [], []
    for _ in range(args.rounds):
        alone.append(block_seconds(step))
        stop.clear()
        helper = threading.Thread(target=draw_blocks)
        helper.start()
        drawing.append(block_seconds(step))
        stop.set()
        helper.join()
    slower = statistics.median(d / a for a, d in zip(alone, drawing, strict=True))
    busy = draw / (BLOCK * epoch)
    print(f"{args.case} {args.dtype}: epoch of {BATCHES} bare steps {epoch * 1e3:.3f} ms")
    print(f"  gathers (X and Y):        {gather * 1e6:.1f} us an epoch ({gather / epoch:.1%})")
    print(f"  helper's draw of {BLOCK} epochs: {draw * 1e3:.2f} ms (busy {busy:.0%} of the time)")
    print(f"  step while it draws:      {slower:.3f}x its time alone (median of {args.rounds})")
    print(f"  together, about:          {gather / epoch + busy * (slower - 1):.1%} of an epoch")


if __name__ == "__main__":
    main()
