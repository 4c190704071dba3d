"""The GPU machine's probe, smoke test and one repro per finding, for ci/gpu-check.sh.

    python ci/gpu_repros.py                      # stage 2: one line per finding's repro
    python ci/gpu_repros.py --smoke --out DIR    # stage 1: the GPU stack, one line per part
    python ci/gpu_repros.py --probe              # can CuPy or torch use a CUDA GPU here?

Every check prints one line, ``PASS name: detail``, ``FAIL name: detail`` or
``SKIP name: reason``, flushed as soon as it is known, and a failing or crashing
check never stops the ones after it (tracebacks go to stderr).  ``--time-limit S``
is the time the caller allows the whole run: each check gets at most what is left
of it (and at most ``--check-timeout``), and checks that find none left are
reported as FAIL, so that every check has its line.

The repros use only mlp_xp's public API (``mlp_xp.*``, ``mlp_xp.backend.*``) and
NumPy on the host; the smoke test and the probe call CuPy, torch and JAX directly,
each part of the smoke test in its own interpreter.

Exit status: 0 when no check failed, 1 when one did, 2 for bad usage; ``--probe``
exits 0 when a GPU is usable and 3 when none is.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

from gpu_runner import (
    CHECK_TIMEOUT_S,
    REDUCED_COMPUTE_TYPES,
    Failed,
    Runner,
    Skip,
    _python,
    probe,
    smoke,
)


def _mlp_xp() -> Any:
    """The mlp_xp package, or Failed saying why it does not import."""
    try:
        import mlp_xp
        import mlp_xp.backend
    except Exception as exc:
        msg = f"mlp_xp does not import: {type(exc).__name__}: {exc}"
        raise Failed(msg) from None
    return mlp_xp


def _data() -> tuple[Any, Any]:
    """A small float32 regression problem on the host."""
    import numpy as np

    rng = np.random.default_rng(0)
    X = rng.standard_normal((256, 4)).astype(np.float32)
    y = (X @ np.array([1.0, -2.0, 0.5, 0.0], dtype=np.float32)).astype(np.float32)
    return X, y + np.float32(0.1) * rng.standard_normal(256).astype(np.float32)


def _fit(**where: Any) -> Any:
    mlp = _mlp_xp()
    X, y = _data()
    model = mlp.MLPRegressor((16,), epochs=5, batch_size=64, seed=0, **where)
    return model.fit(X, y)


def _cuda_devices(backend: str) -> list[str]:
    info = _mlp_xp().available_backends()[backend]
    return [d for d in info.devices if d.startswith("cuda")] if info.available else []


def _need_cuda(backend: str) -> list[str]:
    devices = _cuda_devices(backend)
    if not devices:
        info = _mlp_xp().available_backends()[backend]
        raise Failed(f"{backend} has no usable CUDA device here: {info.reason or info.devices}")
    return devices


def _where_params(model: Any) -> set[tuple[str, str]]:
    """The (device, dtype) of every weight and bias of a fitted model."""
    b = _mlp_xp().backend
    return {
        (b.device_name(b.placement_of(a)), b.dtype_name(a.dtype))
        for layer in model.params_
        for a in layer
    }


def repro_cupy_auto(allowed: float) -> str:
    mlp = _mlp_xp()
    info = mlp.available_backends()["cupy"]
    if not info.available:
        raise Failed(f"available_backends()['cupy'] is not available: {info.reason}")
    placement = mlp.resolve("auto")
    if placement.name != "cupy":
        raise Failed(f"resolve('auto') picked {placement.name}, not cupy")
    where = mlp.backend.device_name(placement)
    return f"cupy {info.version} sees {list(info.devices)}; resolve('auto') is cupy {where}"


def repro_torch_save_load(allowed: float) -> str:
    import numpy as np

    mlp = _mlp_xp()
    _need_cuda("torch")
    model = _fit(backend="torch", device="cuda:0")
    X, _ = _data()
    before = np.asarray(mlp.to_host(model.predict(X)))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.npz"
        model.save(str(path))
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            loaded = mlp.load(str(path))
    if (loaded.backend_, loaded.device_) != ("torch", "cuda:0"):
        raise Failed(f"loaded on {loaded.backend_} {loaded.device_}, not torch cuda:0")
    after = np.asarray(mlp.to_host(loaded.predict(X)))
    diff = float(np.max(np.abs(after - before)))
    if not np.allclose(after, before, rtol=1e-5, atol=1e-6):
        raise Failed(f"predictions differ after loading: max abs difference {diff:.3g}")
    return f"saved and loaded on torch cuda:0; predictions agree (max abs difference {diff:.1e})"


def repro_missing_device_warns(allowed: float) -> str:
    import numpy as np

    mlp = _mlp_xp()
    info = mlp.available_backends()["torch"]
    if not info.available:
        raise Failed(f"torch is not available: {info.reason}")
    if "cuda:7" in info.devices:
        raise Skip("this machine has a cuda:7, so a file recorded there is not out of reach")
    model = _fit(backend="torch", device="cuda:0" if _cuda_devices("torch") else "cpu")
    X, _ = _data()
    before = np.asarray(mlp.to_host(model.predict(X)))
    model.device_ = "cuda:7"  # what the file records as the training device
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.npz"
        model.save(str(path))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            loaded = mlp.load(str(path))
    placement = [w for w in caught if issubclass(w.category, mlp.PlacementWarning)]
    others = [w for w in caught if not issubclass(w.category, mlp.PlacementWarning)]
    default = mlp.backend.device_name(mlp.resolve("torch"))
    if len(placement) != 1 or others:
        raise Failed(f"expected one PlacementWarning, got {[str(w.message)[:80] for w in caught]}")
    if (loaded.backend_, loaded.device_) != ("torch", default):
        raise Failed(f"loaded on {loaded.backend_} {loaded.device_}, not torch {default}")
    after = np.asarray(mlp.to_host(loaded.predict(X)))
    if not np.allclose(after, before, rtol=1e-4, atol=1e-5):
        raise Failed("predictions differ after loading on the default device")
    return f"loaded on torch {default} with PlacementWarning: {placement[0].message}"


def repro_device_cuda_picks_cupy(allowed: float) -> str:
    model = _fit(device="cuda")
    if model.backend_ != "cupy":
        raise Failed(f"MLPRegressor(device='cuda') trained on {model.backend_} {model.device_}")
    if not math.isfinite(float(model.loss_)):
        raise Failed(f"the loss is {model.loss_}")
    return f"trained on cupy {model.device_}, loss {float(model.loss_):.3g}"


_REPORT_UNDER_ERROR = """
import json, warnings
warnings.simplefilter("error")
import mlp_xp.backend as b
r = b.environment_report()
print(json.dumps({"gpus": r["gpus"], "reduced_precision": r["reduced_precision"]}))
"""


def repro_environment_report_quiet(allowed: float) -> str:
    mlp = _mlp_xp()
    child = json.loads(_python(_REPORT_UNDER_ERROR, allowed / 2).strip().splitlines()[-1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            mlp.backend.environment_report()
        except Warning as exc:
            raise Failed(f"in this process: {type(exc).__name__}: {exc}") from None
    return f"no warning, fresh interpreter and this one; gpus {child['gpus'] or 'none'}"


_REPORT_TF32 = """
import json
import mlp_xp.backend as b
r = b.environment_report()
print(json.dumps({"reduced_precision": r["reduced_precision"],
                  "compute": r["settings"].get("cupy float32 matmul compute type")}))
"""


def repro_cupy_tf32(allowed: float) -> str:
    mlp = _mlp_xp()
    child = json.loads(
        _python(_REPORT_TF32, allowed / 2, {"CUPY_TF32": "1"}).strip().splitlines()[-1]
    )
    if not any("TF32" in line for line in child["reduced_precision"]):
        raise Failed(f"with CUPY_TF32=1, reduced_precision is {child['reduced_precision']}")
    if os.environ.get("CUPY_TF32", "0") not in ("", "0"):
        raise Skip(f"CUPY_TF32={os.environ['CUPY_TF32']} is set for this run, so TF32 is meant")
    info = mlp.available_backends()["cupy"]
    if not info.available:
        raise Failed(
            "with CUPY_TF32=1 a fresh interpreter lists it, but cupy is not usable here to "
            f"read this process's mode: {info.reason}"
        )
    here = mlp.backend.environment_report()
    compute = here["settings"].get("cupy float32 matmul compute type")
    cupy_lines = [line for line in here["reduced_precision"] if "cupy" in line.lower()]
    if compute in REDUCED_COMPUTE_TYPES or cupy_lines:
        raise Failed(f"this process's cupy float32 matmuls use {compute}: {cupy_lines}")
    return (
        f"CUPY_TF32=1 child lists {child['reduced_precision']} (compute {child['compute']}); "
        f"here the compute type is {compute}"
    )


def repro_cuda1(allowed: float) -> str:
    mlp = _mlp_xp()
    info = mlp.available_backends()["cupy"]
    if not info.available:
        raise Skip(f"cupy is not usable here: {info.reason}")
    if "cuda:1" not in info.devices:
        raise Skip(f"one GPU only ({', '.join(info.devices)}): no cuda:1 to train on")
    model = _fit(backend="cupy", device="cuda:1")
    where = _where_params(model)
    if model.device_ != "cuda:1" or {d for d, _ in where} != {"cuda:1"}:
        raise Failed(f"model.device_ is {model.device_}; its arrays are on {sorted(where)}")
    return "every weight and bias stays on cuda:1"


def _fit_float32(backend: str, device: str | None) -> str:
    import numpy as np

    mlp = _mlp_xp()
    _need_cuda(backend)
    model = _fit(backend=backend, device=device, dtype="float32")
    losses = [float(v) for v in model.history_["loss"]]
    if not (losses and all(math.isfinite(v) for v in losses)):
        raise Failed(f"loss history {losses}")
    where = _where_params(model)
    X, _ = _data()
    out = np.asarray(mlp.to_host(model.predict(X)))
    if model.dtype_ != "float32" or {t for _, t in where} != {"float32"} or out.dtype != "float32":
        raise Failed(f"dtype_ {model.dtype_}, arrays {sorted(where)}, predictions {out.dtype}")
    return (
        f"{model.backend_} {model.device_}: loss {losses[-1]:.3g} after {len(losses)} epochs, "
        "float32 weights and predictions"
    )


def repros(runner: Runner) -> None:
    """Stage 2: one repro per finding of the GPU review."""
    runner.run("a.cupy_available_and_auto", repro_cupy_auto)
    runner.run("b.torch_cuda0_save_load", repro_torch_save_load)
    runner.run("b.load_from_cuda7_warns", repro_missing_device_warns)
    runner.run("c.device_cuda_trains_on_cupy", repro_device_cuda_picks_cupy)
    runner.run("d.environment_report_no_warning", repro_environment_report_quiet)
    runner.run("e.cupy_tf32_mode", repro_cupy_tf32)
    runner.run("f.cupy_cuda1_placement", repro_cuda1)
    runner.run("g.fit_torch_cuda_float32", lambda s: _fit_float32("torch", "cuda"))
    runner.run("g.fit_cupy_float32", lambda s: _fit_float32("cupy", None))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--smoke", action="store_true", help="the smoke test (default: repros)")
    mode.add_argument("--probe", action="store_true", help="only say whether a GPU is usable")
    parser.add_argument("--out", type=Path, default=None, help="--smoke writes JSON here")
    parser.add_argument(
        "--time-limit", type=float, default=None, help="seconds for the whole run (default: none)"
    )
    parser.add_argument(
        "--check-timeout",
        type=float,
        default=CHECK_TIMEOUT_S,
        help="seconds one check may take at most (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    if args.probe:
        return probe()
    runner = Runner(args.time_limit, args.check_timeout)
    if args.smoke:
        smoke(runner, args.out)
    else:
        repros(runner)
    return runner.finish()


if __name__ == "__main__":
    sys.exit(main())
