"""Summarize several ``benchmarks/step.py --json`` runs: the README's table and target ranges.

    python benchmarks/step.py --check --json r1.json     # ... as many runs as wanted
    python benchmarks/summarize.py r1.json r2.json r3.json

Prints, as Markdown, the median over runs of each row's ms per step with the min-max
over every round of every run, the median over runs of its ratios, then for every
target the value each run measured (``!`` where it missed), the fit loop's ratios
with and without shuffling, the public functions (``mlp_xp.step``,
``gradient_descent_step``) against the kernel's baselines, mlp_xp on PyTorch
against hand-written PyTorch eager, and JAX's eager and compiled steps with their
compile times.
"""

from __future__ import annotations

import argparse
import json
import statistics
from typing import Any

from timing import paired_ratio

NAMES = {
    "tiny": "tiny 2-8-1, n=1000",
    "mnist": "mnist 784-256-10, n=256",
    "wide": "wide 1024-2048-1024, n=2048",
    "deep": "deep 256-512-512-512-10, n=512",
}
COLUMNS = [
    ("lecture", "numpy"),
    ("floor", "numpy"),
    ("torch autograd", "torch"),
    ("sklearn", "numpy"),
]


def _num(x: float) -> str:
    if x != x:
        return "-"
    return f"{x:.3f}" if x < 1 else f"{x:.2f}" if x < 10 else f"{x:.1f}" if x < 100 else f"{x:.0f}"


def summarize(runs: list[dict[str, Any]]) -> str:
    """The Markdown summary of ``runs`` (each the JSON that step.py --json writes)."""
    rows = [
        {(r["case"], r["dtype"], r["impl"], r["backend"]): r for r in run["rows"]} for run in runs
    ]

    def over_runs(key: tuple[str, str, str, str], field: str) -> float:
        values = [r[key][field] for r in rows if key in r]
        return statistics.median(values) if values else float("nan")

    out = [
        "| case | dtype | mlp_xp (numpy) | lecture | floor | torch autograd | sklearn "
        "| mlp_xp x floor | mlp_xp x lecture |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    cases = dict.fromkeys(k[0] for r in rows for k in r)
    for case in cases:
        for dtype in ("float32", "float64"):
            key = (case, dtype, "mlp_xp", "numpy")
            samples = [s * 1e3 for r in rows if key in r for s in r[key]["samples"]]
            if not samples:
                continue
            cells = [f"{_num(over_runs(key, 'ms'))} ({_num(min(samples))}-{_num(max(samples))})"]
            cells += [_num(over_runs((case, dtype, *c), "ms")) for c in COLUMNS]
            cells += [_num(over_runs(key, "x_floor")), _num(over_runs(key, "x_lecture"))]
            label = NAMES.get(case, case) if dtype == "float32" else case
            out.append(f"| {label} | {dtype.replace('float', 'f')} | " + " | ".join(cells) + " |")

    out += ["", "targets, one value per run (! = missed):"]
    checks: dict[tuple[str, str, str], list[str]] = {}
    for run in runs:
        for c in run["checks"]:
            if isinstance(c["value"], (int, float)):
                mark = "" if c["ok"] else "!"
                checks.setdefault((c["case"], c["dtype"], c["what"]), []).append(
                    f"{c['value']:.3f}{mark}"
                )
    out += [f"  {case} {dtype} {what}: {' '.join(v)}" for (case, dtype, what), v in checks.items()]

    out += ["", "fit epoch vs its steps, per run (shuffled / unshuffled):"]
    fits: dict[tuple[str, str], list[str]] = {}
    for run in runs:
        for e in run["extras"]:
            if e["what"] == "fit epoch vs its steps":
                plain = e.get("throughput_ratio_without_shuffle")
                text = f"{e['throughput_ratio']:.3f}" + ("" if plain is None else f"/{plain:.3f}")
                fits.setdefault((e["case"], e["dtype"]), []).append(text)
    out += [f"  {case} {dtype}: {' '.join(v)}" for (case, dtype), v in fits.items()]

    out += ["", *_public_table(rows)]
    for baseline in ("torch eager+loss", "torch eager"):
        # In the run's own process: under PASSIVE unless it ran with --omp-default;
        # the target's check (above) is timed apart, with OpenMP's default (torch_openmp).
        out += ["", f"mlp_xp on torch / {baseline}, in the run's process, range over runs:"]
        for case in cases:
            for dtype in ("float32", "float64"):
                mine, eager = (case, dtype, "mlp_xp", "torch"), (case, dtype, baseline, "torch")
                ratios = [
                    paired_ratio(r[mine]["samples"], r[eager]["samples"])
                    for r in rows
                    if mine in r and eager in r
                ]
                if ratios:
                    out.append(
                        f"  {case} {dtype}: median {statistics.median(ratios):.2f}, "
                        f"{min(ratios):.2f}-{max(ratios):.2f}"
                    )
    out += ["", *_jax_table(rows, runs)]
    return "\n".join(out)


def _range(values: list[float]) -> str:
    """The median over runs, and the min-max over runs: "0.84 (0.80-0.88)"."""
    if not values:
        return "-"
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def _public_table(rows: list[dict[tuple[str, str, str, str], Any]]) -> list[str]:
    """The public functions next to the kernel: ms, x floor and x lecture over runs."""
    out = [
        "| case | dtype | implementation | ms per step | x floor | x lecture |",
        "|---|---|---|---|---|---|",
    ]
    for case in dict.fromkeys(k[0] for r in rows for k in r):
        for dtype in ("float32", "float64"):
            for impl in ("mlp_xp", "mlp_xp.step", "gradient_descent_step"):
                key = (case, dtype, impl, "numpy")
                found = [r[key] for r in rows if key in r]
                if not found:
                    continue
                cells = [_num(statistics.median(f["ms"] for f in found))]
                for field in ("x_floor", "x_lecture"):
                    cells.append(_range([f[field] for f in found if f[field] == f[field]]))
                name = "kernel" if impl == "mlp_xp" else impl
                out.append(
                    f"| {case} | {dtype.replace('float', 'f')} | {name} | "
                    + " | ".join(cells)
                    + " |"
                )
    return out


def _jax_table(
    rows: list[dict[tuple[str, str, str, str], Any]], runs: list[dict[str, Any]]
) -> list[str]:
    """JAX eager and compiled: steady ms, x XLA floor, x NumPy floor, compile ms, over runs."""
    extras = [
        {(e["case"], e["dtype"]): e for e in run["extras"] if e.get("what") == "jax step"}
        for run in runs
    ]
    out = [
        "| case | dtype | jax eager ms | jax jit ms | jit x XLA floor | jit x numpy floor "
        "| jit x mlp_xp numpy | jit compile ms |",
        "|---|---|---|---|---|---|---|---|",
    ]
    keys = dict.fromkeys(k for e in extras for k in e)
    for case, dtype in keys:
        found = [e[(case, dtype)] for e in extras if (case, dtype) in e]

        def ms(impl: str, case: str = case, dtype: str = dtype) -> str:
            values = [
                r[(case, dtype, impl, "jax")]["ms"]
                for r in rows
                if (case, dtype, impl, "jax") in r
            ]
            return _num(statistics.median(values)) if values else "-"

        cells = [ms("mlp_xp"), ms("mlp_xp jit")]
        for field in (
            "mlp_xp jit x jax floor",
            "mlp_xp jit x numpy floor",
            "mlp_xp jit x mlp_xp numpy",
        ):
            cells.append(_range([f[field] for f in found if field in f]))
        compile_ms = [f["mlp_xp jit compile ms"] for f in found if "mlp_xp jit compile ms" in f]
        cells.append(
            f"{statistics.median(compile_ms):.0f} ({min(compile_ms):.0f}-{max(compile_ms):.0f})"
            if compile_ms
            else "-"
        )
        out.append(f"| {case} | {dtype.replace('float', 'f')} | " + " | ".join(cells) + " |")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="JSON files written by step.py --json")
    args = parser.parse_args(argv)
    runs = []
    for path in args.runs:
        with open(path) as handle:
            runs.append(json.load(handle))
    print(summarize(runs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
