"""Peak extra memory of ``fit`` over the size of the data, at three sizes (issue 16).

Run: ``python benchmarks/fit_memory.py [ROWS ...]`` (default 100000 1000000 4000000).
Each size fits ``MLPRegressor((64,), batch_size=1024, epochs=2, dtype="float32",
early_stopping=True)`` (scaling and shuffling on) on X of 64 float32 features that
is already in the training placement, on two backends:

- NumPy: every allocation traced with tracemalloc (NumPy reports its buffers to it).
- torch CPU: X a CPU tensor sharing the NumPy array's memory.  torch has no
  ``torch.cpu.memory_stats`` (checked on 2.13), so its own allocator's events are
  read from ``torch.profiler`` with ``profile_memory=True``: every CPU allocation
  and free, in time order, whose running sum peaks at the figure shown.  The
  host NumPy allocations of the same fit (the shuffle's orders, the losses read
  back) are traced with tracemalloc in a second fit without the profiler (whose
  own Python objects would count), and the ratio adds the two peaks (an upper
  bound: they need not coincide).  Where the profiler reports no
  memory events, the peak resident set size sampled every millisecond during the
  fit is shown instead; the "measured by" column says which.  The profiler keeps
  every event until the fit ends: about 11 GB of host memory at 4,000,000 rows.

The figures in README.md, "How big can the data be", come from this script.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
import time
import tracemalloc
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

import mlp_xp


def _problem(rows: int) -> tuple[np.ndarray, np.ndarray]:
    X = np.random.default_rng(0).normal(size=(rows, 64)).astype(np.float32)
    return X, X[:, :3].sum(axis=1)


def _model(backend: str) -> Any:
    return mlp_xp.MLPRegressor(
        (64,), batch_size=1024, epochs=2, dtype="float32", backend=backend, early_stopping=True
    )


def _fit(model: Any, X: Any, y: Any) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, y)


def numpy_peak(rows: int) -> tuple[float, str]:
    """(peak extra bytes / data bytes, how it was measured) of one fit on NumPy."""
    X, y = _problem(rows)
    model = _model("numpy")
    tracemalloc.start()
    try:
        _fit(model, X, y)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / X.nbytes, "tracemalloc"


def _allocator_peak(prof: Any) -> int | None:
    """The peak of the running sum of the CPU allocations and frees the profiler saw."""
    events = [
        (e.start_ns(), e.nbytes())
        for e in prof.profiler.kineto_results.events()
        if e.name() == "[memory]" and str(e.device_type()).endswith("CPU")
    ]
    if not events:
        return None
    running = peak = 0
    for _, nbytes in sorted(events):
        running += nbytes
        peak = max(peak, running)
    return peak


def _rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096


def _sampled_rss_peak(work: Callable[[], None]) -> int:
    """The peak resident set size while ``work`` runs, above what it was before."""
    before, peak, done = _rss(), [0], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _rss())
            time.sleep(0.001)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        work()
    finally:
        done.set()
        sampler.join()
    return max(peak[0], _rss()) - before


def torch_peak(rows: int) -> tuple[float, str]:
    """(peak extra bytes / data bytes, how it was measured) of one fit on torch CPU."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    X_host, y_host = _problem(rows)
    X, y = torch.from_numpy(X_host), torch.from_numpy(y_host)
    _fit(_model("torch"), X[:2048], y[:2048])  # torch's first-use allocations, not counted
    # Two fits: the profiler's own Python objects would swell tracemalloc's peak.
    tracemalloc.start()
    try:
        _fit(_model("torch"), X, y)
        _, host_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        _fit(_model("torch"), X, y)
    try:
        torch_bytes = _allocator_peak(prof)
    except (AttributeError, RuntimeError):  # a torch whose profiler keeps them elsewhere
        torch_bytes = None
    if torch_bytes is not None:
        how = "torch.profiler allocator events + tracemalloc (NumPy on the host)"
        return (torch_bytes + host_peak) / X_host.nbytes, how
    peak = _sampled_rss_peak(lambda: _fit(_model("torch"), X, y))
    return peak / X_host.nbytes, "resident set size, sampled every 1 ms"


def main(argv: list[str]) -> int:
    sizes = [int(a) for a in argv] or [100_000, 1_000_000, 4_000_000]
    cases: list[tuple[str, Callable[[int], tuple[float, str]]]] = [("NumPy", numpy_peak)]
    if importlib.util.find_spec("torch") is not None:
        cases.append(("torch CPU", torch_peak))
    else:
        print("torch CPU: SKIP (torch is not installed)")
    print("| backend | rows | data | peak extra / data | measured by |")
    print("|---|---|---|---|---|")
    for rows in sizes:
        mib = rows * 64 * 4 / 2**20
        for name, measure in cases:
            ratio, how = measure(rows)
            print(f"| {name} | {rows:,} | {mib:,.0f} MiB | {ratio:.2f} | {how} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
