"""Benchmark one gradient step: mlp_xp against the lecture, PyTorch and the matmul floor.

    python benchmarks/step.py                  # the CPU table
    python benchmarks/step.py --check          # exit 1 if a target is missed
    python benchmarks/step.py --gpu --json out.json --plot ratios.png
    mlp-xp bench ...                           # the same, from a source checkout

Everything is timed in one process, interleaved (A B C ... A B C ...) over several
rounds after a warm-up, and reported as the median per step with the min-max
spread over rounds.  A ratio (x floor, x lecture, and the targets) is the median
over rounds of each round's own ratio: the two rows it compares were timed
within a fraction of a second of each other, so a slow spell of a shared machine
slows both and cancels out instead of moving one median.  Rows:

* ``mlp_xp``: the kernel ``fit`` runs on every batch (``mlp_xp.training.train_step``
  with SGD: forward, loss value, backward, update), on every available backend;
* ``mlp_xp.step`` and ``gradient_descent_step``: the public functions a user's own
  loop calls, which check their input first (NumPy; the latter on 2-layer cases);
* ``mlp_xp jit`` (JAX): the kernel compiled by ``jax.jit``, its compile timed apart
  (``jax_step``); ``mlp_xp`` on ``jax`` is the same kernel run eagerly;
* ``lecture``: the lecture's NumPy ``gradient_descent_step`` (2-layer cases);
* ``torch eager``: the same maths hand-written in PyTorch (``+loss``: with the loss value);
* ``torch autograd``: ``nn.Sequential`` + ``torch.optim.SGD``;
* ``sklearn``: ``MLPRegressor.partial_fit`` on one batch (alpha=0, momentum=0);
* ``floor``: the step's matrix products alone, on the same arrays (5 for 2 layers).

On a GPU the clock is read only after the device has synchronised.  Targets
(``--check``) are those of the performance issue; see ``report.TARGETS``.

This file parses the options and writes the JSON; its siblings hold the rest:
``cases`` the problems and the implementations timed (the lecture's step is read
from its one copy, tests/reference.py), ``jax_step`` JAX's rows, ``timing`` the
interleaved rounds and paired ratios, ``measure`` one case's rows, ``fit`` and
``memory`` the loop's overhead and a step's peak bytes, ``environment`` the
machine, and ``report`` the targets, the table and the plot.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# PyTorch's OpenMP threads otherwise spin for a while after every torch call and
# take a core from NumPy's BLAS threads in the interleaved rounds (measured here:
# mlp_xp's mnist step 2x slower right after a torch row).  Set before torch loads.
# PASSIVE makes every parallel torch call wake sleeping threads, though (tiny's
# torch rows 3-4x slower, each matrix product ~60 us): ``--omp-default`` leaves
# OpenMP as a user has it, for the torch rows' own ratios; under PASSIVE, the
# torch-against-torch target is timed in a child that keeps it (torch_openmp).
PASSIVE_IS_OURS = "--omp-default" not in sys.argv and "OMP_WAIT_POLICY" not in os.environ
if PASSIVE_IS_OURS:
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
# JAX computes in float64 only in its x64 mode, which is read when jax loads; this
# process is the benchmark's own, so it asks for x64 (unless told otherwise) to
# time JAX in both dtypes.  float32 arrays stay float32 in x64 mode.
os.environ.setdefault("JAX_ENABLE_X64", "1")

# The sibling modules are imported by their plain names.  Run as a script, this
# folder is sys.path[0] already; run through runpy.run_path (``mlp-xp bench``), it
# is not, so it is put there.
_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

import argparse
import json
from dataclasses import asdict, replace
from typing import Any

from cases import CASES
from environment import environment
from fit import measure_fit
from measure import measure_case
from memory import measure_memory
from report import Report, evaluate_targets, plot, print_report
from timing import MAX_ROUNDS
from torch_openmp import CASE as CHILD_CASE
from torch_openmp import replace_check, run_child, wanted

from mlp_xp.backend import available_backends


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line, with the case names checked."""
    # No abbreviations: --omp-default is read from sys.argv before torch loads.
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument(
        "--cases",
        default="tiny,mnist,wide,deep",
        help=f"comma-separated cases, of {', '.join(CASES)} (default: %(default)s)",
    )
    parser.add_argument(
        "--dtypes", default="float32,float64", help="comma-separated dtypes (default: %(default)s)"
    )
    parser.add_argument(
        "--compare",
        default="torch,sklearn,jax",
        help=(
            "comparisons to include: torch, sklearn, jax, array_api_strict (default: %(default)s)"
        ),
    )
    parser.add_argument(
        "--rounds", type=int, default=7, help="rounds per case, at least (default: %(default)s)"
    )
    parser.add_argument(
        "--block",
        type=float,
        default=0.05,
        help="seconds each timed block lasts at least (default: %(default)s)",
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=8.0,
        help=(
            f"seconds of rounds per case and dtype; more rounds (to {MAX_ROUNDS}) "
            "if they fit (default: %(default)s)"
        ),
    )
    parser.add_argument(
        "--gpu", action="store_true", help="time CuPy and torch CUDA instead (default: the CPU)"
    )
    parser.add_argument(
        "--no-fit", action="store_true", help="skip the fit and memory rows (default: run them)"
    )
    parser.add_argument(
        "--json", default=None, help="write every row and check to this file (default: none)"
    )
    parser.add_argument(
        "--plot", default=None, help="draw the ratios to this PNG file (default: none)"
    )
    parser.add_argument(
        "--omp-default",
        action="store_true",
        help=(
            "do not set OMP_WAIT_POLICY (one already exported is kept), as a user has it: "
            "torch rows at their own speed, NumPy rows slowed by torch's spinning threads; "
            "read from the command line (default: PASSIVE, and the torch-against-torch "
            "target timed in a child process that keeps OpenMP's default)"
        ),
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="exit 1 when a target is missed (default: always exit 0)",
    )
    args = parser.parse_args(argv)
    for c in args.cases.split(","):
        if c and c not in CASES:
            parser.error(f"unknown case {c!r}; valid: {', '.join(CASES)}")
    return args


def write_json(report: Report, path: str, partial: dict[str, int] | None = None) -> None:
    """The whole report, rows with their per-round samples, as JSON (summarize.py reads it).

    Written to a temporary file beside ``path`` and renamed over it, so that a
    reader, or a run killed mid-write, never sees half a file.  ``partial`` (the
    cases done so far, of how many) is added to the writes made during the run.
    """
    document: dict[str, Any] = {
        "environment": report.environment,
        "rows": [asdict(r) for r in report.rows],
        "extras": report.extras,
        "checks": report.checks,
    }
    if partial is not None:
        document["partial"] = partial
    target = Path(path)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w") as handle:
            json.dump(document, handle, indent=2, default=str)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def write_partial_json(report: Report, path: str, gpu: bool, done: int, of: int) -> None:
    """The report so far, with the targets its rows can answer already, in ``path``.

    Written before the first case and after every case, so that a run stopped by a
    timeout leaves what it measured; the final write replaces it with the whole report.
    """
    sofar = replace(report, rows=list(report.rows), checks=list(report.checks))
    evaluate_targets(sofar, gpu)
    write_json(sofar, path, {"cases_done": done, "cases": of})


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 1 when ``--check`` finds a missed target, 2 when --gpu has no GPU."""
    args = parse_args(argv)
    cases = [c for c in args.cases.split(",") if c]
    dtypes = [d for d in args.dtypes.split(",") if d]
    if args.gpu and not (
        available_backends()["cupy"].available
        or any(d.startswith("cuda") for d in available_backends()["torch"].devices)
    ):
        print(
            "benchmarks/step.py: --gpu needs CuPy or PyTorch with a usable CUDA GPU; "
            "none is available here",
            file=sys.stderr,
        )
        return 2
    report = Report(environment())
    todo = [(case, dtype) for case in cases for dtype in dtypes]
    if args.json:
        write_partial_json(report, args.json, args.gpu, 0, len(todo))
    for done, (case, dtype) in enumerate(todo, 1):
        print(f"... {case} {dtype}", file=sys.stderr, flush=True)
        measure_case(case, dtype, args, report)
        if not args.gpu and not args.no_fit:
            measure_fit(case, dtype, report)
            measure_memory(case, dtype, report)
        if args.json:
            write_partial_json(report, args.json, args.gpu, done, len(todo))
    child = None
    if wanted(cases, args.compare, args.gpu, PASSIVE_IS_OURS):
        print(f"... {CHILD_CASE} torch, OpenMP default, own process", file=sys.stderr, flush=True)
        child = run_child(dtypes)
    evaluate_targets(report, args.gpu)
    if child is not None:
        replace_check(report, child)
    print_report(report)
    if args.json:
        write_json(report, args.json)
    if args.plot:
        plot(report, args.plot)
    if args.check and not all(c["ok"] for c in report.checks):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
