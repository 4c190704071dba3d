"""Summarize several ``benchmarks/step.py --json`` runs: the README's table and target ranges.

    python benchmarks/step.py --check --json r1.json     # ... as many runs as wanted
    python benchmarks/summarize.py r1.json r2.json r3.json

Prints, as Markdown, the median over runs of each row's ms per step with the min-max
over every round of every run, the median over runs of its ratios, then for every
target the value each run measured (``!`` where it missed), the fit loop's ratios
with and without shuffling, and mlp_xp on PyTorch against hand-written PyTorch eager.
"""

from __future__ import annotations

import argparse
import json
import statistics
from typing import Any

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


def _paired(a: list[float], b: list[float]) -> float:
    return statistics.median(x / y for x, y in zip(a, b, strict=True))


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

    out += ["", "mlp_xp on torch / torch eager, range over runs:"]
    for case in cases:
        for dtype in ("float32", "float64"):
            mine, eager = (case, dtype, "mlp_xp", "torch"), (case, dtype, "torch eager", "torch")
            ratios = [
                _paired(r[mine]["samples"], r[eager]["samples"])
                for r in rows
                if mine in r and eager in r
            ]
            if ratios:
                out.append(f"  {case} {dtype}: {min(ratios):.2f}-{max(ratios):.2f}")
    return "\n".join(out)


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
