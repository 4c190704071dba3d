"""The torch-against-torch target, timed with OpenMP as a torch user has it, in its own process.

The benchmark's process sets ``OMP_WAIT_POLICY=PASSIVE`` so that PyTorch's
spinning OpenMP threads do not take a core from NumPy's BLAS in the interleaved
rounds.  PASSIVE puts the threads to sleep after every parallel region, and MKL
pays a wake-up for each.  The same 1000x2 @ 2x8 SGEMM (one MKL call either way,
by ``MKL_VERBOSE``) took 65-90 us with ``beta=1`` (``torch.addmm``, what the
hand-written step calls) and 108-153 us with ``beta=0`` (``@`` or ``addmm(...,
beta=0)``; ``@`` is what the Array API standard offers), as if zeroing the output
took a parallel region, and a wake-up, of its own; that was not traced further.
With OpenMP's default policy both took 13-16 us (three runs of this script).
So under PASSIVE, the ratio of mlp_xp on torch to hand-written torch measures
MKL's wake-ups, not mlp_xp.

This module times that one ratio (``mlp_xp on torch / torch eager+loss``, tiny)
in a child ``step.py`` that keeps OpenMP's default, both rows in that one
process, and puts its check in place of the PASSIVE one, which stays in the
report as an extra, for information.

Run as a script, it times that SGEMM both ways under each policy, each policy in a
child process of its own (the policy is read when OpenMP starts); add
``MKL_VERBOSE=1`` to see one MKL call per product either way::

    python benchmarks/torch_openmp.py
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from report import Report

WHAT = "mlp_xp on torch / torch eager+loss"
CASE = "tiny"
STEP = Path(__file__).resolve().parent / "step.py"


def wanted(cases: list[str], compare: str, gpu: bool, passive_is_ours: bool) -> bool:
    """Whether a run needs the child: tiny's torch rows, on the CPU, under our PASSIVE."""
    return passive_is_ours and not gpu and CASE in cases and "torch" in compare


def run_child(dtypes: list[str]) -> dict[str, Any]:
    """The child's JSON report: tiny, torch rows, no fit, OpenMP's default policy."""
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    with tempfile.TemporaryDirectory(prefix="mlp_xp-bench-") as tmp:
        out = Path(tmp) / "torch.json"
        command = [
            sys.executable, str(STEP), "--cases", CASE, "--dtypes", ",".join(dtypes),
            "--compare", "torch", "--no-fit", "--omp-default", "--json", str(out),
        ]  # fmt: skip
        subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
        document: dict[str, Any] = json.loads(out.read_text())
    return document


def replace_check(report: Report, child: dict[str, Any]) -> None:
    """Put the child's torch-against-torch checks in place of this process's PASSIVE ones."""
    mine = [c for c in report.checks if c["what"] == WHAT and c["case"] == CASE]
    for c in mine:
        report.checks.remove(c)
        report.extras.append(
            {"case": c["case"], "dtype": c["dtype"], "what": f"{WHAT} under PASSIVE (info)",
             "value": c["value"]}
        )  # fmt: skip
    for c in child["checks"]:
        if c["what"] == WHAT and c["case"] == CASE:
            report.checks.append({**c, "what": f"{WHAT} (OpenMP default, own process)"})


def time_products(rounds: int = 400) -> dict[str, float]:
    """Median us of tiny's first product, (1000, 2) @ (2, 8) float32, as ``@`` and as addmm."""
    import torch

    a, w, b = torch.randn(1000, 2), torch.randn(8, 2), torch.randn(8)
    products = {
        "a @ W.T (beta=0)": lambda: a @ w.T,
        "addmm(b, a, W.T) (beta=1)": lambda: torch.addmm(b, a, w.T),
    }
    times: dict[str, list[float]] = {name: [] for name in products}
    for i in range(rounds + 20):  # the two alternate; the first 20 rounds warm up
        for name, product in products.items():
            start = time.perf_counter()
            product()
            if i >= 20:
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) * 1e6 for name, t in times.items()}


def main() -> None:
    if sys.argv[1:] == ["--child"]:
        print(json.dumps(time_products()))
        return
    for policy in ("PASSIVE", None):
        env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
        if policy is not None:
            env["OMP_WAIT_POLICY"] = policy
        child = [sys.executable, str(Path(__file__).resolve()), "--child"]
        done = subprocess.run(child, env=env, check=True, capture_output=True, text=True)
        found = json.loads(done.stdout.splitlines()[-1])
        cells = ", ".join(f"{name} {us:.1f} us" for name, us in found.items())
        print(f"OMP_WAIT_POLICY={policy or '(default)'}: {cells}")


if __name__ == "__main__":
    main()
