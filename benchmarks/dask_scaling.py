"""Samples per second on dask with 1 and 2 workers, against in-memory NumPy.

    python benchmarks/dask_scaling.py --json dask_scaling.json

Two cases, each trained with the same estimator and the same batch-order
shuffling on every configuration:

* large: n rows x 64 float32 features (default 2,000,000: 512 MB), a 64-64-1
  ReLU network, batches of 100,000 rows.  Throughput is measured over the
  epochs after the first, from the estimator's per-epoch callback, so that
  sending the data to the workers and the one-off passes (finiteness check,
  scaling statistics) are left out.
* tiny: 4096 rows x 2 features, a 2-8-1 network, batches of 512 rows.  The
  compute is microseconds, so the time per step is the per-step overhead of
  the configuration: graph building, scheduling and the parameter round trip.

Configurations: NumPy in this process (BLAS on one thread); dask on its local
threaded scheduler; dask on a LocalCluster of 1 and of 2 worker processes
(one thread each) on 127.0.0.1.  Workers and the client share this machine's
cores: on a 2-core machine, 2 workers cannot show a real speed-up.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import time
import timeit
from typing import Any

import numpy as np

import mlp_xp
from mlp_xp.backend import materialize, resolve
from mlp_xp.cluster.client import dask_client


def _data(n: int, d: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d), dtype=np.float32)
    w = rng.standard_normal(d, dtype=np.float32) / np.float32(np.sqrt(d))
    y = np.tanh(X @ w) + np.float32(0.01) * rng.standard_normal(n, dtype=np.float32)
    return X, y


def _run(
    backend: str, X: np.ndarray, y: np.ndarray, hidden: tuple[int, ...], batch: int, epochs: int
) -> dict[str, float]:
    """Train; return samples/s and seconds per step over the epochs after the first."""
    stamps: list[float] = []
    model = mlp_xp.MLPRegressor(
        hidden,
        batch_size=batch,
        epochs=epochs,
        learning_rate=1e-3,
        tol=0.0,
        dtype="float32",
        shuffle="batches",
        backend=backend,
    )
    start = time.perf_counter()
    model.fit(X, y, callbacks=[lambda _epoch, info: stamps.append(time.perf_counter())])
    total = time.perf_counter() - start
    steady = stamps[-1] - stamps[0]
    rows = len(X) * (epochs - 1)
    steps = -(-len(X) // batch) * (epochs - 1)
    return {
        "samples_per_s": rows / steady,
        "s_per_step": steady / steps,
        "first_epoch_s": stamps[0] - start,
        "total_s": total,
        "final_loss": float(model.loss_),
    }


def _configurations(workers: list[int]) -> list[tuple[str, str, Any]]:
    configs: list[tuple[str, str, Any]] = [
        ("numpy", "numpy", contextlib.nullcontext),
        ("dask threads", "dask", contextlib.nullcontext),
    ]
    for n in workers:
        configs.append(
            (
                f"dask {n} worker{'s' if n > 1 else ''}",
                "dask",
                lambda n=n: dask_client("local", workers=n),
            )
        )
    return configs


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000, help="rows of the large case")
    parser.add_argument("--batch", type=int, default=100_000, help="batch of the large case")
    parser.add_argument("--epochs", type=int, default=3, help="epochs of the large case (>= 2)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--json", default=None, metavar="FILE", help="write the results here")
    args = parser.parse_args(argv)

    X, y = _data(args.rows, 64)
    Xs, ys = _data(4096, 2, seed=1)
    results: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "dask": __import__("dask").__version__,
        },
        "large": {"rows": args.rows, "features": 64, "network": "64-64-1", "batch": args.batch},
        "tiny": {"rows": 4096, "features": 2, "network": "2-8-1", "batch": 512},
        "runs": {},
    }
    for name, backend, cluster in _configurations(args.workers):
        with cluster():
            large = _run(backend, X, y, (64,), args.batch, args.epochs)
            tiny = _run(backend, Xs, ys, (8,), 512, 4)
        results["runs"][name] = {"large": large, "tiny": tiny}
        print(
            f"{name:<15} large: {large['samples_per_s']:>12,.0f} samples/s "
            f"({large['s_per_step'] * 1e3:7.1f} ms/step)   "
            f"tiny: {tiny['s_per_step'] * 1e3:7.2f} ms/step",
            flush=True,
        )
    numpy_step = results["runs"]["numpy"]["large"]["s_per_step"]
    for run in results["runs"].values():
        run["overhead_s_per_step"] = run["tiny"]["s_per_step"]
        run["large"]["vs_numpy"] = (
            run["large"]["samples_per_s"] / (results["runs"]["numpy"]["large"]["samples_per_s"])
        )
        run["large"]["extra_s_per_step"] = run["large"]["s_per_step"] - numpy_step
    # What the per-step hook costs where it does nothing.
    placement = resolve("numpy")
    tree = (mlp_xp.init_params((64, 64, 1), dtype="float32"), (0, (), ()), np.float32(0))
    calls = 100_000
    hook = timeit.timeit(lambda: materialize(placement, tree), number=calls) / calls
    results["materialize_on_numpy_s"] = hook
    print(f"materialize on numpy: {hook * 1e9:.0f} ns per call (two calls per step)")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=2)
    return results


if __name__ == "__main__":
    main()
