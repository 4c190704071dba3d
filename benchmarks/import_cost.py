"""What importing mlp_xp and the libraries it loads costs, each in a fresh process.

``mlp-xp train`` on bmi trains in about 0.4 s on NumPy; the imports around it
weigh as much or more, and decide whether ``--backend jax`` can be as quick end
to end (``benchmarks/jax_fit.py``).  Each module is imported in a new
interpreter that has already imported NumPy (which every one of them needs), and
the best of ``--runs`` is printed, with the installed version:

    python benchmarks/import_cost.py [--runs 3] [--modules mlp_xp,jax,onnx,ml_dtypes]

Then the whole of a fresh ``mlp-xp --help`` (run as ``python -m mlp_xp.cli``, so
that it is the ``mlp_xp`` on ``sys.path``), beside a fresh interpreter that does
nothing, which is what starting Python costs.

``ml_dtypes`` is listed on its own because jax and onnx import it: version 0.7.0
took 0.60-0.85 s to import here with NumPy 2.4 (its loops registered through
NumPy's ``PyUFunc_AddLoop``, which scans the loops already registered), 0.6.0
4-6 ms, which is why the extras that bring it ask for ``ml_dtypes<0.7``.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import subprocess
import sys
import time

CHILD = (
    "import time, numpy; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
)


def import_seconds(module: str, runs: int) -> float | None:
    """The best of ``runs`` fresh imports of ``module``, in seconds; None if it fails."""
    best = None
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, "-c", CHILD.format(module=module)],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode != 0:
            return None
        seconds = float(done.stdout.split()[-1])
        best = seconds if best is None else min(best, seconds)
    return best


def command_seconds(argv: list[str], runs: int) -> float | None:
    """The best of ``runs`` wall-clock times of the command ``argv``; None if it fails."""
    best = None
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, timeout=300, check=False)
        seconds = time.perf_counter() - start
        if done.returncode != 0:
            return None
        best = seconds if best is None else min(best, seconds)
    return best


COMMANDS: dict[str, list[str]] = {
    "mlp-xp --help": [sys.executable, "-m", "mlp_xp.cli", "--help"],
    "python -c pass": [sys.executable, "-c", "pass"],
}
"""The commands timed whole, by the name they are printed under."""


def version(module: str) -> str:
    """The version of the distribution that installs ``module``, or "-"."""
    names = importlib.metadata.packages_distributions().get(module, [])
    try:
        return importlib.metadata.version(names[0]) if names else "-"
    except importlib.metadata.PackageNotFoundError:
        return "-"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="imports per module (default: 3)")
    parser.add_argument(
        "--modules",
        default="ml_dtypes,sklearn,mlp_xp,jax,onnx",
        help="comma-separated modules (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    for module in args.modules.split(","):
        seconds = import_seconds(module, args.runs)
        shown = "not importable" if seconds is None else f"{seconds * 1e3:8.1f} ms"
        print(f"import {module:10} {version(module):10} {shown}")
    for name, argv in COMMANDS.items():
        seconds = command_seconds(argv, args.runs)
        shown = "failed" if seconds is None else f"{seconds * 1e3:8.1f} ms"
        print(f"{name:28} {shown}  (the whole process)")


if __name__ == "__main__":
    main()
