"""The facts about this machine that change the numbers a backend computes (backend layer).

Each adapter reports its own library's versions, flags and GPUs; this module
adds what no single library owns: Python, the platform, NumPy's BLAS, and the
CUDA environment variables that override every library at once.
"""

from __future__ import annotations

import os
import platform
from typing import Any

from .adapter import Numerics
from .numpy import blas
from .registry import adapters

# Environment variables that change what a float32 matmul computes in every CUDA library.
_CUDA_ENV_VARS: tuple[str, ...] = (
    "NVIDIA_TF32_OVERRIDE",  # 0 switches TF32 off in every CUDA library, whatever they ask
    "CUBLAS_WORKSPACE_CONFIG",  # needed for deterministic cuBLAS results with streams
)


def environment_report() -> dict[str, Any]:
    """The facts about this machine that change the numbers a backend computes.

    Returns
    -------
    dict
        ``python`` and ``platform``; ``versions`` of NumPy, array-api-compat and
        every backend (None when not installed), plus the CUDA versions in use;
        ``blas``, NumPy's BLAS library; ``gpus``, the GPU names each GPU backend
        sees; ``settings``, each float32 matmul setting of PyTorch and CuPy;
        ``env``, the environment variables that override them; and
        ``reduced_precision``, a list of the settings that make float32 matmuls
        less precise than IEEE float32 (TF32, FP16 or BF16), empty when none is on.
    """
    versions: dict[str, str | None] = {}
    gpus: dict[str, list[str]] = {}
    settings: dict[str, object] = {}
    found: list[tuple[Any, Numerics]] = []
    names = list(_CUDA_ENV_VARS)
    for adapter in adapters():
        info = adapter.info()
        versions[adapter.name] = info.version if info.installed else None
        names.extend(adapter.numerics_env)
        # An environment variable counts even where its library is missing.
        numerics = adapter.numerics() if info.installed else Numerics()
        versions.update(numerics.versions)
        settings.update(numerics.settings)
        if numerics.gpus:
            gpus[adapter.name] = numerics.gpus
        found.append((adapter, numerics))
    env = {name: os.environ[name] for name in names if name in os.environ}
    reduced = [
        line for adapter, numerics in found for line in adapter.reduced_precision(numerics, env)
    ]
    if env.get("NVIDIA_TF32_OVERRIDE") == "0" and reduced:
        reduced.append("(but NVIDIA_TF32_OVERRIDE=0 switches TF32 off in the CUDA libraries)")
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": versions,
        "blas": blas(),
        "gpus": gpus,
        "settings": settings,
        "env": env,
        "reduced_precision": reduced,
    }
