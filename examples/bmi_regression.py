"""The lecture's example: BMI from (height, weight) with 8 ReLU hidden units.

Written with the low-level API: init_params, gradients, an optimizer and
apply_updates, in a mini-batch loop.  Runs on any backend:

    python examples/bmi_regression.py --backend auto
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import mlp_xp
from mlp_xp._backend import from_host, resolve, to_host
from mlp_xp.datasets import make_bmi


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="auto")
    parser.add_argument("--device", default=None)
    parser.add_argument("--dtype", default="float32", choices=("float32", "float64"))
    parser.add_argument("--epochs", type=int, default=200)
    args = parser.parse_args()

    X, y = make_bmi(5000, seed=0)
    n_train = 4000
    # Standardise with the training statistics, on the host.
    mu, sd = X[:n_train].mean(0), X[:n_train].std(0)
    y_mu, y_sd = y[:n_train].mean(), y[:n_train].std()
    Xs, ys = (X - mu) / sd, ((y - y_mu) / y_sd)[:, None]

    where = resolve(args.backend, args.device)
    X_dev = from_host(Xs, where, args.dtype)
    y_dev = from_host(ys, where, args.dtype)
    params = mlp_xp.init_params(
        (2, 8, 1), seed=0, dtype=args.dtype, backend=where.name, device=args.device
    )
    optimizer = mlp_xp.adam(0.01)
    state = optimizer.init(params)
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    for _ in range(args.epochs):
        order = rng.permutation(n_train)
        for i in range(0, n_train, 64):
            rows = where.xp.asarray(order[i : i + 64], device=where.device)
            grads = mlp_xp.gradients(
                params, where.xp.take(X_dev, rows, axis=0), where.xp.take(y_dev, rows, axis=0)
            )
            updates, state = optimizer.update(grads, state, params)
            params = mlp_xp.apply_updates(params, updates)
    seconds = time.perf_counter() - start
    pred = to_host(mlp_xp.forward(params, X_dev[n_train:, ...])) * y_sd + y_mu
    resid = pred[:, 0] - y[n_train:]
    r2 = 1 - np.sum(resid**2) / np.sum((y[n_train:] - y[n_train:].mean()) ** 2)
    print(
        f"backend={where.name} device={where.device} dtype={args.dtype} "
        f"held-out R2={r2:.5f} time={seconds:.2f}s"
    )


if __name__ == "__main__":
    main()
