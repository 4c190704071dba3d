"""What the training loop itself costs an epoch, and how long a shuffled fit's first epochs take.

``benchmarks/step.py`` compares a fit epoch with its bare steps, a ratio that the
shared machine's slow spells move by 10% and more.  This measures the loop apart,
on the data ``benchmarks/fit.py`` fits (8 batches of the case's rows, NumPy):

* the loop alone: the training ``Driver`` and ``MLPRegressor.fit`` (unshuffled) with the
  step replaced by one that returns at once, so what is timed is the slicing, the
  loss bookkeeping, the read-back, the record and the callbacks: the median
  epoch (between consecutive ends) of each fit, the best of ``--repeats`` fits;
* the first epochs of short shuffled fits with the real step, against the fit's
  median epoch: the shuffle's helper thread draws the coming epochs' orders in
  blocks, and an epoch whose block is not drawn yet waits for it.

    python benchmarks/loop_cost.py [--case tiny] [--dtype float32] [--repeats 5] [--first-epochs]

``--first-epochs`` runs the second part alone, which also runs against older
versions of mlp_xp (whose loop did not call ``train_step`` from ``training.strategies``).
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from cases import CASES, CPU, LEARNING_RATE
from fit import fit_data

import mlp_xp
import mlp_xp.training.strategies as loop
from mlp_xp.nn.layers import Layer
from mlp_xp.nn.optimizers import sgd
from mlp_xp.nn.plan import make_plan
from mlp_xp.training import Batches, Data, Driver, Epoch, Observer, Run, start_position


class Stamps(Observer):
    """The time at each epoch's end, as fit's callback takes it."""

    def __init__(self, stamps: list[float]) -> None:
        self.stamps = stamps

    def on_epoch_end(self, run: Run, epoch: Epoch) -> bool:
        self.stamps.append(time.perf_counter())
        return False


def epoch_times(stamps: list[float]) -> list[float]:
    """Seconds between consecutive stamps."""
    return [b - a for a, b in itertools.pairwise(stamps)]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", default="tiny", choices=list(CASES))
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=5000, help="epochs of a no-op fit")
    parser.add_argument(
        "--first-epochs", action="store_true", help="time only the shuffled fits' first epochs"
    )
    args = parser.parse_args(argv)
    problem, X, Y = fit_data(args.case, args.dtype)
    n = problem["n"]
    params = tuple(Layer(W, b) for W, b in problem["params"])
    plan, opt = make_plan("relu", "squared_error"), sgd(LEARNING_RATE)
    warnings.simplefilter("ignore")  # fit's ConvergenceWarning: tol=0 never converges

    def model(epochs: int, shuffle: bool) -> mlp_xp.MLPRegressor:
        return mlp_xp.MLPRegressor(
            problem["sizes"][1:-1], optimizer="sgd", learning_rate=LEARNING_RATE,
            batch_size=n, epochs=epochs, alpha=0.0, tol=0.0, patience=10**6,
            scale=False, dtype=args.dtype, backend="numpy", shuffle=shuffle,
        )  # fmt: skip

    def fit_stamps(epochs: int, shuffle: bool) -> list[float]:
        stamps: list[float] = []
        model(epochs, shuffle).fit(
            X, Y, callbacks=[lambda _e, _i: stamps.append(time.perf_counter())]
        )
        return stamps

    def loop_stamps() -> list[float]:
        stamps = [time.perf_counter()]
        position = start_position(np.random.default_rng(0))
        driver = Driver(
            CPU, Data(X, Y), plan=plan, alpha=0.0, batches=Batches(n, None, position),
            optimizer=opt, observers=[Stamps(stamps)],
        )  # fmt: skip
        driver.run(params, opt.init(params), args.epochs)
        return stamps

    loss = np.asarray(np.zeros((), dtype=args.dtype))

    def no_op(*step: Any, **_: Any) -> tuple[Any, Any, Any]:
        return step[1], step[2], loss  # the params and state, unchanged

    def best_median(stamps: Callable[[], list[float]]) -> float:
        return min(statistics.median(epoch_times(stamps())) for _ in range(args.repeats))

    if not args.first_epochs:
        real, loop.train_step = loop.train_step, no_op
        try:
            alone = best_median(loop_stamps)
            fitted = best_median(lambda: fit_stamps(args.epochs, False))
        finally:
            loop.train_step = real
        print(f"{args.case} {args.dtype}, {n} rows x 8 batches, the step a no-op:")
        print(f"  the driver: {alone * 1e6:.1f} us an epoch (median, best of {args.repeats})")
        print(f"  fit:        {fitted * 1e6:.1f} us an epoch")

    firsts = [epoch_times(fit_stamps(200, True)) for _ in range(args.repeats)]
    print("shuffled fits of 200 epochs, the real step, ms per epoch (one fit a line):")
    for times in firsts:
        head = " ".join(f"{t * 1e3:.2f}" for t in times[:4])
        print(f"  epochs 2-5: {head}; median {statistics.median(times) * 1e3:.2f}")


if __name__ == "__main__":
    main()
