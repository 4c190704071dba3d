"""The GPU machine's check runner, its probe and its smoke test, for ci/gpu-check.sh.

Every check prints one line, ``PASS name: detail``, ``FAIL name: detail`` or
``SKIP name: reason``, flushed as soon as it is known, and a failing or crashing
check never stops the ones after it (tracebacks go to stderr).  The probe and
the smoke test call CuPy, torch and JAX directly, each part of the smoke test in
its own interpreter.  The repros, which use only mlp_xp's public API, are in
``gpu_repros.py``, which is also the entry point.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import traceback
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

CHECK_TIMEOUT_S = 25.0
"""The most one check may take, unless --check-timeout says otherwise."""

REDUCED_COMPUTE_TYPES = ("TF32", "FP16", "BF16")


class Skip(Exception):
    """The check does not apply here; the message says why."""


class Failed(Exception):
    """The check ran and found a fault; the message says what."""


class OutOfTime(Exception):
    """The check's share of the time limit ran out."""


# --------------------------------------------------------------------------- the runner


class Runner:
    """Runs named checks one after another and prints one line for each."""

    def __init__(self, time_limit: float | None, check_timeout: float) -> None:
        self.deadline = None if time_limit is None else time.monotonic() + time_limit
        self.check_timeout = check_timeout
        self.counts = {"PASS": 0, "FAIL": 0, "SKIP": 0}

    def left(self) -> float:
        """Seconds left for the next check."""
        if self.deadline is None:
            return self.check_timeout
        return min(self.check_timeout, self.deadline - time.monotonic() - 0.5)

    def report(self, verdict: str, name: str, detail: str) -> None:
        self.counts[verdict] += 1
        text = " ".join(str(detail).split())
        print(f"{verdict} {name}: {text[:400]}", flush=True)

    def run(self, name: str, check: Callable[[float], str]) -> None:
        """Run ``check(seconds allowed)``; print its line whatever it does."""
        allowed = self.left()
        if allowed < 1:
            self.report("FAIL", name, "not run: the time limit of this run was used up")
            return
        started = time.monotonic()
        try:
            with _alarm(allowed), warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                detail = check(allowed)
        except Skip as exc:
            self.report("SKIP", name, str(exc))
        except Failed as exc:
            self.report("FAIL", name, str(exc))
        except OutOfTime:
            self.report("FAIL", name, f"timed out after {allowed:.0f} s")
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt):
                raise
            print(f"--- {name} raised:", file=sys.stderr)
            traceback.print_exc()
            self.report("FAIL", name, f"{type(exc).__name__}: {exc}")
        else:
            if caught:
                shown = "; ".join(f"{w.category.__name__}: {w.message}" for w in caught[:3])
                detail = f"{detail} [warned: {shown}]"
            self.report("PASS", name, f"{detail} ({time.monotonic() - started:.1f} s)")

    def finish(self) -> int:
        c = self.counts
        print(
            f"# {sum(c.values())} checks: {c['PASS']} passed, {c['FAIL']} failed, "
            f"{c['SKIP']} skipped",
            flush=True,
        )
        return 1 if c["FAIL"] else 0


@contextlib.contextmanager
def _alarm(seconds: float) -> Iterator[None]:
    """Raise OutOfTime in this (main) thread after ``seconds``, where signals exist.

    A call stuck inside a library's C code is only interrupted once it returns;
    the caller's outer timeout covers that case.
    """
    if not hasattr(signal, "setitimer"):
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise OutOfTime

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, max(seconds, 0.1))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _python(code: str, timeout: float, env: dict[str, str] | None = None, *flags: str) -> str:
    """Run ``code`` in a fresh interpreter; its stdout, or Failed with its last error line."""
    merged = {**os.environ, **(env or {})}
    try:
        done = subprocess.run(
            [sys.executable, *flags, "-c", code],
            capture_output=True,
            text=True,
            timeout=max(timeout, 0.5),
            env=merged,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired:
        msg = f"a fresh interpreter did not finish within {timeout:.0f} s"
        raise Failed(msg) from None
    if done.stderr:
        sys.stderr.write(done.stderr)
    if done.returncode != 0:
        lines = [ln for ln in done.stderr.strip().splitlines() if ln.strip()]
        raise Failed(lines[-1] if lines else f"exit {done.returncode} with no message")
    return done.stdout


# --------------------------------------------------------------------------- probe


def probe() -> int:
    """Print what CuPy and torch can do with a CUDA GPU here; 0 when one can, 3 when none."""
    usable = []
    if importlib.util.find_spec("cupy") is None:
        print("cupy: not installed", flush=True)
    else:
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                import cupy

                ok = bool(cupy.is_available())
                if ok:
                    a = cupy.arange(6, dtype=cupy.float32).reshape(2, 3)
                    value = float(((a * 2.0 + 1.0) @ a.T).get()[0, 0])
                    if value != 11.0:
                        ok = False
                        print(f"cupy: a test matmul gave {value}, not 11", flush=True)
            warned = "; ".join(f"{w.category.__name__}: {w.message}" for w in caught[:2])
            count = int(cupy.cuda.runtime.getDeviceCount()) if ok else 0
            print(
                f"cupy {cupy.__version__}: usable={ok}, {count} device(s)"
                + (f"; warned: {warned}" if warned else ""),
                flush=True,
            )
            if ok:
                usable.append("cupy")
        except Exception as exc:
            print(f"cupy: not usable: {type(exc).__name__}: {exc}", flush=True)
    if importlib.util.find_spec("torch") is None:
        print("torch: not installed", flush=True)
    else:
        try:
            import torch

            ok = bool(torch.cuda.is_available())
            if ok:
                ones = torch.ones(2, 2, device="cuda")
                value = float((ones @ ones)[0, 0])
                ok = value == 2.0
            count = torch.cuda.device_count() if ok else 0
            print(
                f"torch {torch.__version__} (CUDA {torch.version.cuda}): usable={ok}, "
                f"{count} device(s)",
                flush=True,
            )
            if ok:
                usable.append("torch:cuda")
        except Exception as exc:
            print(f"torch: not usable: {type(exc).__name__}: {exc}", flush=True)
    print("USABLE=" + ",".join(usable), flush=True)
    return 0 if usable else 3


# --------------------------------------------------------------------------- smoke

_CUPY_OPS = """
import numpy as np, cupy as cp
x = cp.arange(1024, dtype=cp.float32)
y = x * 2.0 + 1.0
total = float(y.sum().get())
want = float(np.sum(np.arange(1024, dtype=np.float32) * 2 + 1))
assert total == want, f"elementwise + sum gave {total}, not {want}"
h = np.random.default_rng(0).standard_normal((256, 256)).astype(np.float32)
c = cp.asnumpy(cp.asarray(h) @ cp.asarray(h).T)
ref = h.astype(np.float64) @ h.astype(np.float64).T
rel = float(np.max(np.abs(c - ref)) / np.max(np.abs(ref)))
assert c.dtype == np.float32 and rel < 1e-2, f"float32 matmul: dtype {c.dtype}, rel error {rel}"
name = cp.cuda.runtime.getDeviceProperties(0)["name"]
name = name.decode() if isinstance(name, bytes) else name
print(f"cupy {cp.__version__} on {name}: elementwise and sum exact, float32 matmul "
      f"256x256 max rel error {rel:.1e}, copied back")
"""

_TORCH_OPS = """
import numpy as np, torch
assert torch.cuda.is_available(), "torch.cuda.is_available() is False"
h = np.random.default_rng(0).standard_normal((256, 256)).astype(np.float32)
a = torch.from_numpy(h).to("cuda")
c = (a @ a.T).cpu().numpy()
ref = h.astype(np.float64) @ h.astype(np.float64).T
rel = float(np.max(np.abs(c - ref)) / np.max(np.abs(ref)))
assert rel < 1e-2, f"float32 matmul rel error {rel}"
print(f"torch {torch.__version__} (CUDA {torch.version.cuda}) on "
      f"{torch.cuda.get_device_name(0)}: float32 matmul max rel error {rel:.1e}")
"""

_JAX_OPS = """
import numpy as np, jax
gpus = [d for d in jax.devices() if d.platform in ("gpu", "cuda")]
assert gpus, f"jax sees no GPU, only {jax.devices()}"
h = np.random.default_rng(0).standard_normal((256, 256)).astype(np.float32)
a = jax.device_put(h, gpus[0])
c = np.asarray((a @ a.T).block_until_ready())
ref = h.astype(np.float64) @ h.astype(np.float64).T
rel = float(np.max(np.abs(c - ref)) / np.max(np.abs(ref)))
assert rel < 1e-2, f"float32 matmul rel error {rel}"
print(f"jax {jax.__version__} on {gpus[0].device_kind}: float32 matmul max rel error {rel:.1e} "
      "(JAX's default matmul precision may use TF32)")
"""

_MLP_XP_REPORT = """
import json
import mlp_xp, mlp_xp.backend as b
report = b.environment_report()
backends = {name: {"available": i.available, "version": i.version, "devices": list(i.devices),
                   "reason": i.reason} for name, i in mlp_xp.available_backends().items()}
print(json.dumps({"file": mlp_xp.__file__, "version": mlp_xp.__version__,
                  "report": report, "backends": backends}, default=str))
"""


def smoke(runner: Runner, out: Path | None) -> None:
    """Stage 1: the GPU stack from the driver up, each part in its own interpreter."""

    def nvidia_smi(allowed: float) -> str:
        exe = shutil.which("nvidia-smi")
        if exe is None:
            msg = "nvidia-smi is not installed (usability is decided by CuPy and torch alone)"
            raise Skip(msg)
        done = subprocess.run(
            [exe, "-L"], capture_output=True, text=True, timeout=allowed, check=False
        )
        if done.returncode != 0 or "GPU " not in done.stdout:
            raise Failed(f"exit {done.returncode}: {(done.stdout + done.stderr).strip()[:300]}")
        return "; ".join(done.stdout.strip().splitlines())

    def import_cupy(allowed: float) -> str:
        if importlib.util.find_spec("cupy") is None:
            raise Failed(f"cupy is not installed in {sys.executable}")
        version = _python("import cupy; print(cupy.__version__)", allowed, None, "-W", "error")
        return f"cupy {version.strip()} imports under -W error"

    def cupy_ops(allowed: float) -> str:
        if importlib.util.find_spec("cupy") is None:
            raise Failed(f"cupy is not installed in {sys.executable}")
        return _python(_CUPY_OPS, allowed).strip()

    def torch_ops(allowed: float) -> str:
        if importlib.util.find_spec("torch") is None:
            raise Failed(f"torch is not installed in {sys.executable}")
        return _python(_TORCH_OPS, allowed).strip()

    def jax_ops(allowed: float) -> str:
        if importlib.util.find_spec("jax") is None:
            raise Skip(f"jax is not installed in {sys.executable}")
        return _python(_JAX_OPS, allowed, {"XLA_PYTHON_CLIENT_PREALLOCATE": "false"}).strip()

    found: dict[str, Any] = {}

    def mlp_xp_report(allowed: float) -> str:
        found.update(json.loads(_python(_MLP_XP_REPORT, allowed).strip().splitlines()[-1]))
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            (out / "environment.json").write_text(json.dumps(found["report"], indent=2))
            (out / "available_backends.json").write_text(json.dumps(found["backends"], indent=2))
        r = found["report"]
        return (
            f"mlp_xp {found['version']} from {found['file']}; gpus {r['gpus'] or 'none'}; "
            f"reduced precision {r['reduced_precision'] or 'off'}"
        )

    def backends(allowed: float) -> str:
        if not found:
            raise Failed("environment_report() did not run (see the line above)")
        parts = []
        for name, info in found["backends"].items():
            if info["available"]:
                parts.append(f"{name} {info['version']} {','.join(info['devices'])}")
            else:
                parts.append(f"{name} unavailable ({info['reason'][:80]})")
        if not found["backends"]["cupy"]["available"]:
            raise Failed("cupy is not available to mlp_xp: " + "; ".join(parts))
        return "; ".join(parts)

    def cli(allowed: float) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "mlp_xp.cli", "--version"],
            capture_output=True,
            text=True,
            timeout=max(allowed, 0.5),
            stdin=subprocess.DEVNULL,
            check=False,
        )
        if done.stderr:
            sys.stderr.write(done.stderr)
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or [""])[-1]
            msg = f"{sys.executable} -m mlp_xp.cli --version: exit {done.returncode} {last}"
            raise Failed(msg)
        return f"{sys.executable} -m mlp_xp.cli --version: {done.stdout.strip()}"

    runner.run("s.nvidia_smi", nvidia_smi)
    runner.run("s.import_cupy_W_error", import_cupy)
    runner.run("s.cupy_ops", cupy_ops)
    runner.run("s.torch_cuda_matmul", torch_ops)
    runner.run("s.environment_report", mlp_xp_report)
    runner.run("s.available_backends", backends)
    runner.run("s.mlp_xp_cli", cli)
    runner.run("s.jax_cuda_matmul", jax_ops)  # last: the least needed, the slowest to start


# --------------------------------------------------------------------------- repros
