"""Peak extra device memory of ``fit`` on CuPy and torch CUDA, over the data's size (issue 16).

Run: ``python ci/gpu_memory.py [--rows N] [--time-limit S]`` (default 1,000,000 rows).
Each case fits ``MLPRegressor((64,), batch_size=1024, epochs=1, dtype="float32",
early_stopping=True)`` (scaling and shuffling on) on X of 64 float32 features and
reads the library's own memory statistics:

- CuPy: the default memory pool.  A ``cupy.cuda.MemoryHook`` sums every block the
  pool hands out and takes back, so the peak of bytes in use is exact; the pool's
  ``total_bytes()`` after the fit (it keeps what it reserved) is shown beside it.
- torch CUDA: ``torch.cuda.reset_peak_memory_stats`` and ``max_memory_allocated``.

Two inputs each: X already on the device (``device``: the peak beyond X), and X as
host NumPy (``numpy``: the peak beyond the one device copy that moving it needs).
The target is a peak extra of at most 1.0 times the data.  One line per case:
``PASS``/``FAIL``/``SKIP NAME: ...``; a library that is missing or sees no CUDA
device is a SKIP with the reason.  Exit status: 0 every case measured passed, 1 a
case failed, 3 nothing could be measured (no usable GPU library), 124 the time
limit left a case unmeasured and none failed.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # mlp_xp from this tree

TARGET = 1.0
FEATURES = 64


class Skip(Exception):
    """A case that cannot run here, and why."""


def _problem(rows: int) -> tuple[np.ndarray, np.ndarray]:
    X = np.random.default_rng(0).normal(size=(rows, FEATURES)).astype(np.float32)
    return X, X[:, :3].sum(axis=1)


def _fit(backend: str, device: str | None, X: Any, y: Any) -> None:
    import mlp_xp

    model = mlp_xp.MLPRegressor(
        (64,),
        batch_size=1024,
        epochs=1,
        dtype="float32",
        early_stopping=True,
        backend=backend,
        device=device,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, y)


def _library(name: str) -> Any:
    """The module, or a Skip saying why it cannot be used on a CUDA GPU."""
    try:
        module = importlib.import_module(name)
    except Exception as exc:  # ImportError, or a broken CUDA install raising on import
        raise Skip(f"{name} does not import ({type(exc).__name__}: {exc})") from None
    try:
        if name == "cupy":
            count = module.cuda.runtime.getDeviceCount()
        else:
            count = module.cuda.device_count() if module.cuda.is_available() else 0
    except Exception as exc:
        raise Skip(f"{name} sees no CUDA device ({type(exc).__name__}: {exc})") from None
    if count < 1:
        raise Skip(f"{name} sees no CUDA device")
    return module


def _cupy_peak(X_host: np.ndarray, y_host: np.ndarray, on_device: bool) -> tuple[int, str]:
    """(peak bytes in use beyond what was in use before the fit, a note), on CuPy."""
    cupy = _library("cupy")
    pool = cupy.get_default_memory_pool()
    X, y = (cupy.asarray(X_host), cupy.asarray(y_host)) if on_device else (X_host, y_host)
    _fit("cupy", None, X[:2048], y[:2048])  # kernels compiled, first-use blocks, not counted
    pool.free_all_blocks()
    before_total = pool.total_bytes()

    class Peak(cupy.cuda.MemoryHook):  # type: ignore[misc]
        name = "PeakHook"

        def __init__(self) -> None:
            self.running = self.peak = 0

        def malloc_postprocess(self, **kw: Any) -> None:
            self.running += kw["mem_size"]
            self.peak = max(self.peak, self.running)

        def free_postprocess(self, **kw: Any) -> None:
            self.running -= kw["mem_size"]

    hook = Peak()
    with hook:
        _fit("cupy", None, X, y)
    reserved = pool.total_bytes() - before_total
    return hook.peak, f"pool reserved {reserved / 2**20:,.0f} MiB more"


def _torch_peak(X_host: np.ndarray, y_host: np.ndarray, on_device: bool) -> tuple[int, str]:
    """(peak bytes allocated beyond what was allocated before the fit, a note), on torch."""
    torch = _library("torch")
    if on_device:
        X, y = torch.from_numpy(X_host).cuda(), torch.from_numpy(y_host).cuda()
    else:
        X, y = X_host, y_host
    _fit("torch", "cuda", X[:2048], y[:2048])  # first-use allocations, not counted
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    before = torch.cuda.memory_allocated()
    _fit("torch", "cuda", X, y)
    torch.cuda.synchronize()
    peak = torch.cuda.max_memory_allocated() - before
    return peak, f"reserved {torch.cuda.max_memory_reserved() / 2**20:,.0f} MiB at most"


CASES: dict[str, tuple[Callable[[np.ndarray, np.ndarray, bool], tuple[int, str]], bool]] = {
    "cupy.device": (_cupy_peak, True),
    "cupy.numpy": (_cupy_peak, False),
    "torch_cuda.device": (_torch_peak, True),
    "torch_cuda.numpy": (_torch_peak, False),
}


def _case(name: str, rows: int) -> tuple[str, str]:
    """(verdict, the line's text) of one case."""
    measure, on_device = CASES[name]
    try:
        _library("cupy" if name.startswith("cupy") else "torch")  # before making the data
        X, y = _problem(rows)
        peak, note = measure(X, y, on_device)
    except Skip as why:
        return "SKIP", str(why)
    data = X.nbytes
    # Host X is moved once: that copy is the data on the device, not an extra.
    extra = peak if on_device else peak - data
    ratio = extra / data
    verdict = "PASS" if ratio <= TARGET else "FAIL"
    text = (
        f"peak extra {extra / 2**20:,.0f} MiB = {ratio:.2f} x the data "
        f"({data / 2**20:,.0f} MiB, {rows:,} x {FEATURES} float32; target <= {TARGET}); {note}"
    )
    return verdict, text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of X (default 1e6)")
    parser.add_argument(
        "--time-limit", type=float, default=None, help="seconds for all cases (default: none)"
    )
    args = parser.parse_args(argv)
    start = time.monotonic()
    verdicts = []
    for name in CASES:
        left = None if args.time_limit is None else args.time_limit - (time.monotonic() - start)
        if left is not None and left < 5:
            verdicts.append("TIME")
            print(f"SKIP {name}: the time limit was used up", flush=True)
            continue
        try:
            verdict, text = _case(name, args.rows)
        except Exception as exc:  # a case that breaks is a failure, and the others still run
            verdict, text = "FAIL", f"{type(exc).__name__}: {exc}"
        verdicts.append(verdict)
        print(f"{verdict} {name}: {text}", flush=True)
    if "FAIL" in verdicts:
        return 1
    if "TIME" in verdicts:
        return 124
    if "PASS" not in verdicts:
        print("# nothing measured: neither CuPy nor torch can use a CUDA GPU here")
        return 3
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
