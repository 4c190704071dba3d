"""The machine a run measured on: the library's environment report plus the CPU's facts."""

from __future__ import annotations

import os
import platform
import time
from typing import Any

import mlp_xp
from mlp_xp.backend import available_backends, environment_report


def environment() -> dict[str, Any]:
    """``mlp_xp.backend.environment_report()``, plus what only a timing needs.

    The library's report holds the versions, NumPy's BLAS (``blas``), the GPUs,
    and every float32 matmul setting of PyTorch and CuPy (TF32, matmul precision,
    torch's thread count), each read guarded.  Added here: the date, the CPU and
    its cores, ``OMP_WAIT_POLICY``, BLAS's thread pools (``threadpools``, from
    threadpoolctl), and the shorthands the table prints (``numpy``, ``gpu``).
    """
    env = environment_report()
    gpus = [name for names in env["gpus"].values() for name in names]
    env.update(
        {
            "date": time.strftime("%Y-%m-%d"),
            "machine": platform.machine(),
            "cpu": _cpu_model(),
            "cores": os.cpu_count(),
            "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY"),
            "numpy": env["versions"].get("numpy"),
            "mlp_xp": mlp_xp.__version__,
            "backends": {k: v.version for k, v in available_backends().items() if v.available},
            "threadpools": _threadpools(),
        }
    )
    if gpus:
        env["gpu"] = gpus[0]
    return env


def _threadpools() -> list[dict[str, Any]] | str:
    """Each BLAS and OpenMP thread pool loaded in this process, with its thread count."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "threadpoolctl is not installed"
    return [
        {k: info.get(k) for k in ("internal_api", "version", "num_threads", "architecture")}
        for info in threadpool_info()
    ]


def _cpu_model() -> str:
    """The CPU's model name, from /proc/cpuinfo where there is one."""
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"
