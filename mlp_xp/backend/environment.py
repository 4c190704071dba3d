"""The facts about this machine that change the numbers a backend computes (backend layer).

Each adapter reports its own library's versions, flags and GPUs; this module
adds what no single library owns: Python, the platform, NumPy's BLAS, and the
CUDA environment variables that override every library at once.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Sequence
from typing import Any

from .adapter import Adapter
from .numpy import blas
from .registry import HOST_BACKEND, adapter, adapters

# Environment variables that change what a float32 matmul computes in every CUDA library.
_CUDA_ENV_VARS: tuple[str, ...] = (
    "NVIDIA_TF32_OVERRIDE",  # 0 switches TF32 off in every CUDA library, whatever they ask
    "CUBLAS_WORKSPACE_CONFIG",  # needed for deterministic cuBLAS results with streams
)


def environment_report(backends: Sequence[str] | None = None) -> dict[str, Any]:
    """The facts about this machine that change the numbers a backend computes.

    Parameters
    ----------
    backends : sequence of str, optional
        Describe only these backends (and NumPy, the host, always): their
        versions, settings, GPUs and environment variables.  A fit records the
        report of its own backend this way, without importing the others.  None
        describes every backend mlp_xp knows.

    Returns
    -------
    dict
        ``python`` and ``platform``; ``versions`` of NumPy, array-api-compat and
        every backend described (None when not installed), plus the CUDA versions in use;
        ``blas``, NumPy's BLAS library; ``gpus``, the GPU names each GPU backend
        sees; ``settings``, each float32 matmul setting of PyTorch and CuPy;
        ``env``, the environment variables that override them; and
        ``reduced_precision``, a list of the settings that make float32 matmuls
        less precise than IEEE float32 (TF32, FP16 or BF16), empty when none is on.
    """
    versions: dict[str, str | None] = {}
    gpus: dict[str, list[str]] = {}
    settings: dict[str, object] = {}
    names = list(_CUDA_ENV_VARS)
    reduced: list[str] = []
    for chosen in _described(backends):
        info = chosen.info()
        versions[chosen.name] = info.version if info.installed else None
        # An environment variable counts even where its library is missing.
        numerics = chosen.numerics()
        names.extend(numerics.env)
        versions.update(numerics.versions)
        settings.update(numerics.settings)
        if numerics.gpus:
            gpus[chosen.name] = numerics.gpus
        reduced.extend(numerics.reduced)
    env = {name: os.environ[name] for name in names if name in os.environ}
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


def _described(backends: Sequence[str] | None) -> list[Adapter]:
    """The adapters a report describes: every one, or the host's and those named, once each."""
    if backends is None:
        return adapters()
    listed = [backends] if isinstance(backends, str) else list(backends)
    names = dict.fromkeys([HOST_BACKEND, *listed])
    return [adapter(name) for name in names]
